import assert from "node:assert/strict";
import { FLUSH_STEP, flushingInSteps } from "./part_flush.ts";

/** A part another process writes: its size is set by the test. */
class FakePart {
  size = 0;
  /** The part's size at each flush asked for. */
  flushes: number[] = [];
  failing = false;
  #waiters: (() => void)[] = [];

  stat(): Promise<Deno.FileInfo> {
    return Promise.resolve({ size: this.size } as Deno.FileInfo);
  }

  syncData(): Promise<void> {
    this.flushes.push(this.size);
    for (const wake of this.#waiters.splice(0)) wake();
    return this.failing ? Promise.reject(new Error("EIO")) : Promise.resolve();
  }

  /** The next flush, or a failure after 10 s: a test never hangs. */
  nextFlush(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no flush at size ${this.size}`)),
        10_000,
      );
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("flushingInSteps() flushes each full step, and the part once whole, while it is written", async () => {
  const part = new FakePart();
  const total = 2 * FLUSH_STEP + 1000;
  const result = await flushingInSteps({ file: part, total }, async () => {
    part.size = FLUSH_STEP - 1;
    // Several looks: less than a step is not flushed.
    await pause(150);
    assert.deepEqual(part.flushes, []);
    part.size = FLUSH_STEP;
    await part.nextFlush();
    part.size = 2 * FLUSH_STEP + 5;
    await part.nextFlush();
    // Less than a step more, but the whole part.
    part.size = total;
    await part.nextFlush();
    return "written";
  });
  assert.deepEqual(result, "written");
  assert.deepEqual(part.flushes, [FLUSH_STEP, 2 * FLUSH_STEP + 5, total]);
});

Deno.test("flushingInSteps() stops at a failed flush and still gives the work's result", async () => {
  const part = new FakePart();
  part.failing = true;
  const result = await flushingInSteps({ file: part, total: 10 }, async () => {
    part.size = 10;
    await part.nextFlush();
    await pause(150);
    return 7;
  });
  assert.deepEqual(result, 7);
  assert.deepEqual(part.flushes, [10]);
});

Deno.test("flushingInSteps() flushes nothing once the work has ended", async () => {
  const part = new FakePart();
  await flushingInSteps({ file: part, total: 10 }, () => {
    part.size = 10;
    return Promise.resolve();
  });
  await pause(100);
  assert.deepEqual(part.flushes, []);
});
