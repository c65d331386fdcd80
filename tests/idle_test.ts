/**
 * `open --idle-timeout`: a session without input or output for that long is
 * closed, `list` and `status` show when, and its history and last output
 * stay readable.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";

type Json = Record<string, unknown>;

Deno.test("an idle session is closed after its idle timeout, activity keeps it open, and its last command stays readable", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const opened = await sessh(sshd, [
    "open",
    "idle",
    dest,
    "--shell",
    "bash",
    "--idle-timeout",
    "3",
  ]);
  assert.equal(opened.code, 0, opened.stderr);
  const status = await sesshJson(sshd, ["status", "idle", dest]);
  const deadline = Date.parse(
    String((status.json.session as Json).idle_deadline),
  );
  assert.ok(deadline > Date.now(), "the deadline lies ahead");
  const listed = await sessh(sshd, ["list", dest]);
  assert.match(listed.stdout, /closes if idle at \d\d:\d\d:\d\d/);

  // Output every second for 5 s keeps it open past its 3 s timeout.
  const busy = await sesshJson(sshd, [
    "run",
    "idle",
    dest,
    "--timeout",
    "30",
    "--",
    "for i in 1 2 3 4 5; do echo tick-$i; sleep 1; done",
  ]);
  assert.equal(busy.code, 0, busy.stderr);
  assert.match(String(busy.json.output), /tick-5/);
  const last = await sesshJson(sshd, [
    "run",
    "idle",
    dest,
    "--",
    "echo last-words-$((6*7))",
  ]);
  assert.equal(last.code, 0, last.stderr);

  // Then quiet: closed within the timeout and the grace of a close.
  const until = Date.now() + 20_000;
  let gone: { code: number; json: Json } | null = null;
  while (Date.now() < until) {
    const probe = await sesshJson(sshd, ["status", "idle", dest]);
    if (probe.code !== 0) {
      gone = probe;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.ok(gone, "the session was closed");
  const error = gone.json.error as { code: string; message: string };
  assert.equal(error.code, "session_exited");
  assert.match(error.message, /closed after 3 s without input or output/);
  const list = await sesshJson(sshd, ["list", dest]);
  assert.deepEqual(list.json.sessions, []);

  const result = await sesshJson(sshd, ["result", "idle", dest]);
  assert.equal(result.code, 0, JSON.stringify(result.json));
  assert.equal(result.json.command_id, last.json.command_id);
  assert.equal(result.json.output, "last-words-42\n");
  const history = await sesshJson(sshd, ["history", "idle", dest]);
  assert.equal((history.json.commands as Json[]).length, 2);

  // Opening it again starts afresh.
  assert.equal((await sessh(sshd, ["open", "idle", dest])).code, 0);
  const fresh = await sesshJson(sshd, ["history", "idle", dest]);
  assert.deepEqual(fresh.json.commands, []);
});
