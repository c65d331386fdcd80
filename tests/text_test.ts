/**
 * Faithful text: what the terminal showed, and what was lost said so.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";

Deno.test("invalid UTF-8 in output is shown as U+FFFD by run and logs", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const run = await sesshJson(sshd, [
    "run",
    "u",
    dest,
    "--",
    "printf 'A\\377\\376\\200B\\n'",
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.json.output, "A\ufffd\ufffd\ufffdB\n");
  const logs = await sessh(sshd, ["logs", "u", dest, "2"]);
  assert.match(logs.stdout, /^A\ufffd\ufffd\ufffdB$/m);
});

Deno.test("logs after eviction starts on a whole line and says older lines were evicted", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const opened = await sessh(sshd, [
    "open",
    "e",
    dest,
    "--shell",
    "bash",
    "--buffer-size",
    "4k",
  ]);
  assert.equal(opened.code, 0, opened.stderr);
  // Lines of 37 bytes (with CR LF): 4096 is no multiple, so eviction cuts one.
  const flood = await sessh(sshd, [
    "run",
    "e",
    dest,
    "--",
    "for i in $(seq 1000 1400); do echo line-$i-abcdefghijklmnopqrstuv; done",
  ]);
  assert.equal(flood.code, 0, flood.stderr);
  const logs = await sessh(sshd, ["logs", "e", dest, "1000"]);
  assert.equal(logs.code, 0, logs.stderr);
  const lines = logs.stdout.split("\n").filter(Boolean);
  assert.match(lines[0], /^line-\d{4}-abcdefghijklmnopqrstuv$/);
  assert.match(
    logs.stderr,
    /^sessh: the buffer no longer holds 1000 lines; older ones were evicted, and this starts at the oldest whole line left$/m,
  );
});
