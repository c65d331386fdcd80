import assert from "node:assert/strict";
import { settleAfterOutput } from "./run_call.ts";

/** Whether `promise` has settled once the tasks already queued have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

/** A promise and the functions that settle it. */
function held<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

Deno.test("settleAfterOutput() waits for what the handler left, then cancels the call's deadline", async () => {
  const task = held<void>();
  const overrun = held<never>();
  let cancelled = 0;
  const settling = settleAfterOutput(
    [() => task.promise],
    overrun.promise,
    () => cancelled++,
  );
  assert.equal(await settled(settling), false);
  assert.equal(cancelled, 0, "the deadline went before the release was done");
  task.resolve();
  assert.equal(await settled(settling), true);
  assert.equal(cancelled, 1);
});

Deno.test("settleAfterOutput() gives up on a release that hangs once the call's deadline passes", async () => {
  // A thin call's exit code goes before its release: a release that never
  // ends must still not hold the agent past the call's deadline.
  const overrun = held<never>();
  let cancelled = 0;
  const settling = settleAfterOutput(
    [() => new Promise<void>(() => {})],
    overrun.promise,
    () => cancelled++,
  );
  assert.equal(await settled(settling), false);
  overrun.reject(new Error("past the deadline"));
  assert.equal(await settled(settling), true);
  assert.equal(cancelled, 1);
});

Deno.test("settleAfterOutput() runs each task, and one that fails does not stop the others", async () => {
  const ran: string[] = [];
  await settleAfterOutput(
    [
      () => Promise.reject(new Error("close failed")),
      () => {
        ran.push("second");
        return Promise.resolve();
      },
    ],
    null,
    undefined,
  );
  assert.deepEqual(ran, ["second"]);
});
