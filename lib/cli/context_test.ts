import assert from "node:assert/strict";
import { type ProgramContext, targetVerb, verb } from "./context.ts";
import type { Outcome } from "./call.ts";
import { UsageError } from "../errors.ts";

/** A context that keeps what a command function hands to `done`. */
function contextKeeping(): {
  context: ProgramContext;
  done: Promise<Outcome>[];
} {
  const done: Promise<Outcome>[] = [];
  const context = { done: (p: Promise<Outcome>) => done.push(p) };
  return { context: context as unknown as ProgramContext, done };
}

Deno.test("verb() hands a handler's outcome to done() and returns at once", async () => {
  const { context, done } = contextKeeping();
  const outcome = { op: "x", fields: {}, text: "", exitCode: 0 };
  const command = verb((_, flags: { n: number }, word: string) =>
    Promise.resolve({ ...outcome, fields: { n: flags.n, word } })
  );
  assert.equal(command.call(context, { n: 1 }, "w"), undefined);
  assert.equal(done.length, 1);
  assert.deepEqual((await done[0]).fields, { n: 1, word: "w" });
});

Deno.test("verb() makes a handler's synchronous throw the call's error, not Stricli's", async () => {
  const { context, done } = contextKeeping();
  const command = verb((): Promise<Outcome> => {
    throw new UsageError("Invalid SESSH_LOG_LINES_DEFAULT");
  });
  command.call(context, {});
  assert.equal(done.length, 1);
  await assert.rejects(done[0], UsageError);
});

Deno.test("targetVerb() gives the handler NAME DEST [PORT] and the call's environment as one target", async () => {
  const { context, done } = contextKeeping();
  const env = { SESSH_TIMEOUT: "5" };
  Object.assign(context, { env });
  const command = targetVerb((t, _flags, ctx) =>
    Promise.resolve({
      op: "t",
      fields: { ...t, same: ctx === context },
      text: "",
      exitCode: 0,
    })
  );
  command.call(context, {}, "work", "me@box", "2222");
  assert.deepEqual((await done[0]).fields, {
    name: "work",
    dest: "me@box",
    port: "2222",
    env,
    same: true,
  });
});
