import assert from "node:assert/strict";
import { FrameCursor } from "./frame_cursor.ts";
import { encodeFrame } from "./frame.ts";
import { concatBytes } from "../bytes.ts";

const frames = [
  encodeFrame({ op: "run", id: 1, command: new Uint8Array(70_000) }),
  encodeFrame({}),
  encodeFrame({ ok: true, id: 2 }),
];
const stream = concatBytes(frames);
const ends = frames.reduce<number[]>(
  (acc, f) => [...acc, (acc.at(-1) ?? 0) + f.length],
  [],
);

Deno.test("FrameCursor.atBoundary is true exactly at the end of each frame, whatever the chunking", async (t) => {
  for (const size of [1, 3, 4, 5, 1000, stream.length]) {
    await t.step(`chunks of ${size} bytes`, () => {
      const cursor = new FrameCursor();
      for (let at = 0; at < stream.length; at += size) {
        const end = Math.min(at + size, stream.length);
        cursor.advance(stream.subarray(at, end));
        const boundary = ends.some((e) => e === end);
        const inside = ends.some((e) => e > at && e < end) && !boundary;
        if (!inside) assert.equal(cursor.atBoundary, boundary, `at ${end}`);
      }
      assert.equal(cursor.atBoundary, true);
    });
  }
});

Deno.test("FrameCursor.finishFrame() consumes the rest of the frame in progress and no more", () => {
  const cursor = new FrameCursor();
  cursor.advance(stream.subarray(0, 10));
  const rest = stream.subarray(10);
  const used = cursor.finishFrame(rest);
  assert.equal(used, frames[0].length - 10);
  assert.equal(cursor.atBoundary, true);
  assert.equal(cursor.finishFrame(rest.subarray(used)), 0);
});
