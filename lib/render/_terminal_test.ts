import assert from "node:assert/strict";
import { emulate, loadXterm } from "./_terminal.ts";

const module = new URL("./_terminal.ts", import.meta.url).href;

/**
 * Whether loading xterm.js in a fresh process reads the global `process`,
 * with or without `loadXtermAlone()` first; and whether the real one is
 * back afterwards.
 */
async function readsProcess(alone: boolean) {
  const script = `
    const real = Object.getOwnPropertyDescriptor(globalThis, "process");
    let reads = 0;
    const watched = { ...real, get() { reads++; return real.get.call(this); } };
    Object.defineProperty(globalThis, "process", watched);
    const { loadXterm, loadXtermAlone } = await import(${
    JSON.stringify(module)
  });
    if (${alone}) loadXtermAlone();
    const { Terminal } = await loadXterm();
    new Terminal({ cols: 10, rows: 2, allowProposedApi: true }).dispose();
    const after = Object.getOwnPropertyDescriptor(globalThis, "process");
    console.log(JSON.stringify({ reads, restored: after.get === watched.get }));
  `;
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(success);
  return JSON.parse(new TextDecoder().decode(stdout));
}

Deno.test("loadXterm() after loadXtermAlone() loads xterm.js without reading the global process", async () => {
  assert.deepEqual(await readsProcess(true), { reads: 0, restored: true });
  // Without it, xterm.js reads it: the check above can fail.
  const plain = await readsProcess(false);
  assert.ok(plain.reads > 0);
});

Deno.test("emulate() parses what it is given without a timer", async () => {
  await loadXterm();
  const real = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    timers++;
    return real(...args);
  }) as typeof setTimeout;
  try {
    const text = await emulate(
      new TextEncoder().encode("a\x1b[31mb\x1b[2Kc\r\n$ "),
      { cols: 20, rows: 3, scrollback: 0 },
      (terminal) => terminal.buffer.active.getLine(0)?.translateToString(true),
    );
    assert.equal(text, "  c");
  } finally {
    globalThis.setTimeout = real;
  }
  assert.equal(timers, 0);
});
