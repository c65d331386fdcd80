import assert from "node:assert/strict";
import * as reference from "@msgpack/msgpack";
import { decode, encode } from "./msgpack.ts";

const text = (n: number) => "x".repeat(n);
const bytes = (n: number) => new Uint8Array(n).map((_, i) => i % 251);
const keys = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

/** Every size class of every type a frame holds. */
const VALUES: [string, unknown][] = [
  ["nil", null],
  ["false", false],
  ["true", true],
  ...[0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]
    .map((n): [string, unknown] => [`int ${n}`, n]),
  ...[-1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1]
    .map((n): [string, unknown] => [`int ${n}`, n]),
  ["int -(2^53 - 1)", -(2 ** 53 - 1)],
  ["float 0.5", 0.5],
  ["float -1e300", -1e300],
  ["unsafe integer 2^60", 2 ** 60],
  ...[0, 31, 32, 255, 256, 65535, 65536].map((
    n,
  ): [string, unknown] => [`str ${n}`, text(n)]),
  ["str utf-8", "héllo ✓ 𝄞"],
  ...[0, 255, 256, 65535, 65536].map((
    n,
  ): [string, unknown] => [`bin ${n}`, bytes(n)]),
  ...[0, 15, 16, 65535, 65536].map((
    n,
  ): [string, unknown] => [`array ${n}`, new Array(n).fill(1)]),
  ...[0, 15, 16, 65536].map((n): [string, unknown] => [`map ${n}`, keys(n)]),
  ["a frame", {
    op: "run",
    id: 7,
    session: "work",
    argv: ["make", "test"],
    data: bytes(40),
    nested: { ok: true, exit: -1, at: 1.5, none: null },
  }],
];

Deno.test("encode() writes the same bytes as @msgpack/msgpack for every type and size a frame holds", async (t) => {
  for (const [name, value] of VALUES) {
    await t.step(name, () => {
      assert.deepEqual(encode(value), reference.encode(value));
    });
  }
});

Deno.test("decode() reads what @msgpack/msgpack writes", async (t) => {
  for (const [name, value] of VALUES) {
    await t.step(name, () => {
      assert.deepEqual(decode(reference.encode(value)), value);
    });
  }
});

Deno.test("decode() reads the forms the helper writes and @msgpack/msgpack does not", () => {
  // framing.py writes a negative number below -32 as int64, and may send
  // float32 and the wide integer forms for small values.
  assert.equal(
    decode(
      new Uint8Array([0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xdf]),
    ),
    -33,
  );
  assert.equal(decode(new Uint8Array([0xca, 0x3f, 0xc0, 0, 0])), 1.5);
  assert.equal(
    decode(new Uint8Array([0xcf, 0, 0, 0, 1, 0, 0, 0, 2])),
    2 ** 32 + 2,
  );
  assert.equal(decode(new Uint8Array([0xd0, 0x80])), -128);
  assert.deepEqual(decode(new Uint8Array([0xdd, 0, 0, 0, 1, 0xc3])), [true]);
  assert.deepEqual(
    decode(new Uint8Array([0xdf, 0, 0, 0, 1, 0xa1, 0x61, 0xc0])),
    { a: null },
  );
});

Deno.test("decode() keeps a map key named __proto__ as a key, never the prototype", () => {
  const value = decode(
    new Uint8Array([
      0x81,
      0xa9,
      ...new TextEncoder().encode("__proto__"),
      0x81,
      0xa1,
      0x78,
      1,
    ]),
  ) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal((value as { x?: number }).x, undefined);
  assert.deepEqual(Object.keys(value), ["__proto__"]);
  assert.deepEqual(Object.getOwnPropertyDescriptor(value, "__proto__")?.value, {
    x: 1,
  });
});

Deno.test("decode() refuses cut, trailing, too deep and unknown input", async (t) => {
  await t.step("cut short", () => {
    assert.throws(() => decode(new Uint8Array([0xa3, 0x61])), /Truncated/);
    assert.throws(() => decode(new Uint8Array([0xcd, 1])), /Truncated/);
    assert.throws(() => decode(new Uint8Array([])), /Truncated/);
  });
  await t.step("bytes after the value", () => {
    assert.throws(
      () => decode(new Uint8Array([0xc0, 0xc0])),
      /after the msgpack value/,
    );
  });
  await t.step("nested too deep", () => {
    const deep = new Uint8Array(10_000).fill(0x91);
    assert.throws(() => decode(deep), /nested over/);
  });
  await t.step("extension types and reserved tags", () => {
    assert.throws(
      () => decode(new Uint8Array([0xd4, 1, 2])),
      /Unsupported msgpack type 0xd4/,
    );
    assert.throws(
      () => decode(new Uint8Array([0xc1])),
      /Unsupported msgpack type 0xc1/,
    );
  });
  await t.step("a map key that is no string or number", () => {
    assert.throws(() => decode(new Uint8Array([0x81, 0xc0, 0xc0])), /map key/);
  });
});

Deno.test("encode() refuses types the protocol does not carry", () => {
  assert.throws(() => encode(new Date(0)), /Cannot encode Date/);
  assert.throws(() => encode(new Map()), /Cannot encode Map/);
  assert.throws(() => encode(10n), /Cannot encode a bigint/);
  assert.throws(() => encode(new Int16Array(2)), /Cannot encode Int16Array/);
});

Deno.test("decode() gives bytes as views and text with U+FFFD for bad UTF-8", () => {
  const input = reference.encode({ b: bytes(3) });
  const value = decode(input) as { b: Uint8Array };
  assert.equal(value.b.buffer, input.buffer);
  assert.equal(decode(new Uint8Array([0xa2, 0x61, 0xff])), "a\ufffd");
});

Deno.test("decode() gives each short string its own text, however many there are", () => {
  // More strings than the decoder keeps: slots are shared and replaced.
  const words = Array.from({ length: 5000 }, (_, i) => `k${i}`);
  const map = Object.fromEntries(words.map((word) => [word, 0]));
  for (let round = 0; round < 2; round++) {
    const wrong = words.filter((word) => decode(encode(word)) !== word);
    assert.equal(wrong.length, 0, `decoded wrong: ${wrong.slice(0, 3)}`);
    const keys = Object.keys(decode(encode(map)) as object);
    const moved = keys.filter((key, i) => key !== words[i]);
    assert.equal(moved.length, 0, `keys decoded wrong: ${moved.slice(0, 3)}`);
  }
});
