import assert from "node:assert/strict";
import { progressLine } from "./progress.ts";

Deno.test("the progress bar fills with the copy and says what is left", () => {
  assert.equal(
    progressLine(25e6, 100e6, 1, 80),
    "\r[#########-------------------------]   25%  25.0/100.0 MB  25.0 MB/s  0:03 left\x1b[K",
  );
  assert.match(progressLine(100e6, 100e6, 4, 80), /\[#+\] {2}100%.* 0:00 left/);
  assert.match(progressLine(1e6, 10e9, 1, 80), /2:46:39 left/);
});

Deno.test("the progress bar fits narrow terminals and unknown totals", () => {
  const narrow = progressLine(5e6, 10e6, 1, 40);
  assert.match(narrow, /^\r\[#{5}-{5}\]/);
  assert.equal(progressLine(5e6, null, 2, 80), "\r5.0 MB  2.5 MB/s\x1b[K");
  assert.ok(
    progressLine(0, 0, 0, 80).endsWith("100%  0.0/0.0 MB  0.0 MB/s\x1b[K"),
  );
});
