import assert from "node:assert/strict";
import {
  atCaller,
  CommandFailedError,
  ConnectError,
  ConnectionLostError,
  DaemonGoneError,
  SesshError,
  SessionError,
  TimeoutError,
  UsageError,
} from "./errors.ts";

Deno.test("each error class carries its own typed details, camelCase", async (t) => {
  await t.step("TimeoutError", () => {
    const error = new TimeoutError("Timed out", {
      session: "work",
      commandId: 4,
      cursor: 90,
    });
    assert.deepEqual(error.details, {
      session: "work",
      commandId: 4,
      cursor: 90,
    });
    assert.equal(error.exitCode, 124);
  });
  await t.step("CommandFailedError", () => {
    const error = new CommandFailedError("make", 2, "boom\n", {
      session: "work",
      commandId: 5,
      cursor: 10,
    });
    assert.deepEqual(error.details, {
      session: "work",
      commandId: 5,
      cursor: 10,
      exitCode: 2,
    });
    assert.equal(error.exitCode, 2);
    assert.equal(error.output, "boom\n");
  });
  await t.step("ConnectionLostError keeps the keys it was given", () => {
    const error = new ConnectionLostError("Lost", {
      delivery: "sent",
      session: "work",
      commandId: 3,
      cursor: 7,
    });
    assert.deepEqual(error.details, {
      delivery: "sent",
      session: "work",
      commandId: 3,
      cursor: 7,
    });
    assert.equal(error.delivery, "sent");
  });
  await t.step("DaemonGoneError", () => {
    const error = new DaemonGoneError("Gone", {
      delivery: "sent",
      session: "work",
    });
    assert.equal(error.code, "daemon_gone");
    assert.equal(error.exitCode, 255);
    assert.deepEqual(error.details, { delivery: "sent", session: "work" });
    assert.ok(!(error instanceof ConnectError), "not a failure to connect");
  });
  await t.step("SessionError for a busy session", () => {
    const error = new SessionError("session_busy", "Busy", {
      session: "work",
    });
    assert.equal(error.exitCode, 1);
    assert.deepEqual(error.details, { session: "work" });
  });
  await t.step("ConnectError", () => {
    const error = new ConnectError("auth_failed", "No", {
      destination: "db1",
    });
    assert.deepEqual(error.details, { destination: "db1" });
  });
  await t.step("UsageError has none", () => {
    assert.deepEqual(new UsageError("Bad").details, {});
  });
});

Deno.test("atCaller() gives a copy whose stack reaches the awaiting function", async () => {
  let fail!: (error: Error) => void;
  const noticed = new Promise<never>((_, reject) => fail = reject);
  async function callFromTheScript(): Promise<never> {
    try {
      return await noticed;
    } catch (error) {
      throw atCaller(error);
    }
  }
  // Created outside the caller's chain, as the connection's reader does.
  setTimeout(() => fail(new TimeoutError("Timed out", { cursor: 3 })), 0);
  const error = await callFromTheScript().catch((e) => e);
  assert.ok(error instanceof TimeoutError);
  assert.equal(error.message, "Timed out");
  assert.deepEqual(error.details, { cursor: 3 });
  assert.match(String(error.stack), /^TimeoutError: Timed out\n/);
  assert.match(String(error.stack), /callFromTheScript/);
  assert.ok(error.cause instanceof SesshError);
  assert.doesNotMatch(String(error.cause.stack), /callFromTheScript/);
});
