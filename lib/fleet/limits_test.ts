import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { checkParallel, maxParallel, openFileLimit } from "./limits.ts";

Deno.test("checkParallel() refuses what ulimit -n cannot hold, saying the most that fits", () => {
  checkParallel(32, 1024);
  checkParallel(120, 1024);
  assert.throws(
    () => checkParallel(121, 1024),
    (e) =>
      e instanceof UsageError && e.exitCode === 2 &&
      /ulimit -n 1024\); give --parallel 120 or less/.test(e.message),
  );
  assert.equal(maxParallel(10), 1);
  checkParallel(4096, null);
});

Deno.test("openFileLimit() reads this process's soft limit", () => {
  const limit = openFileLimit();
  assert.ok(limit === null || limit > 0);
});
