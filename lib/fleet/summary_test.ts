import assert from "node:assert/strict";
import { summarize, summaryLine, worstExit } from "./summary.ts";

Deno.test("worstExit() ranks unreachable over timeout over the highest status", async (t) => {
  const cases: [number[], number][] = [
    [[], 0],
    [[0, 0], 0],
    [[0, 1], 1],
    [[0, 3, 1], 3],
    [[2, 124, 1], 124],
    [[124, 255, 3], 255],
    [[130, 124], 124],
  ];
  for (const [codes, worst] of cases) {
    await t.step(codes.join(","), () => assert.equal(worstExit(codes), worst));
  }
});

Deno.test("summarize() sorts hosts into succeeded, failed and timed out", () => {
  const s = summarize([
    { host: "a1", exitCode: 0 },
    { host: "b", exitCode: 255, error: "connect_failed" },
    { host: "a2", exitCode: 0 },
    { host: "c", exitCode: 124, error: "timeout" },
    { host: "d", exitCode: 1 },
  ]);
  assert.deepEqual(s, {
    succeeded: ["a1", "a2"],
    failed: ["b", "d"],
    timedOut: ["c"],
    exitCode: 255,
  });
  assert.equal(
    summaryLine(s),
    "2 succeeded: a[1-2]; 2 failed: b,d; 1 timed out: c",
  );
});
