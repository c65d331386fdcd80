import assert from "node:assert/strict";
import { run } from "@stricli/core";
import { helpWords, splitPayload } from "./args.ts";
import { fastRun } from "./fast_path.ts";
import { buildProgram, type ProgramContext } from "./program.ts";
import { usageText } from "./usage_text.ts";

/** What the full parser hands `run` for `argv`, or the error it met. */
async function fullParse(words: string[]): Promise<unknown[] | Error> {
  let error: unknown = null;
  const program = buildProgram(usageText((e) => error ??= e));
  const root = program.root;
  const command = "getRoutingTargetForInput" in root
    ? root.getRoutingTargetForInput("run")
    : undefined;
  assert.ok(command && "loader" in command);
  let parsed: unknown[] | null = null;
  // The grammar as the command line has it; only the handler is swapped for
  // one that keeps what it was given.
  (command as { loader: unknown }).loader = () =>
    Promise.resolve((...given: unknown[]) => parsed = given);
  const context = {
    process: { stdout: { write() {} }, stderr: { write() {} } },
  } as unknown as ProgramContext;
  await run(program, words, context);
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
  ["run", "a", "--hosts", "h1,h2", "--", "true"],
  ["run", "a", "h", "--shell", "/bin/sh", "--", "true"],
  ["run", "-", "h", "--", "true"],
  ["run", "a", "h", "-F", "bad\u0000file", "--", "true"],
  ["open", "a", "h", "--", "true"],
  ["runs", "a", "h", "--", "true"],
];

Deno.test("fastRun() reads the commonest run calls as the full parser does", async (t) => {
  for (const argv of ACCEPTED) {
    await t.step(argv.join(" "), async () => {
      const { words, payload } = prepare(argv);
      const fast = fastRun(words, payload);
      assert.ok(fast, "declined");
      assert.deepEqual([fast.flags, ...fast.args], await fullParse(words));
    });
  }
});

Deno.test("fastRun() declines what it does not read, for the full parser", async (t) => {
  for (const argv of DECLINED) {
    await t.step(argv.join(" "), () => {
      const { words, payload } = prepare(argv);
      assert.equal(fastRun(words, payload), null);
    });
  }
});
