import assert from "node:assert/strict";
import { run } from "@stricli/core";
import { helpWords, splitPayload } from "./args.ts";
import { FAST_VERBS, fastCall } from "./fast_path.ts";
import { buildProgram, type ProgramContext } from "./program.ts";
import { usageText } from "./usage_text.ts";

/** The command the route map gives `verb`, as the command line has it. */
function commandOf(program: ReturnType<typeof buildProgram>, verb: string) {
  const root = program.root;
  const command = "getRoutingTargetForInput" in root
    ? root.getRoutingTargetForInput(verb)
    : undefined;
  assert.ok(command && "loader" in command, `no verb ${verb}`);
  return command;
}

/** What the full parser hands the verb for `words`, or the error it met. */
async function fullParse(words: string[]): Promise<unknown[] | Error> {
  let error: unknown = null;
  const program = buildProgram(usageText((e) => error ??= e));
  const command = commandOf(program, words[0]);
  let parsed: unknown[] | null = null;
  // The grammar as the command line has it; only the handler is swapped for
  // one that keeps what it was given (the command is the module's own, so
  // its loader is put back).
  const own = command as { loader: unknown };
  const loader = own.loader;
  own.loader = () => Promise.resolve((...given: unknown[]) => parsed = given);
  const context = {
    process: { stdout: { write() {} }, stderr: { write() {} } },
  } as unknown as ProgramContext;
  try {
    await run(program, words, context);
  } finally {
    own.loader = loader;
  }
  if (error !== null) return error as Error;
  assert.ok(parsed, `the parser called nothing for ${words.join(" ")}`);
  return parsed;
}

/** argv as `main.ts` prepares it for either parser. */
function prepare(argv: string[]) {
  const { head, payload } = splitPayload(argv);
  return {
    words: helpWords(head[0] === "--json" ? head.slice(1) : head),
    payload,
  };
}

const ACCEPTED: string[][] = [
  ["run", "a", "h", "--", "true"],
  ["run", "a", "me@h", "2222", "--", "true"],
  ["--json", "run", "a", "h", "--", "true"],
  ["run", "--json", "a", "h", "--", "true"],
  ["run", "a", "h", "--json", "--", "-x", "--json", "--", "y"],
  ["run", "-F", "conf", "a", "h", "--", "true"],
  ["run", "a", "--config", "conf", "h", "--", "true"],
  ["run", "a", "h", "-p", "2200", "--", "true"],
  ["run", "a", "h", "--port", "2200", "--", "true"],
  ["run", "-i", "key", "-J", "jump", "a", "h", "--", "true"],
  ["run", "--identity", "key", "--jump", "jump", "a", "h", "--", "true"],
  ["run", "a", "h", "-o", "A=b", "--", "true"],
  ["run", "a", "h", "-o", "A=b", "--option", "C=d", "-o", "E=f", "--", "x"],
  ["run", "a", "h", "--timeout", "5", "--", "sleep", "1"],
  ["run", "a", "h", "--timeout", "2m", "--json", "--", "make"],
  ["run", "a.b_c-d", "ssh://me@h:22", "--", "true"],
  ["run", "a", "h", "--", ""],
  ["run", "a", "h", "--"],
  [
    "run",
    "--json",
    "-F",
    "conf",
    "-p",
    "22",
    "-i",
    "k",
    "-J",
    "j",
    "-o",
    "X=y",
    "--timeout",
    "90s",
    "a",
    "h",
    "22",
    "--",
    "true",
  ],
  ["run", "a", "--hosts", "h1,h2", "--", "true"],
  ["run", "a", "--hosts", "g[01-03],h", "--parallel", "2", "--", "true"],
  ["run", "--json", "a", "--group", "--hosts", "h", "-F", "c", "--", "id"],
  ["run", "a", "h", "--parallel", "4", "--", "true"],
  ["logs", "a", "--hosts", "h1,h2"],
  ["logs", "a", "--hosts", "h[1-2]", "--raw", "--since", "5", "--group"],
  ["wait", "a", "--hosts", "h1", "--done", "--parallel", "3"],
  ["wait", "a", "h", "--parallel", "2", "--done"],
  ["status", "a", "--hosts", "h1,h2", "--json"],
  ["status", "a", "h", "--group"],
  ["list", "--hosts", "h1"],
  ["list", "--hosts", "h1", "-p", "22"],
  ["send", "a", "h", "--", "hello"],
  ["send", "a", "h", "--enter", "--", "echo", "hi"],
  ["send", "--json", "-p", "22", "a", "h", "--", "x"],
  ["keys", "a", "h", "--", "C-c"],
  ["keys", "a", "h", "2222", "--literal", "--", "Enter", "q"],
  ["logs", "a", "h"],
  ["logs", "a", "h", "50"],
  ["logs", "a", "h", "50", "2222"],
  ["logs", "a", "h", "--raw", "--since", "1234"],
  ["logs", "a", "h", "--follow", "--raw", "--since", "1234"],
  ["logs", "a", "h", "5", "--follow", "--json"],
  ["logs", "a", "h", "--max-output", "10k", "--json"],
  ["logs", "-o", "A=b", "a", "h", "-F", "conf", "100000000"],
  ["screen", "a", "h"],
  ["screen", "a", "h", "20"],
  ["screen", "--json", "a", "h", "20", "2222"],
  ["pane", "a", "h", "-i", "key"],
  ["wait", "a", "h", "--done"],
  ["wait", "a", "h", "--for", "^ready$", "--timeout", "30"],
  ["wait", "a", "h", "2222", "--idle", "500", "--since", "0"],
  ["wait", "a", "h", "--for", "x|y", "--max-output", "1m", "--json"],
  ["wait", "a", "h"],
  ["status", "a", "h"],
  ["status", "a", "h", "2222", "--json"],
  ["status", "-J", "jump", "--config", "conf", "a", "h"],
  ["list", "h"],
  ["list", "h", "2222", "--json"],
  ["cp", "a.bin", "h:/tmp/a.bin"],
  ["cp", "h:a.bin", "."],
  ["cp", "work", "a.bin", "me@h:out/"],
  ["cp", "--json", "a.bin", "h:"],
  ["cp", "a", "h:b", "--resume", "--via", "sftp"],
  ["cp", "--recursive", "d", "h:d", "--via", "helper", "-p", "2222"],
  ["cp", "-r", "d", "h:d"],
  ["cp", "work", "-r", "h:d", "d", "--json"],
  ["cp", "-F", "conf", "-o", "A=b", "h:x", "y", "--json"],
];

const DECLINED: string[][] = [
  ["run", "a", "h"],
  ["run", "a", "--", "true"],
  ["run", "a", "h", "22", "extra", "--", "true"],
  ["run", "a", "h", "notaport", "--", "true"],
  ["run", "a", "h", "0", "--", "true"],
  ["run", "bad/name", "h", "--", "true"],
  ["run", "a", "h", "--config=conf", "--", "true"],
  ["run", "a", "h", "--timeout=5", "--", "true"],
  ["run", "a", "h", "--timeout", "5", "--timeout", "6", "--", "true"],
  ["run", "a", "h", "-F", "x", "--config", "y", "--", "true"],
  ["run", "a", "h", "--json", "--json", "--", "true"],
  ["run", "a", "h", "--timeout", "soon", "--", "true"],
  ["run", "a", "h", "--timeout", "-5", "--", "true"],
  ["run", "a", "h", "-F", "--", "true"],
  ["run", "a", "h", "--help", "--", "true"],
  ["run", "a", "h", "-h", "--", "true"],
  ["help", "run", "--", "true"],
  ["run", "a", "h", "--force", "--", "true"],
  ["run", "a", "h", "--no-wait", "--", "true"],
  ["run", "a", "h", "-A", "--", "true"],
  ["run", "a", "h", "--hosts", "h1,h2", "--", "true"],
  ["run", "--hosts", "h1,h2", "--", "true"],
  ["run", "a", "--hosts", "h1", "--hosts", "h2", "--", "true"],
  ["run", "a", "--hosts", "g[3-1]", "--", "true"],
  ["run", "a", "--hosts-file", "f", "--", "true"],
  ["run", "a", "--hosts", "h", "--parallel", "0", "--", "true"],
  ["run", "a", "h", "--shell", "/bin/sh", "--", "true"],
  ["run", "-", "h", "--", "true"],
  ["run", "a", "h", "-F", "bad\u0000file", "--", "true"],
  ["open", "a", "h", "--", "true"],
  ["runs", "a", "h", "--", "true"],
  ["send", "a", "h"],
  ["send", "a", "h", "--file", "f"],
  ["send", "a", "h", "--enter", "--enter", "--", "x"],
  ["keys", "a", "h"],
  ["logs", "a", "h", "--", "x"],
  ["logs", "a", "h", "0"],
  ["logs", "a", "h", "50", "22", "extra"],
  ["logs", "a", "h", "--follow", "--follow"],
  ["logs", "a", "--hosts", "h", "50"],
  ["list", "--hosts", "h", "h2"],
  ["status", "--hosts", "h"],
  ["logs", "a", "h", "--since", "soon"],
  ["logs", "a", "h", "--raw", "--raw"],
  ["logs", "a"],
  ["screen", "a", "h", "--raw"],
  ["screen", "a", "h", "-5"],
  ["screen", "a", "h", "--help"],
  ["wait", "a", "h", "--for", "("],
  ["wait", "a", "h", "--idle", "soon"],
  ["wait", "a", "h", "--done", "--done"],
  ["wait", "a", "h", "--for", "-x"],
  ["status", "a"],
  ["status", "a", "h", "22", "x"],
  ["status", "a", "h", "-A"],
  ["list"],
  ["close", "a", "h"],
  ["history", "a", "h"],
  ["status", "toString", "h", "--", "x"],
  ["toString", "a", "h"],
  ["constructor", "a", "h"],
  ["cp", "a"],
  ["cp", "a", "b", "c", "d"],
  ["cp", "a", "h:b", "--via", "scp"],
  ["cp", "a", "h:b", "--via=sftp"],
  ["cp", "a", "h:b", "--resume", "--resume"],
  ["cp", "-", "h:b"],
  ["cp", "a", "h:b", "--", "x"],
  ["cp", "a", "h:b", "--help"],
];

Deno.test("fastCall() reads the commonest calls as the full parser does", async (t) => {
  for (const argv of ACCEPTED) {
    await t.step(argv.join(" "), async () => {
      const { words, payload } = prepare(argv);
      const fast = fastCall(words, payload);
      assert.ok(fast, "declined");
      assert.deepEqual([fast.flags, ...fast.args], await fullParse(words));
    });
  }
});

Deno.test("fastCall() declines what it does not read, for the full parser", async (t) => {
  for (const argv of DECLINED) {
    await t.step(argv.join(" "), () => {
      const { words, payload } = prepare(argv);
      assert.equal(fastCall(words, payload), null);
    });
  }
});

Deno.test("fastCall() knows every flag of each verb it reads", () => {
  // A flag added to a verb's grammar must be added to its row, or the
  // fast path would hand the handler flags without it.
  const program = buildProgram(usageText(() => {}));
  for (const [verb, flags] of Object.entries(FAST_VERBS)) {
    const command = commandOf(program, verb);
    assert.ok("parameters" in command);
    const grammar = Object.keys(command.parameters.flags ?? {});
    assert.deepEqual([...flags].sort(), grammar.sort(), verb);
  }
});

Deno.test("fastCall() loads the handler the verb's grammar loads", async () => {
  const program = buildProgram(usageText(() => {}));
  for (const verb of [...Object.keys(FAST_VERBS), "pane"]) {
    const words = verb === "list" ? [verb, "h"] : [verb, "a", "h"];
    const payload = ["run", "send", "keys"].includes(verb) ? ["x"] : null;
    const fast = fastCall(words, payload);
    assert.ok(fast, verb);
    const command = commandOf(program, verb);
    assert.ok("loader" in command);
    assert.equal(await fast.load(), await command.loader(), verb);
  }
});
