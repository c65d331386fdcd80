import assert from "node:assert/strict";

import { PHASE_LINE_PREFIX } from "./phases.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

async function version(env: Record<string, string>): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, "--version"],
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0);
  return new TextDecoder().decode(output.stderr);
}

Deno.test("markPhase() prints the command line's marks only when SESSH_TRACE_PHASES=1", async () => {
  const traced = await version({ SESSH_TRACE_PHASES: "1" });
  const line = traced.split("\n").find((l) => l.startsWith(PHASE_LINE_PREFIX));
  assert(line, `no marks line in ${JSON.stringify(traced)}`);
  const { origin, marks } = JSON.parse(line.slice(PHASE_LINE_PREFIX.length));
  assert(Math.abs(origin - Date.now()) < 60_000, `origin ${origin}`);
  assert(marks.main > 0 && marks.written >= marks.main, JSON.stringify(marks));
  assert.equal(await version({}), "");
});
