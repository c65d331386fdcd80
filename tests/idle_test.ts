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
  // The session opens with a command that prints every second until a line
  // comes in, so it is never quiet while the test looks at it: however long
  // each call takes on a loaded machine, no gap between calls can close it.
  const started = await sesshJson(sshd, [
    "run",
    "idle",
    dest,
    "--shell",
    "bash",
    "--idle-timeout",
    "3",
    "--no-wait",
    "--",
    "while ! read -t 1 _; do echo tick; done; echo last-words-$((6*7))",
  ]);
  assert.equal(started.code, 0, started.stderr);
  const typed = Date.now();

  const asked = Date.now();
  const status = await sesshJson(sshd, ["status", "idle", dest]);
  assert.equal(status.code, 0, status.stderr);
  const deadline = Date.parse(
    String((status.json.session as Json).idle_deadline),
  );
  assert.ok(deadline > asked, "the deadline lay ahead when asked");
  const listed = await sessh(sshd, ["list", dest]);
  assert.match(listed.stdout, /closes if idle at \d\d:\d\d:\d\d/);

  // Output keeps it open well past its 3 s since the last input (a status
  // asked 4.5 s after it still finds it), and pushes its deadline on: asked
  // until both are seen, the ticks coming a second apart however quickly
  // the calls go.
  let moved = deadline;
  let askedLate = false;
  const giveUp = Date.now() + 30_000;
  while (!askedLate || moved <= deadline) {
    assert.ok(
      Date.now() < giveUp,
      `the deadline stayed at ${new Date(deadline).toISOString()}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const asking = Date.now();
    const later = await sesshJson(sshd, ["status", "idle", dest]);
    assert.equal(
      later.code,
      0,
      `closed despite output, asked ${
        asking - typed
      } ms after the command was typed: ${JSON.stringify(later.json)}`,
    );
    askedLate ||= asking - typed > 4_500;
    moved = Date.parse(String((later.json.session as Json).idle_deadline));
  }

  const ended = await sessh(sshd, [
    "send",
    "idle",
    dest,
    "--enter",
    "--",
    "stop",
  ]);
  assert.equal(ended.code, 0, ended.stderr);

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
  assert.equal(result.json.command_id, started.json.command_id);
  assert.match(String(result.json.output), /^tick\n[\s\S]*\nlast-words-42\n$/);
  const history = await sesshJson(sshd, ["history", "idle", dest]);
  assert.deepEqual(
    (history.json.commands as Json[]).map((command) => command.command_id),
    [started.json.command_id],
  );

  // Opening it again starts afresh.
  assert.equal((await sessh(sshd, ["open", "idle", dest])).code, 0);
  const fresh = await sesshJson(sshd, ["history", "idle", dest]);
  assert.deepEqual(fresh.json.commands, []);
});
