/**
 * Floods and slow readers: output faster than a reader takes it is paced
 * and, when the reader falls behind the buffer, skipped ahead with a gap
 * report; the daemon never drops the reader nor grows without bound.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import {
  cursorNow,
  openBuffered,
  sessh,
  sesshJson,
  startSessh,
} from "./_cli.ts";
import { daemonPid, rssKiB } from "./_probes.ts";

Deno.test("a 50 MB flood: wait --for finds the line after it", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  assert.equal(
    (await sessh(sshd, ["open", "f", dest, "--shell", "bash"])).code,
    0,
  );
  const typed = await sessh(sshd, [
    "run",
    "f",
    dest,
    "--no-wait",
    "--",
    "yes | head -c 50000000; echo flood-$((40+2))",
  ]);
  assert.equal(typed.code, 0, typed.stderr);
  const waited = await sesshJson(sshd, [
    "wait",
    "f",
    dest,
    "--for",
    "^flood-42",
    "--timeout",
    "180",
  ], { timeoutMs: 200_000 });
  assert.equal(waited.code, 0, waited.stderr);
  assert.equal(waited.json.match, "flood-42");
  assert.ok(String(waited.json.output).length <= 100 * 1024 + 200);
});

Deno.test("wait --for finds a line amid a flood many times the buffer, and ends there rather than at the end of the flood", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  assert.equal(
    (await sessh(sshd, [
      "open",
      "m",
      dest,
      "--shell",
      "bash",
      "--buffer-size",
      "64k",
    ])).code,
    0,
  );
  const typed = await sessh(sshd, [
    "run",
    "m",
    dest,
    "--no-wait",
    "--",
    "yes | head -c 20000000; echo needle-$((40+2)); yes | head -c 20000000; echo flood-over",
  ]);
  assert.equal(typed.code, 0, typed.stderr);
  const waited = await sesshJson(sshd, [
    "wait",
    "m",
    dest,
    "--for",
    "^needle-\\d+$",
    "--timeout",
    "120",
  ], { timeoutMs: 140_000 });
  assert.equal(waited.code, 0, waited.stderr);
  assert.equal(waited.json.match, "needle-42");
  assert.equal(
    waited.json.evicted,
    true,
    "the flood before it left the buffer",
  );
  const done = await sesshJson(sshd, [
    "wait",
    "m",
    dest,
    "--for",
    "^flood-over",
    "--timeout",
    "120",
  ], { timeoutMs: 140_000 });
  assert.equal(done.json.match, "flood-over");
  assert.ok(
    Number(done.json.cursor) > Number(waited.json.cursor) + 10_000_000,
    "the first wait ended at the needle, not after the flood",
  );
});

Deno.test("a stopped logs --follow is skipped ahead with a gap report, then follows live", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  await openBuffered(sshd, "s", "1M");
  const daemon = daemonPid(sshd);
  const idle = rssKiB(daemon);
  const follower = startSessh(sshd, ["logs", "s", dest, "1", "--follow"]);
  const until = follower.until;
  // Its first lines are printed: it follows from their cursor on, so the
  // mark below reaches it even before its subscription is in place.
  await until(/\n/);
  // Following live before it stops: what comes next is what it misses.
  const marked = await sessh(sshd, [
    "run",
    "s",
    dest,
    "--",
    "echo mark-$((6*7))",
  ]);
  assert.equal(marked.code, 0, marked.stderr);
  await until(/^mark-42/m);
  follower.child.kill("SIGSTOP");
  try {
    const flood = await sessh(sshd, [
      "run",
      "s",
      dest,
      "--timeout",
      "120",
      "--",
      "yes | head -c 20000000; echo flood-over",
    ], { timeoutMs: 150_000 });
    assert.equal(flood.code, 0, flood.stderr);
    // The 1 MiB buffer, a client's queue up to its high mark, and slack.
    const grown = rssKiB(daemon) - idle;
    assert.ok(grown < 16 * 1024, `the daemon grew by ${grown} KiB`);
  } finally {
    follower.child.kill("SIGCONT");
  }
  await until(/^flood-over/m);
  const live = await sessh(sshd, [
    "run",
    "s",
    dest,
    "--",
    "echo live-$((6*7))",
  ]);
  assert.equal(live.code, 0, live.stderr);
  await until(/^live-42/m);
  follower.child.kill("SIGINT");
  const { code, stderr } = await follower.finish();
  assert.equal(code, 0, stderr);
  assert.match(
    stderr,
    /^sessh: \d+ bytes of output went by unseen \(this reader fell behind the buffer\); following from cursor \d+$/m,
  );
});

Deno.test("logs --follow --raw --since reads a 20 MB backlog to its end, then follows live", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  await openBuffered(sshd, "b", "64M");
  const since = await cursorNow(sshd, "b");
  const flood = await sessh(sshd, [
    "run",
    "b",
    dest,
    "--timeout",
    "120",
    "--",
    "head -c 20000000 /dev/zero | tr '\\0' y | fold -w 100; echo backlog-over",
  ], { timeoutMs: 150_000 });
  assert.equal(flood.code, 0, flood.stderr);
  const follower = startSessh(sshd, [
    "logs",
    "b",
    dest,
    "--follow",
    "--raw",
    "--since",
    since,
  ]);
  // fold leaves the last line open, so the mark follows the last y (and the
  // typed command, echoed first, never shows "ybacklog").
  await follower.until(/ybacklog-over/);
  const live = await sessh(sshd, [
    "run",
    "b",
    dest,
    "--",
    "echo live-$((6*7))",
  ]);
  assert.equal(live.code, 0, live.stderr);
  await follower.until(/^live-42/m);
  follower.child.kill("SIGINT");
  const { code, stderr } = await follower.finish();
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /went by unseen/);
});

Deno.test("send --file delivers 10 MB byte for byte while another session answers", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const size = 10 * 1024 * 1024;
  const payload = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(payload.subarray(at, at + 65536));
  }
  const file = `${sshd.dir}/payload.bin`;
  await Deno.writeFile(file, payload);
  const expected = Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", payload)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  for (const name of ["in", "other"]) {
    assert.equal(
      (await sessh(sshd, ["open", name, dest, "--shell", "bash"])).code,
      0,
    );
  }
  // A raw terminal passes every byte on as it is: no echo, no line editing.
  const reading = await sessh(sshd, [
    "run",
    "in",
    dest,
    "--no-wait",
    "--",
    `stty raw -echo; head -c ${size} > "$HOME/got"; stty sane; echo got-all`,
  ]);
  assert.equal(reading.code, 0, reading.stderr);
  const [sent, other] = await Promise.all([
    sesshJson(sshd, ["send", "in", dest, "--file", file], {
      timeoutMs: 120_000,
    }),
    sesshJson(sshd, ["run", "other", dest, "--", "echo other-$((6*7))"]),
  ]);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(sent.json.bytes, size);
  assert.equal(other.code, 0, other.stderr);
  assert.equal(other.json.output, "other-42\n");
  const done = await sessh(sshd, [
    "wait",
    "in",
    dest,
    "--for",
    "^got-all",
    "--since",
    "0",
    "--timeout",
    "60",
  ]);
  assert.equal(done.code, 0, done.stderr);
  const sum = await sessh(sshd, [
    "run",
    "in",
    dest,
    "--",
    'sha256sum "$HOME/got"',
  ]);
  assert.equal(sum.code, 0, sum.stderr);
  assert.equal(sum.stdout.split(" ")[0], expected);
});

Deno.test("send --file refuses a missing file before connecting", async () => {
  await using sshd = await startSshd();
  const result = await sesshJson(sshd, [
    "send",
    "in",
    sshd.dest,
    "--file",
    `${sshd.dir}/missing.bin`,
  ]);
  assert.equal(result.code, 2);
  const error = result.json.error as Record<string, unknown>;
  assert.equal(error.code, "usage");
  assert.match(
    String(error.message),
    /^Cannot read --file ".*missing\.bin": No such file or directory/,
  );
});

Deno.test("wait --idle over a flood returns once output stops, with a bounded head and tail", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  assert.equal(
    (await sessh(sshd, [
      "open",
      "i",
      dest,
      "--shell",
      "bash",
      "--buffer-size",
      "64M",
    ])).code,
    0,
  );
  const typed = await sesshJson(sshd, [
    "run",
    "i",
    dest,
    "--no-wait",
    "--",
    "seq 1 2000000; echo idle-after",
  ]);
  assert.equal(typed.code, 0, typed.stderr);
  // From the command's start: on a loaded machine the flood may be over
  // before this call begins, and --idle alone reads from now.
  const waited = await sesshJson(sshd, [
    "wait",
    "i",
    dest,
    "--since",
    String(typed.json.cursor),
    "--idle",
    "2000",
    "--timeout",
    "180",
  ], { timeoutMs: 200_000 });
  assert.equal(waited.code, 0, waited.stderr);
  assert.equal(waited.json.met, true);
  const output = String(waited.json.output);
  assert.ok(output.length <= 100 * 1024 + 200, `${output.length} characters`);
  assert.match(output, /^idle-after$/m);
});
