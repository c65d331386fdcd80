/**
 * The floors of ARCHITECTURE.md, checked against the real import graph
 * (`deno info --json`): every import between folders runs downward, so no
 * layer reaches back up and no circle can form.
 *
 * @module
 */
import assert from "node:assert/strict";

/** Top to bottom; a folder may import only from the floors below its own. */
const FLOORS: readonly (readonly string[])[] = [
  // Run as a program, the library starts the command line.
  ["mod.ts"],
  ["cli.ts"],
  ["lib/cli"],
  ["lib/mcp", "lib/attach"],
  ["lib/report", "lib/agent", "lib/fleet"],
  ["lib/session"],
  ["lib/transport"],
  ["lib/ssh", "lib/remote", "lib/fs", "lib/protocol", "lib/render"],
  ["lib/process.ts", "lib/well_formed.ts"],
  [
    "lib/abort.ts",
    "lib/bytes.ts",
    "lib/errors.ts",
    "lib/interrupt.ts",
    "lib/libc.ts",
    "lib/phases.ts",
    "lib/timer.ts",
    "lib/types.ts",
  ],
  // The protocol's contract: data every floor reads, importing nothing.
  ["lib/contract"],
];

/** Modules the graph reaches only by a computed path or a role of their own. */
const ENTRIES = [
  "cli.ts",
  "mod.ts",
  "lib/mcp/server.ts",
  "lib/agent/server.ts",
];

const root = new URL("../", import.meta.url).href;

/** The room a module belongs to: its folder under `lib/`, or the file itself. */
function roomOf(path: string): string {
  const parts = path.split("/");
  return parts[0] === "lib" && parts.length > 2 ? `lib/${parts[1]}` : path;
}

function floorOf(room: string): number {
  return FLOORS.findIndex((floor) => floor.includes(room));
}

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string } }[];
}

async function importEdges(): Promise<[string, string][]> {
  const edges: [string, string][] = [];
  for (const entry of ENTRIES) {
    const { stdout, success } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: new URL(".", root),
      stdout: "piped",
      stderr: "null",
    }).output();
    assert.ok(success, `deno info ${entry} failed`);
    const info = JSON.parse(new TextDecoder().decode(stdout));
    for (const module of info.modules as InfoModule[]) {
      if (!module.specifier.startsWith(root)) continue;
      for (const dep of module.dependencies ?? []) {
        const target = dep.code?.specifier;
        if (!target?.startsWith(root)) continue;
        edges.push([
          module.specifier.slice(root.length),
          target.slice(root.length),
        ]);
      }
    }
  }
  return edges;
}

Deno.test("the import graph runs one way: every folder imports only from floors below it", async () => {
  const edges = await importEdges();
  assert.ok(edges.length > 100, `only ${edges.length} imports read`);
  const rooms = new Set(edges.flat().map(roomOf));
  const unplaced = [...rooms].filter((room) => floorOf(room) === -1);
  assert.deepEqual(unplaced, [], "every room has a floor in ARCHITECTURE.md");
  const upward = edges.filter(([from, to]) => {
    const [a, b] = [roomOf(from), roomOf(to)];
    return a !== b && floorOf(a) >= floorOf(b);
  }).map(([from, to]) => `${from} -> ${to}`);
  assert.deepEqual(upward, []);
});
