/**
 * `logs --follow --raw` hands each piece of output to stdout from a buffer
 * that later output is read into: what it prints must still be the
 * session's bytes, in order, none overwritten before they were written.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { cursorNow, openBuffered, sesshJson, startFollowRaw } from "./_cli.ts";

const LINES = 1_200_000;

Deno.test("logs --follow --raw --since prints a flood of distinct lines byte for byte", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  await openBuffered(sshd, "s", "64M");
  const since = await cursorNow(sshd, "s");
  const flood = await sesshJson(sshd, [
    "run",
    "s",
    dest,
    "--timeout",
    "120",
    "--",
    `seq 1 ${LINES} | sed 's/^/n/'; echo flood-over`,
  ]);
  assert.equal(flood.code, 0, flood.stderr);
  await using follow = startFollowRaw(sshd, "s", since);
  const text = (await follow.until("flood-over")).replaceAll("\r\n", "\n");
  follow.kill("SIGINT");
  await follow.rest();
  const numbers = [...text.matchAll(/^n(\d+)$/gm)].map((m) => Number(m[1]));
  assert.equal(numbers.length, LINES, "every line, once");
  const wrong = numbers.findIndex((n, i) => n !== i + 1);
  assert.equal(wrong, -1, `line ${wrong + 1} is n${numbers[wrong]}`);
});
