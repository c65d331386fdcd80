import assert from "node:assert/strict";
import { releaseAfterOutput } from "./call.ts";

function holding(log: string[]): AsyncDisposableStack {
  const held = new AsyncDisposableStack();
  held.defer(() => {
    log.push("released");
  });
  return held;
}

Deno.test("releaseAfterOutput() leaves the release to the command line that takes it", async () => {
  const log: string[] = [];
  const tasks: (() => Promise<void>)[] = [];
  await releaseAfterOutput(holding(log), {
    afterOutput: (task) => tasks.push(task),
  });
  assert.equal(log.length, 0, "released before the output");
  log.push("printed");
  await Promise.all(tasks.map((task) => task()));
  assert.deepEqual(log, ["printed", "released"]);
});

Deno.test("releaseAfterOutput() releases at once without a command line to take it", async () => {
  const log: string[] = [];
  await releaseAfterOutput(holding(log), {});
  assert.deepEqual(log, ["released"]);
});
