import assert from "node:assert/strict";
import { startSshd, usesControlMaster } from "./_sshd.ts";
import { sessh, sesshJson, startSessh } from "./_cli.ts";

type Json = Record<string, unknown>;

Deno.test("send, keys, logs, screen, wait, status, list and close", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const name = "agent";
  assert.equal(
    (await sessh(sshd, ["open", name, dest, "--shell", "bash"])).code,
    0,
  );

  await t.step(
    "send types literal text and --enter presses Enter",
    async () => {
      const sent = await sessh(sshd, [
        "send",
        name,
        dest,
        "--enter",
        "--",
        "echo sent-$((40+2))",
      ]);
      assert.equal(sent.code, 0, sent.stderr);
      const seen = await sesshJson(sshd, [
        "wait",
        name,
        dest,
        "--since",
        "0",
        "--for",
        "^sent-42",
        "--timeout",
        "10",
      ]);
      assert.equal(seen.code, 0, seen.stderr);
      assert.equal(seen.json.match, "sent-42");
    },
  );

  await t.step(
    "logs without LINES takes the bash sessh's SESSH_LOG_LINES_DEFAULT",
    async () => {
      const ran = await sessh(sshd, [
        "run",
        name,
        dest,
        "--",
        "printf 'line-%s\\n' 1 2 3 4 5",
      ]);
      assert.equal(ran.code, 0, ran.stderr);
      // The last two lines: line-5 and the prompt after it.
      const logs = await sessh(sshd, ["logs", name, dest], {
        env: { SESSH_LOG_LINES_DEFAULT: "2" },
      });
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /^line-5\n/);
      const refused = await sessh(sshd, ["logs", name, dest], {
        env: { SESSH_LOG_LINES_DEFAULT: "many" },
      });
      assert.equal(refused.code, 2);
      assert.match(
        refused.stderr,
        /Invalid SESSH_LOG_LINES_DEFAULT "many"; give a whole number/,
      );
    },
  );

  await t.step(
    "keys sends tmux key names: text, Enter and C-d reach cat",
    async () => {
      await sessh(sshd, [
        "run",
        name,
        dest,
        "--no-wait",
        "--",
        "cat > /dev/null; echo cat-ended",
      ]);
      const keys = await sessh(sshd, [
        "keys",
        name,
        dest,
        "--literal",
        "--",
        "hello",
        "Enter",
        "C-d",
      ]);
      assert.equal(keys.code, 0, keys.stderr);
      const done = await sesshJson(sshd, [
        "wait",
        name,
        dest,
        "--done",
        "--timeout",
        "10",
      ]);
      assert.equal(done.code, 0, done.stderr);
      const logs = await sessh(sshd, ["logs", name, dest, "3"]);
      assert.match(logs.stdout, /^cat-ended$/m);
    },
  );

  await t.step(
    "logs renders the last lines with carriage-return overwrites resolved",
    async () => {
      await sessh(sshd, [
        "run",
        name,
        dest,
        "--",
        "for i in 1 2 3; do printf '\\rprogress %d/3' $i; sleep 0.1; done; echo; echo tail-line",
      ]);
      const logs = await sessh(sshd, ["logs", name, dest, "3"]);
      const lines = logs.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 3, logs.stdout);
      assert.equal(lines[0], "progress 3/3");
      assert.equal(lines[1], "tail-line");
    },
  );

  await t.step(
    "logs --since returns only what came after the cursor, and a new cursor",
    async () => {
      const before = await sesshJson(sshd, ["logs", name, dest, "1"]);
      const cursor = Number(before.json.cursor);
      await sessh(sshd, ["run", name, dest, "--", "echo after-cursor"]);
      const since = await sesshJson(sshd, [
        "logs",
        name,
        dest,
        "--since",
        String(cursor),
      ]);
      assert.match(String(since.json.output), /after-cursor/);
      assert.ok(Number(since.json.cursor) > cursor);
      assert.equal(since.json.evicted, false);
      const none = await sesshJson(sshd, [
        "logs",
        name,
        dest,
        "--since",
        String(since.json.cursor),
      ]);
      assert.equal(none.json.output, "");
    },
  );

  await t.step(
    "logs --follow streams new output and Ctrl-C ends it with exit 0",
    async () => {
      const follower = startSessh(sshd, [
        "logs",
        name,
        dest,
        "1",
        "--follow",
      ]);
      // The last line arrives first: the follower is attached.
      await follower.until(/\n/);
      const typed = await sessh(sshd, [
        "run",
        name,
        dest,
        "--",
        "echo followed-$((6*7))",
      ]);
      assert.equal(typed.code, 0, typed.stderr);
      await follower.until(/^followed-42/m);
      follower.child.kill("SIGINT");
      const { code, stderr } = await follower.finish();
      assert.equal(code, 0, stderr);
      assert.equal(stderr, "");
    },
  );

  await t.step(
    "logs --since says so when the buffer evicted part of it",
    async () => {
      await sessh(sshd, ["open", "small", dest, "--buffer-size", "4096"]);
      await sessh(sshd, [
        "run",
        "small",
        dest,
        "--",
        "seq 1 3000 >/dev/null; seq 1 2000",
      ]);
      const logs = await sessh(sshd, ["logs", "small", dest, "--since", "0"]);
      assert.equal(logs.code, 0);
      assert.match(logs.stderr, /already left the buffer/);
      assert.match(logs.stdout, /^2000$/m);
      const status = await sesshJson(sshd, ["status", "small", dest]);
      const session = status.json.session as Json;
      assert.ok(Number(session.buffer_used) <= 4096);
      assert.equal(session.buffer_size, 4096);
    },
  );

  await t.step(
    "logs --raw passes 10 MB of binary and UTF-8 through intact",
    async () => {
      const size = 10 * 1024 * 1024;
      const payload = new Uint8Array(size);
      for (let i = 0; i < size; i++) payload[i] = (i * 7 + (i >> 8)) & 0xff;
      payload.set(new TextEncoder().encode("ünïcödé 日本語 🎉"), 1000);
      const file = `${sshd.dir}/payload.bin`;
      await Deno.writeFile(file, payload);
      await sessh(sshd, ["open", "raw", dest, "--buffer-size", "32M"]);
      const start = await sesshJson(sshd, ["logs", "raw", dest, "1"]);
      const run = await sessh(sshd, [
        "run",
        "raw",
        dest,
        "--timeout",
        "60",
        "--",
        `stty -opost; printf '\\100@BEGIN'; cat '${file}'; printf '\\100@END'; stty opost`,
      ]);
      assert.equal(run.code, 0, run.stderr);
      const raw = await sessh(sshd, [
        "logs",
        "raw",
        dest,
        "--raw",
        "--since",
        String(start.json.cursor),
      ]);
      const bytes = raw.bytes;
      const text = new TextDecoder("latin1").decode(bytes);
      const begin = text.indexOf("@@BEGIN") + "@@BEGIN".length;
      const end = text.lastIndexOf("@@END");
      assert.ok(begin > 6 && end > begin, "markers found");
      assert.equal(end - begin, size);
      assert.deepEqual(bytes.subarray(begin, end), payload);
    },
  );

  await t.step(
    "run returns the head and tail of output larger than one reply",
    async () => {
      await sessh(sshd, ["open", "big", dest, "--buffer-size", "16M"]);
      const run = await sesshJson(sshd, [
        "run",
        "big",
        dest,
        "--timeout",
        "60",
        "--",
        "echo big-start; head -c 6000000 /dev/zero | tr '\\0' y | fold -w 100; echo big-done",
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json.truncated, true);
      const output = String(run.json.output);
      assert.match(output, /^big-start\ny{100}\n/);
      // fold ends its last line without a newline: 6,000,000 is a multiple of 100.
      assert.match(output, /\ny{100}big-done\n$/);
      await sessh(sshd, ["close", "big", dest, "--keep-master"]);
    },
  );

  await t.step(
    "screen renders a full-screen program with the cursor",
    async () => {
      await Deno.writeTextFile(
        `${sshd.dir}/pager.txt`,
        Array.from({ length: 200 }, (_, i) => `pager line ${i + 1}`).join("\n"),
      );
      const less = await sesshJson(sshd, [
        "run",
        name,
        dest,
        "--no-wait",
        "--",
        `less '${sshd.dir}/pager.txt'`,
      ]);
      const since = String(less.json.cursor);
      const shown = await sessh(sshd, [
        "wait",
        name,
        dest,
        "--since",
        since,
        "--for",
        "pager line 10",
        "--timeout",
        "10",
      ]);
      assert.equal(shown.code, 0, shown.stderr);
      const screen = await sesshJson(sshd, ["screen", name, dest]);
      assert.equal(screen.code, 0, screen.stderr);
      assert.equal(screen.json.alt_screen, true);
      const lines = screen.json.lines as string[];
      assert.equal(lines.length, screen.json.rows);
      assert.equal(lines[0], "pager line 1");
      assert.equal(lines[lines.length - 2], `pager line ${lines.length - 1}`);
      assert.equal((screen.json.cursor as Json).row, lines.length - 1);
      const status = await sesshJson(sshd, ["status", name, dest]);
      const session = status.json.session as Json;
      assert.equal(session.running, true);
      assert.match(String(session.command), /^less /);
      assert.equal(session.waiting_input, true);
      const pane = await sessh(sshd, ["pane", name, dest]);
      assert.match(pane.stdout, /^pager line 1$/m);
      assert.match(
        pane.stderr,
        /cursor at row \d+, column \d+ \(160x48, alternate screen\)/,
      );
      await sessh(sshd, ["keys", name, dest, "--", "q"]);
      const done = await sessh(sshd, [
        "wait",
        name,
        dest,
        "--done",
        "--timeout",
        "10",
      ]);
      assert.equal(done.code, 0, done.stderr);
      const after = await sesshJson(sshd, ["screen", name, dest]);
      assert.equal(after.json.alt_screen, false);
    },
  );

  await t.step("wait --for, --idle and a timeout", async () => {
    const typed = await sesshJson(sshd, [
      "run",
      name,
      dest,
      "--no-wait",
      "--",
      "sleep 0.5; echo READY-$((6*7))",
    ]);
    const ready = await sesshJson(sshd, [
      "wait",
      name,
      dest,
      "--since",
      String(typed.json.cursor),
      "--for",
      "READY-\\d+",
      "--timeout",
      "10",
    ]);
    assert.equal(ready.code, 0, ready.stderr);
    assert.equal(ready.json.match, "READY-42");
    assert.equal(ready.json.met, true);
    const ticks = await sesshJson(sshd, [
      "run",
      name,
      dest,
      "--no-wait",
      "--",
      "for i in 1 2 3; do echo tick; sleep 0.2; done",
    ]);
    const idle = await sesshJson(sshd, [
      "wait",
      name,
      dest,
      "--since",
      String(ticks.json.cursor),
      "--idle",
      "1000",
      "--timeout",
      "20",
    ]);
    assert.equal(idle.code, 0);
    assert.equal(idle.json.met, true);
    assert.match(String(idle.json.output), /tick/);
    const never = await sessh(sshd, [
      "wait",
      name,
      dest,
      "--for",
      "never-printed",
      "--timeout",
      "1",
    ]);
    assert.equal(never.code, 124);
    assert.match(never.stderr, /timed out/);
    const both = await sessh(sshd, [
      "wait",
      name,
      dest,
      "--for",
      "x",
      "--done",
    ]);
    assert.equal(both.code, 2);
  });

  await t.step("status reports a prompt that waits for input", async () => {
    const pwd = (await sessh(sshd, ["run", name, dest, "--", "pwd"])).stdout
      .trim();
    const read = await sesshJson(sshd, [
      "run",
      name,
      dest,
      "--no-wait",
      "--",
      "read -p 'Continue? [y/N] ' answer",
    ]);
    const asked = await sessh(sshd, [
      "wait",
      name,
      dest,
      "--since",
      String(read.json.cursor),
      "--for",
      "Continue\\? \\[y/N\\] $",
      "--timeout",
      "10",
    ]);
    assert.equal(asked.code, 0, asked.stderr);
    const status = await sesshJson(sshd, ["status", name, dest]);
    const session = status.json.session as Json;
    assert.equal(session.running, true);
    assert.equal(session.waiting_input, true);
    assert.equal(session.cwd, pwd);
    assert.equal(typeof session.shell_pid, "number");
    // Without a master (SESSH_CONTROL_MASTER=no) status says there is none.
    if (usesControlMaster()) {
      assert.equal((status.json.master as Json).alive, true);
    } else assert.equal(status.json.master, null);
    await sessh(sshd, ["send", name, dest, "--enter", "--", "y"]);
    const done = await sesshJson(sshd, [
      "wait",
      name,
      dest,
      "--done",
      "--timeout",
      "10",
    ]);
    assert.equal(done.json.exit_code, 0);
    const idle = await sesshJson(sshd, ["status", name, dest]);
    assert.equal((idle.json.session as Json).running, false);
    assert.equal((idle.json.session as Json).waiting_input, false);
  });

  await t.step(
    "list shows every session; close ends one and keeps the master while others live",
    async () => {
      const list = await sesshJson(sshd, ["list", dest]);
      const names = (list.json.sessions as Json[]).map((s) => s.name).sort();
      assert.deepEqual(names, ["agent", "raw", "small"]);
      const human = await sessh(sshd, ["list", dest]);
      assert.match(human.stdout, /^NAME\s+PID\s+IDLE\s+STATE\s+WHAT$/m);
      const closed = await sesshJson(sshd, ["close", "small", dest]);
      assert.equal(closed.code, 0, closed.stderr);
      assert.equal(closed.json.master_stopped, false);
      const gone = await sesshJson(sshd, ["status", "small", dest]);
      assert.equal(gone.code, 1);
      assert.equal((gone.json.error as Json).code, "session_exited");
    },
  );

  await t.step(
    "closing the last session stops the master unless --keep-master",
    async () => {
      const kept = await sesshJson(sshd, [
        "close",
        "raw",
        dest,
        "--keep-master",
      ]);
      assert.equal(kept.json.master_stopped, false);
      const last = await sesshJson(sshd, ["close", name, dest]);
      // Without a master there is none to stop.
      assert.equal(last.json.master_stopped, usesControlMaster());
      assert.equal(last.json.sessions_left, 0);
      const check = await new Deno.Command("ssh", {
        args: [
          "-F",
          sshd.configFile,
          "-o",
          `ControlPath=${sshd.controlDir}/%C`,
          "-O",
          "check",
          dest,
        ],
        stderr: "piped",
      }).output();
      assert.notEqual(check.code, 0);
    },
  );
});
