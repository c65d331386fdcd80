import assert from "node:assert/strict";
import { text_en } from "@stricli/core";
import { buildProgram } from "./program.ts";

const VERBS = new URL("./verbs/", import.meta.url);
const CLI = new URL("../../cli.ts", import.meta.url);

/** The `verbs/*_command.ts` modules: each verb's grammar. */
function grammarFiles(): string[] {
  return [...Deno.readDirSync(VERBS)]
    .map((entry) => entry.name)
    .filter((name) => name.endsWith("_command.ts"))
    .sort();
}

interface GraphModule {
  specifier: string;
  dependencies?: {
    code?: { specifier: string };
    isDynamic?: boolean;
  }[];
}

/** The module graph of `root` as `deno info` sees it, by specifier. */
async function moduleGraph(root: URL): Promise<Map<string, GraphModule>> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root.href],
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const graph = JSON.parse(new TextDecoder().decode(stdout));
  return new Map(
    (graph.modules as GraphModule[]).map((m) => [m.specifier, m]),
  );
}

/** What loading `root` evaluates: its code imports, not dynamic ones. */
function staticClosure(
  graph: Map<string, GraphModule>,
  root: string,
): Set<string> {
  const seen = new Set<string>();
  const todo = [root];
  while (todo.length) {
    const specifier = todo.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dependency of graph.get(specifier)?.dependencies ?? []) {
      if (dependency.code && !dependency.isDynamic) {
        todo.push(dependency.code.specifier);
      }
    }
  }
  return seen;
}

Deno.test("buildProgram() routes each verb to a command a verbs/*_command.ts module declares", async () => {
  const declared = new Map<unknown, string>();
  for (const file of grammarFiles()) {
    const module = await import(new URL(file, VERBS).href);
    for (const command of Object.values(module)) declared.set(command, file);
  }
  const root = buildProgram(text_en).root;
  assert.ok("getAllEntries" in root, "the program is a route map");
  const entries = root.getAllEntries();
  assert.ok(entries.some((e) => e.name.original === "agent" && e.hidden));
  for (const entry of entries) {
    const name = entry.name.original;
    assert.ok(
      declared.has(entry.target),
      `${name} is declared in a verbs/*_command.ts module`,
    );
    assert.ok("loader" in entry.target, `${name} is a command`);
    const loaded = await entry.target.loader();
    assert.equal(typeof loaded, "function", `${name} loads its handler`);
  }
});

Deno.test("each verbs/*_command.ts module imports its implementation only when the verb runs", async () => {
  const graph = await moduleGraph(CLI);
  for (const file of grammarFiles()) {
    const grammar = new URL(file, VERBS).href;
    const impl = grammar.replace(/_command\.ts$/, ".ts");
    const dependencies = graph.get(grammar)?.dependencies ?? [];
    assert.ok(
      dependencies.some((d) => d.code?.specifier === impl && d.isDynamic),
      `${file} imports ${impl.split("/").pop()} dynamically`,
    );
  }
});

Deno.test("the command line loads no verb's implementation nor the library before a verb is parsed", async () => {
  const graph = await moduleGraph(CLI);
  const loaded = [...staticClosure(graph, CLI.href)]
    .filter((s) => s.startsWith("file:"))
    .map((s) => s.slice(new URL("../../", import.meta.url).href.length));
  // The helper's hash alone (`_helper_hash.ts`) names the agent a warm
  // call may use; the helper and its bootstrap stay unloaded.
  const heavy = loaded.filter((path) =>
    /^lib\/(session\/(?!name\.ts)|agent\/|mcp\/|attach\/|render\/|remote\/(?!_helper_hash\.ts))/
      .test(path) ||
    (/^lib\/cli\/verbs\//.test(path) && !path.endsWith("_command.ts")) ||
    path === "lib/cli/call.ts"
  );
  assert.deepEqual(heavy, [], `loaded on every call: ${loaded.join(", ")}`);
});
