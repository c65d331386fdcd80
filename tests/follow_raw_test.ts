/**
 * `logs --follow --raw` hands each piece of output to stdout from a buffer
 * that later output is read into: what it prints must still be the
 * session's bytes, in order, none overwritten before they were written.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { cliArgv, sesshJson } from "./_cli.ts";
import { concatBytes } from "../lib/bytes.ts";

const LINES = 1_200_000;

Deno.test("logs --follow --raw --since prints a flood of distinct lines byte for byte", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const opened = await sesshJson(sshd, [
    "open",
    "s",
    dest,
    "--shell",
    "bash",
    "--buffer-size",
    "64M",
  ]);
  assert.equal(opened.code, 0, opened.stderr);
  const before = await sesshJson(sshd, ["run", "s", dest, "--", "true"]);
  assert.equal(before.code, 0, before.stderr);
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
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgv(sshd, [
      "logs",
      "s",
      dest,
      "--follow",
      "--raw",
      "--since",
      String(before.json.cursor),
    ], true),
    env: sshd.env,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const parts: Uint8Array[] = [];
  let tail = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    parts.push(chunk);
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-100);
    if (/\nflood-over/.test(tail.replaceAll("\r", ""))) break;
  }
  clearTimeout(timer);
  child.kill("SIGINT");
  await child.status;
  const text = new TextDecoder().decode(concatBytes(parts))
    .replaceAll("\r\n", "\n");
  const numbers = [...text.matchAll(/^n(\d+)$/gm)].map((m) => Number(m[1]));
  assert.equal(numbers.length, LINES, "every line, once");
  const wrong = numbers.findIndex((n, i) => n !== i + 1);
  assert.equal(wrong, -1, `line ${wrong + 1} is n${numbers[wrong]}`);
});
