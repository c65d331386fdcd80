import assert from "node:assert/strict";
import { encodeFrame, FrameDecoder, MAX_FRAME } from "./frame.ts";

Deno.test("FrameDecoder.push() decodes frames split across chunks", () => {
  const decoder = new FrameDecoder();
  const bytes = new Uint8Array([
    ...encodeFrame({ a: 1 }),
    ...encodeFrame({ b: "two" }),
  ]);
  const messages = [];
  for (const byte of bytes) {
    messages.push(...decoder.push(new Uint8Array([byte])));
  }
  assert.deepEqual(messages, [{ a: 1 }, { b: "two" }]);
  assert.equal(decoder.pending, 0);
});

Deno.test("FrameDecoder.push() grows from empty to hold a frame that comes in pieces", () => {
  const decoder = new FrameDecoder();
  const data = new Uint8Array(50_000).map((_, i) => i % 251);
  const bytes = new Uint8Array([
    ...encodeFrame({ data }),
    ...encodeFrame({ end: true }),
  ]);
  const messages = [];
  for (let at = 0; at < bytes.length; at += 1000) {
    messages.push(...decoder.push(bytes.subarray(at, at + 1000)));
  }
  assert.deepEqual(messages, [{ data }, { end: true }]);
  assert.equal(decoder.pending, 0);
});

Deno.test("FrameDecoder.push() decodes big frames gathered apart, however the stream is cut", async (t) => {
  const big = (n: number, seed: number) =>
    new Uint8Array(n).map((_, i) => (i * 7 + seed) % 256);
  const sent = [
    { data: big(300_000, 1) },
    { small: 1 },
    { data: big(65_536, 2) },
    { data: big(1 << 20, 3) },
    { end: true },
  ];
  const bytes = new Uint8Array(
    sent.flatMap((message) => [...encodeFrame(message)]),
  );
  for (const cut of [1, 997, 4096, 65_536, 300_009, bytes.length]) {
    await t.step(`in pieces of ${cut} bytes`, () => {
      const decoder = new FrameDecoder();
      const got = [];
      for (let at = 0; at < bytes.length; at += cut) {
        got.push(...decoder.push(bytes.subarray(at, at + cut)));
      }
      assert.deepEqual(got, sent);
      assert.equal(decoder.pending, 0);
    });
  }
});

Deno.test("FrameDecoder.space() takes a big frame's rest into the frame itself, which its message keeps", async (t) => {
  const data = new Uint8Array(300_000).map((_, i) => (i * 5) % 256);
  const sent = [{ small: 1 }, { data }, { data: data.subarray(7) }, {
    end: true,
  }];
  const bytes = new Uint8Array(
    sent.flatMap((message) => [...encodeFrame(message)]),
  );
  for (const cut of [1, 1000, 65_536, bytes.length]) {
    await t.step(`reads of up to ${cut} bytes`, () => {
      const decoder = new FrameDecoder();
      const got: Record<string, unknown>[] = [];
      const filled = new Set<ArrayBufferLike>();
      for (let at = 0; at < bytes.length;) {
        const room = decoder.space(1000);
        const count = Math.min(room.length, cut, bytes.length - at);
        room.set(bytes.subarray(at, at + count));
        filled.add(room.buffer);
        at += count;
        got.push(...decoder.commit(count));
      }
      assert.deepEqual(got, sent);
      assert.equal(decoder.pending, 0);
      // The big frames' bytes were read where their messages hold them.
      for (const message of got.filter((m) => m.data)) {
        assert.ok(filled.has((message.data as Uint8Array).buffer));
      }
    });
  }
});

Deno.test("FrameDecoder.recycle() gathers the next big frame in the buffer handed back, if it fits", () => {
  const decoder = new FrameDecoder();
  const receive = (message: Record<string, unknown>) => {
    const frame = encodeFrame(message);
    decoder.push(frame.subarray(0, 10));
    const [got] = decoder.push(frame.subarray(10));
    assert.deepEqual(got, message);
    return got.data as Uint8Array;
  };
  const first = receive({ offset: 1, data: new Uint8Array(100_000).fill(1) });
  decoder.recycle(first);
  // A few bytes more (a longer cursor) still fit: buffers have room to spare.
  const second = receive({
    offset: 2 ** 40,
    data: new Uint8Array(100_000).fill(2),
  });
  assert.equal(second.buffer, first.buffer);
  assert.equal(first.at(-1), 2, "overwritten");
  decoder.recycle(second);
  const bigger = receive({ data: new Uint8Array(200_000).fill(3) });
  assert.notEqual(bigger.buffer, second.buffer, "too small, not used");
  const next = receive({ data: new Uint8Array(100_000).fill(4) });
  assert.notEqual(next.buffer, second.buffer, "a spare serves one frame");
  assert.deepEqual(bigger, new Uint8Array(200_000).fill(3));
});

Deno.test("FrameDecoder.recycle() keeps several buffers, for a reader frames ahead of their consumer", () => {
  const decoder = new FrameDecoder();
  const receive = () => {
    const frame = encodeFrame({ data: new Uint8Array(100_000) });
    decoder.push(frame.subarray(0, 10));
    return decoder.push(frame.subarray(10))[0].data as Uint8Array;
  };
  const held = [receive(), receive(), receive()];
  for (const data of held) decoder.recycle(data);
  const buffers = held.map((data) => data.buffer);
  for (let i = 0; i < 3; i++) {
    assert.ok(buffers.includes(receive().buffer), `frame ${i + 1} reused one`);
  }
});

Deno.test("FrameDecoder.space() offers at least the room asked for, and no more than a big frame's rest", () => {
  const decoder = new FrameDecoder();
  assert.ok(decoder.space(100_000).length >= 100_000);
  const frame = encodeFrame({ data: new Uint8Array(200_000) });
  decoder.space(10).set(frame.subarray(0, 10));
  assert.deepEqual(decoder.commit(10), []);
  assert.equal(decoder.space(1 << 20).length, frame.length - 10);
});

Deno.test("FrameDecoder.takePending() hands over a big frame cut short, its header first", () => {
  const data = new Uint8Array(200_000).map((_, i) => i % 253);
  const frame = encodeFrame({ data });
  const decoder = new FrameDecoder();
  assert.deepEqual(decoder.push(frame.subarray(0, 70_000)), []);
  assert.deepEqual(decoder.push(frame.subarray(70_000, 150_000)), []);
  assert.equal(decoder.pending, 150_000);
  const rest = decoder.takePending();
  assert.deepEqual(rest, frame.subarray(0, 150_000));
  assert.equal(decoder.pending, 0);
  const next = new FrameDecoder();
  next.push(rest);
  assert.deepEqual(next.push(frame.subarray(150_000)), [{ data }]);
});

Deno.test("FrameDecoder.push() keeps earlier bin fields intact while its buffer is reused", () => {
  const decoder = new FrameDecoder();
  const first = new Uint8Array(100_000).fill(7);
  const [message] = decoder.push(encodeFrame({ data: first }));
  decoder.push(encodeFrame({ data: new Uint8Array(200_000).fill(9) }));
  assert.deepEqual(message.data, first);
});

Deno.test("FrameDecoder keeps a small frame's bin field intact when the next frame lands where it was", () => {
  const decoder = new FrameDecoder();
  const frame = encodeFrame({ ev: "output", data: new Uint8Array(64).fill(7) });
  decoder.space().set(frame);
  const [message] = decoder.commit(frame.length);
  // Emptied, the buffer takes the next frame at the same place.
  const next = encodeFrame({ ev: "output", data: new Uint8Array(64).fill(9) });
  decoder.space().set(next);
  const [later] = decoder.commit(next.length);
  assert.deepEqual(message.data, new Uint8Array(64).fill(7));
  assert.deepEqual(later.data, new Uint8Array(64).fill(9));
});

Deno.test("FrameDecoder.push() rejects frames over the limit", () => {
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, MAX_FRAME + 1);
  assert.throws(
    () => new FrameDecoder().push(header),
    /over the \d+ byte limit/,
  );
});

Deno.test("FrameDecoder.push() rejects a frame that is not a map", () => {
  const body = new Uint8Array([0x93, 1, 2, 3]);
  const frame = new Uint8Array([0, 0, 0, body.length, ...body]);
  assert.throws(() => new FrameDecoder().push(frame), /not a map/);
});

Deno.test("encodeFrame() prefixes the msgpack body with its big-endian length", () => {
  const frame = encodeFrame({ ok: true });
  const length = new DataView(frame.buffer).getUint32(0);
  assert.equal(length, frame.length - 4);
});

Deno.test("encodeFrame() writes a big bytes field as the encoder would", async (t) => {
  const { decode } = await import("@msgpack/msgpack");
  const cases: [string, Record<string, unknown>][] = [
    ["a 16-bit length", { id: 3, op: "fwrite", data: new Uint8Array(20_000) }],
    ["a 32-bit length", { data: new Uint8Array(300_000).fill(5), z: null }],
    [
      "sixteen other fields",
      Object.fromEntries([
        ...Array.from({ length: 16 }, (_, i) => [`k${i}`, i]),
        ["data", new Uint8Array(70_000).fill(1)],
      ]),
    ],
  ];
  for (const [name, message] of cases) {
    await t.step(name, () => {
      const frame = encodeFrame(message);
      const length = new DataView(frame.buffer).getUint32(0);
      assert.equal(length, frame.length - 4);
      assert.deepEqual(decode(frame.subarray(4)), message);
    });
  }
});
