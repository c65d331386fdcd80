/**
 * What a call loads before it can answer: the modules `cli.ts` and the
 * `run` verb's handler reach by static imports alone (`deno info --json`),
 * which Deno reads, parses and compiles on every call. Start-up is measured
 * by `deno task bench`; this keeps what made it shorter from coming back.
 *
 * @module
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

interface InfoModule {
  specifier: string;
  size?: number;
  dependencies?: {
    code?: { specifier?: string };
    isDynamic?: boolean;
  }[];
}

/** The full parser (Stricli and every verb's grammar), which fast calls skip. */
const PARSER = [
  "lib/cli/grammar.ts",
  "lib/cli/program.ts",
  "lib/cli/parse.ts",
];

/**
 * What only a cold call loads (the helper, a bridge, a master) and what
 * other methods of a session load when they run (files, wait, follow,
 * record, history).
 */
const COLD_OR_OTHER_METHODS = [
  "lib/remote/_helper_source.ts",
  "lib/remote/bootstrap.ts",
  "lib/transport/bridge.ts",
  "lib/ssh/master.ts",
  "lib/session/files.ts",
  "lib/session/file_trees.ts",
  "lib/session/wait.ts",
  "lib/session/follow.ts",
  "lib/session/record.ts",
  "lib/session/history.ts",
];

/** What the thin client loads: itself and leaves that import nothing more. */
const THIN = [
  "lib/cli/thin_client.ts",
  "lib/ssh/control_dir_rule.ts",
  "lib/transport/agent_files.ts",
  "lib/remote/_helper_hash.ts",
  "lib/transport/cli_entry.ts",
  "lib/transport/thin_wire.ts",
  "lib/timer.ts",
  "lib/phases.ts",
];

/** The modules `entry` reaches through static imports, with their sizes. */
async function staticClosure(entry: string): Promise<Map<string, number>> {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(success, `deno info ${entry} failed`);
  const info = JSON.parse(new TextDecoder().decode(stdout));
  const modules = new Map<string, InfoModule>(
    (info.modules as InfoModule[]).map((m) => [m.specifier, m]),
  );
  const reached = new Map<string, number>();
  const visit = (specifier: string) => {
    if (reached.has(specifier)) return;
    const module = modules.get(specifier);
    reached.set(specifier, module?.size ?? 0);
    for (const dep of module?.dependencies ?? []) {
      if (!dep.isDynamic && dep.code?.specifier) visit(dep.code.specifier);
    }
  };
  visit(info.roots[0]);
  return new Map(
    [...reached].map(([s, size]) => [s.replace(root.href, ""), size]),
  );
}

/**
 * What `entry` reaches by static imports that a call of it should not
 * load: any npm package, any verb's grammar (`*_command.ts`), and `unused`.
 */
async function loadedNeedlessly(
  entry: string,
  unused: readonly string[],
): Promise<string[]> {
  const closure = [...(await staticClosure(entry)).keys()];
  return closure.filter((s) =>
    s.startsWith("npm:") || s.endsWith("_command.ts") || unused.includes(s)
  );
}

/** Asserts that no module of `entries` loads needlessly what `what` needs not. */
async function assertLoadsNone(
  entries: readonly string[],
  unused: readonly string[],
  what: string,
): Promise<void> {
  for (const entry of entries) {
    assert.deepEqual(
      await loadedNeedlessly(entry, unused),
      [],
      `${entry} loads what ${what} needs not`,
    );
  }
}

Deno.test("cli.ts loads no npm package and no thin client before --version", async () => {
  // `--version` from the sources costs Deno's start and these alone: the
  // thin client is imported by a call that may be thin (the bundle loads
  // it with its entry, `tests/bundle_test.ts`).
  const closure = await staticClosure("cli.ts");
  assert.deepEqual(
    [...closure.keys()].sort(),
    [
      "cli.ts",
      "lib/cli/context.ts",
      "lib/phases.ts",
      "lib/transport/cli_entry.ts",
    ].sort(),
  );
});

Deno.test("a warm run loads no helper, bridge, msgpack package, copy, wait, follow or record code", async () => {
  const closure = await staticClosure("lib/cli/verbs/run.ts");
  // Only a cold call opens a bridge (and may push the helper); the rest is
  // for other verbs and methods, which import it when they run.
  for (const unused of COLD_OR_OTHER_METHODS) {
    assert.ok(!closure.has(unused), `${unused} is loaded by every run`);
  }
  const npm = [...closure.keys()].filter((s) => s.startsWith("npm:"));
  assert.deepEqual(npm, [], "run's handler imports no npm package");
  // The handler is reached through the lease, which must stay.
  assert.ok(closure.has("lib/transport/lease.ts"));
});

Deno.test("a warm run's body loads no parser, grammar, fan-out, forwards or error hints", async () => {
  // `run NAME DEST -- …` is read by lib/cli/fast_path.ts; Stricli and the
  // grammars come with lib/cli/parse.ts, for every other call. The fan-out
  // loads with --hosts, forwards with --forward, error hints on failure.
  const later = [
    ...PARSER,
    "lib/cli/hosts_fan.ts",
    "lib/fleet/fan_out.ts",
    "lib/cli/forwarding.ts",
    "lib/cli/error_out.ts",
  ];
  await assertLoadsNone(
    ["lib/cli/main.ts", "lib/cli/verbs/run.ts"],
    later,
    "a warm run",
  );
});

Deno.test("cli.ts loads run's handler beside the body, not only from it", async () => {
  // Started together, the two loads overlap: a warm run no longer waits
  // for the body before its handler's modules are read (issue 21).
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "cli.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(success, "deno info cli.ts failed");
  const info = JSON.parse(new TextDecoder().decode(stdout));
  const cli = (info.modules as InfoModule[]).find((m) =>
    m.specifier === new URL("cli.ts", root).href
  );
  const dynamic = (cli?.dependencies ?? [])
    .filter((dep) => dep.isDynamic && dep.code?.specifier)
    .map((dep) => dep.code!.specifier!.replace(root.href, ""));
  assert.deepEqual(dynamic.sort(), [
    "lib/cli/main.ts",
    "lib/cli/thin_client.ts",
    "lib/cli/verbs/agent.ts",
    "lib/cli/verbs/run.ts",
  ]);
});

Deno.test("the agent's role loads no body, parser, grammar, npm package or call runner", async () => {
  // The agent lives on with all it compiled: cli.ts starts it without the
  // command line's body, and only a thin call loads the verbs (issue 21).
  const unused = [
    ...PARSER,
    "lib/cli/main.ts",
    "lib/cli/run_call.ts",
    "lib/cli/agent_call.ts",
    "lib/cli/fast_path.ts",
    "lib/session/client.ts",
  ];
  await assertLoadsNone(
    ["lib/cli/verbs/agent.ts", "lib/agent/server.ts"],
    unused,
    "the agent",
  );
});

Deno.test("the thin client loads no body, parser, handler, library, msgpack, error hierarchy or contract", async () => {
  // A call the agent runs costs Deno's start, these modules and a round
  // trip: what it loads is what the thin path saves on (issue 21). The
  // error hierarchy and the contract (`spec.json`) cost a warm call 2 ms.
  const closure = [...(await staticClosure("lib/cli/thin_client.ts")).keys()];
  assert.deepEqual(closure.sort(), [...THIN].sort());
});

Deno.test("the handlers of the other fast-path verbs load no parser, grammar, npm package, helper or bridge", async () => {
  // `logs`, `screen`, `wait`, `status`, `list`, `send` and `keys` are read
  // by lib/cli/fast_path.ts as `run` is, and should start as cheaply: the
  // emulator (npm) is imported by a render that needs it, `wait` and
  // `follow` by the methods that do them.
  const unused = [
    ...PARSER,
    "lib/cli/hosts_fan.ts",
    "lib/fleet/fan_out.ts",
    "lib/cli/error_out.ts",
    ...COLD_OR_OTHER_METHODS,
  ];
  await assertLoadsNone(
    [
      "lib/cli/verbs/read.ts",
      "lib/cli/verbs/manage.ts",
      "lib/cli/verbs/input.ts",
    ],
    unused,
    "each of its verbs",
  );
});

Deno.test("cp's handler loads no parser, grammar, npm package, helper or bridge", async () => {
  // `cp SRC DEST` is read by lib/cli/fast_path.ts too: around a 100 MB copy
  // that scp makes in under a second, the parser was most of sessh's own
  // time (issue 21).
  const unused = [
    ...PARSER,
    "lib/cli/error_out.ts",
    "lib/remote/_helper_source.ts",
    "lib/remote/bootstrap.ts",
    "lib/transport/bridge.ts",
    "lib/session/wait.ts",
    "lib/session/follow.ts",
    "lib/session/record.ts",
  ];
  await assertLoadsNone(["lib/cli/verbs/cp.ts"], unused, "a copy");
});
