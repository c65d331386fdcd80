import assert from "node:assert/strict";
import { CpuTally, processCpuMs, processesCpuMs } from "./_process_cpu.ts";

/** Keeps this process busy until /proc counts `ms` more of its CPU time. */
function burn(ms: number): void {
  const start = processCpuMs(Deno.pid);
  const giveUp = performance.now() + 10_000;
  while (processCpuMs(Deno.pid) - start < ms) {
    assert.ok(performance.now() < giveUp, "/proc never counted the work");
    for (let i = 0; i < 1e5; i++) Math.sqrt(i);
  }
}

Deno.test("processCpuMs() counts the work its process does", () => {
  const before = processCpuMs(Deno.pid);
  burn(20);
  assert.ok(processCpuMs(Deno.pid) - before >= 20);
});

Deno.test("processCpuMs() is NaN for a process that is not there", () => {
  assert.ok(Number.isNaN(processCpuMs(2 ** 30)));
});

Deno.test("processesCpuMs() adds up its processes, and is NaN when one is gone", () => {
  const once = processCpuMs(Deno.pid);
  const twice = processesCpuMs([Deno.pid, Deno.pid]);
  assert.ok(twice >= 2 * once, `${twice} ms for twice ${once} ms`);
  assert.ok(Number.isNaN(processesCpuMs([Deno.pid, 2 ** 30])));
});

Deno.test("CpuTally.perCall() spreads each group's time around calls over their count", async () => {
  const tally = new CpuTally<"self" | "twice" | "none">();
  const groups = { self: [Deno.pid], twice: [Deno.pid, Deno.pid], none: [] };
  assert.ok(Number.isNaN(tally.perCall("self")), "no calls yet");
  await tally.around(groups, 3, () => Promise.resolve(burn(30)));
  await tally.around(groups, 1, () => Promise.resolve());
  const perCall = tally.perCall("self");
  // 30 ms over 4 calls, and what reading /proc and the loop cost beside.
  assert.ok(perCall >= 7.5 && perCall < 10, `${perCall} ms per call`);
  const twice = tally.perCall("twice");
  assert.ok(twice >= 15 && twice < 20, `${twice} ms per call`);
  assert.equal(tally.perCall("none"), 0);
});
