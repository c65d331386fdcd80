import assert from "node:assert/strict";
import {
  ConnectionLostError,
  DaemonGoneError,
  SesshError,
  SessionError,
  TimeoutError,
} from "../errors.ts";
import { classifySshFailure } from "../ssh/ssh_errors.ts";
import { cliMessage, errorJson } from "./error_out.ts";

Deno.test("errorJson() prints the details with the snake_case keys --json always had", () => {
  const lost = new ConnectionLostError("Lost", {
    delivery: "sent",
    session: "work",
    commandId: 7,
    cursor: 1006,
    destination: "db1",
  });
  assert.deepEqual(errorJson(lost), {
    code: "connection_lost",
    message:
      "Lost (sessh wait work db1 --done, sessh logs work db1 --since 1006)",
    sent: "sent",
    name: "work",
    command_id: 7,
    cursor: 1006,
  });
  const gone = new DaemonGoneError("Gone", {
    delivery: "unknown",
    session: "work",
  });
  assert.deepEqual(errorJson(gone), {
    code: "daemon_gone",
    message: "Gone",
    sent: "unknown",
    name: "work",
  });
  const remote = new SesshError("remote", "Odd", 1, { remoteCode: "odd" });
  assert.deepEqual(errorJson(remote), {
    code: "remote",
    message: "Odd",
    remote_code: "odd",
  });
});

Deno.test("cliMessage() adds the sessh command that does what the message advises", async (t) => {
  await t.step("a link lost at each stage of delivery", () => {
    const lost = (delivery: "sent" | "not_sent" | "unknown", cursor?: number) =>
      cliMessage(
        new ConnectionLostError("Lost", {
          delivery,
          session: "w",
          cursor,
          destination: "box",
        }),
      );
    assert.equal(lost("unknown"), "Lost (sessh status w box)");
    assert.equal(lost("not_sent", 5), "Lost (sessh wait w box --since 5)");
    assert.equal(
      lost("sent", 5),
      "Lost (sessh wait w box --done, sessh logs w box --since 5)",
    );
  });
  await t.step("a busy session", () => {
    const busy = new SessionError(
      "session_busy",
      'Session "w" is busy running sleep 9; wait for it to finish, interrupt it (C-c) or force the run',
      { session: "w" },
    );
    assert.match(
      cliMessage(busy),
      / \(sessh wait w DEST --done, sessh keys w DEST -- C-c, or run --force\)$/,
    );
  });
  await t.step("a lost session", () => {
    const lost = new SessionError("session_lost", "Lost", { session: "w" });
    assert.equal(
      cliMessage(lost),
      "Lost (sessh close w DEST, sessh open w DEST)",
    );
  });
  await t.step("a key the host refuses", () => {
    const denied = classifySshFailure(
      { host: "db1", display: "db1" },
      255,
      "Permission denied (publickey).\n",
    );
    assert.doesNotMatch(denied.message, /-i KEY/);
    assert.match(
      cliMessage(denied),
      /check SESSH_IDENTITY or the ssh identity option \(-i KEY\)$/,
    );
  });
  await t.step("nothing to add", () => {
    assert.equal(cliMessage(new TimeoutError("Slow")), "Slow");
    const unnamed = new ConnectionLostError("Lost", { delivery: "unknown" });
    assert.equal(cliMessage(unnamed), "Lost", "no session to name");
    const superseded = new SessionError(
      "session_busy",
      'A newer forced run in "w" took the place of this command',
      { session: "w" },
    );
    assert.equal(cliMessage(superseded), superseded.message);
  });
});
