/**
 * msgpack, as much of it as the protocol uses: nil, booleans, integers,
 * floats, strings, bytes, arrays and maps with string keys (the helper's
 * `framing.py` is the other side). No extension types.
 *
 * Written here rather than imported: `@msgpack/msgpack` is 43 KB of
 * JavaScript that every call parsed and compiled before its first frame,
 * for the few types a frame holds. Its encodings are the same, byte for
 * byte, for those types (`msgpack_test.ts` holds the two side by side).
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Strings up to this many bytes are tried as ASCII first. */
const SHORT_STRING = 32;

// deno-lint-ignore no-control-regex
const NOT_ASCII = /[^\x00-\x7f]/;

/** The encoding buffer's first size: a frame without bulk data fits. */
const OUTPUT_SIZE = 4096;

/** Deeper nesting than any frame has: a hostile frame cannot exhaust the stack. */
const MAX_DEPTH = 256;

/** Bytes written so far; grows by doubling. */
class Output {
  bytes = new Uint8Array(OUTPUT_SIZE);
  view = new DataView(this.bytes.buffer);
  length = 0;

  reserve(n: number): number {
    const at = this.length;
    if (at + n > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < at + n) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.bytes.subarray(0, at));
      this.bytes = next;
      this.view = new DataView(next.buffer);
    }
    this.length = at + n;
    return at;
  }

  // `reserve` first: it may replace `bytes`.
  byte(b: number): void {
    const at = this.reserve(1);
    this.bytes[at] = b;
  }

  /** A tag and its 8-, 16- or 32-bit unsigned size or value. */
  tagged(tag: number, n: number, width: 1 | 2 | 4): void {
    const at = this.reserve(1 + width);
    this.bytes[at] = tag;
    if (width === 1) this.bytes[at + 1] = n;
    else if (width === 2) this.view.setUint16(at + 1, n);
    else this.view.setUint32(at + 1, n);
  }

  /** The fix form (`fix | n`) up to `fixMax`, else the 8-, 16- or 32-bit tag. */
  header(n: number, fix: number, fixMax: number, tags: number[]): void {
    if (n <= fixMax) this.byte(fix | n);
    else if (tags[0] !== 0 && n < 0x100) this.tagged(tags[0], n, 1);
    else if (n < 0x10000) this.tagged(tags[1], n, 2);
    else this.tagged(tags[2], n, 4);
  }

  raw(data: Uint8Array): void {
    const at = this.reserve(data.length);
    this.bytes.set(data, at);
  }
}

// The 8-, 16- and 32-bit size tags of each kind (0: it has no 8-bit one),
// made once: an array literal per header was most of an encoding's garbage.
const STR_TAGS = [0xd9, 0xda, 0xdb];
const BIN_TAGS = [0xc4, 0xc5, 0xc6];
const ARRAY_TAGS = [0, 0xdc, 0xdd];
const MAP_TAGS = [0, 0xde, 0xdf];

/**
 * Short ASCII strings decoded lately, by a hash of their bytes: a frame's
 * keys and most of its short values (an event's name, the session's) are
 * the same frame after frame, and building each again char by char left a
 * string per char. A slot holds one string, replaced on a miss, so a host
 * sending ever new strings costs a compare each, never memory.
 */
const SHORT_STRINGS = new Array<string | undefined>(512);

function encodeInteger(out: Output, n: number): void {
  if (n >= 0) {
    if (n < 0x80) out.byte(n);
    else if (n < 0x100) out.tagged(0xcc, n, 1);
    else if (n < 0x10000) out.tagged(0xcd, n, 2);
    else if (n < 0x100000000) out.tagged(0xce, n, 4);
    else {
      const at = out.reserve(9);
      out.bytes[at] = 0xcf;
      out.view.setBigUint64(at + 1, BigInt(n));
    }
  } else if (n >= -32) out.byte(n & 0xff);
  else if (n >= -0x80) out.tagged(0xd0, n & 0xff, 1);
  else if (n >= -0x8000) out.tagged(0xd1, n & 0xffff, 2);
  else if (n >= -0x80000000) out.tagged(0xd2, n >>> 0, 4);
  else {
    const at = out.reserve(9);
    out.bytes[at] = 0xd3;
    out.view.setBigInt64(at + 1, BigInt(n));
  }
}

function encodeValue(out: Output, value: unknown, depth: number): void {
  if (depth > MAX_DEPTH) {
    throw new RangeError(`Too deeply nested to encode (over ${MAX_DEPTH})`);
  }
  if (value === null || value === undefined) out.byte(0xc0);
  else if (value === false) out.byte(0xc2);
  else if (value === true) out.byte(0xc3);
  else if (typeof value === "number") {
    if (Number.isSafeInteger(value)) encodeInteger(out, value);
    else {
      const at = out.reserve(9);
      out.bytes[at] = 0xcb;
      out.view.setFloat64(at + 1, value);
    }
  } else if (typeof value === "string") {
    if (value.length <= SHORT_STRING && !NOT_ASCII.test(value)) {
      out.header(value.length, 0xa0, 31, STR_TAGS);
      const at = out.reserve(value.length);
      for (let i = 0; i < value.length; i++) {
        out.bytes[at + i] = value.charCodeAt(i);
      }
      return;
    }
    const data = encoder.encode(value);
    out.header(data.length, 0xa0, 31, STR_TAGS);
    out.raw(data);
  } else if (value instanceof Uint8Array) {
    out.header(value.length, 0, -1, BIN_TAGS);
    out.raw(value);
  } else if (Array.isArray(value)) {
    out.header(value.length, 0x90, 15, ARRAY_TAGS);
    for (const item of value) encodeValue(out, item, depth + 1);
  } else if (typeof value === "object" && isRecord(value)) {
    const keys = Object.keys(value);
    out.header(keys.length, 0x80, 15, MAP_TAGS);
    for (const key of keys) {
      encodeValue(out, key, depth + 1);
      encodeValue(out, (value as Record<string, unknown>)[key], depth + 1);
    }
  } else {
    throw new TypeError(`Cannot encode ${describe(value)} as msgpack`);
  }
}

/** Objects that encode as a map of their own keys, as `@msgpack/msgpack`'s do. */
function isRecord(value: object): boolean {
  return !ArrayBuffer.isView(value) && !(value instanceof ArrayBuffer) &&
    !(value instanceof Date) && !(value instanceof Map) &&
    !(value instanceof Set);
}

function describe(value: unknown): string {
  return typeof value === "object"
    ? (value as object).constructor?.name ?? "an object"
    : `a ${typeof value}`;
}

/**
 * The msgpack encoding of `value`.
 *
 * @param value `null`, `undefined` (as nil), a boolean, a number, a string,
 *   a `Uint8Array`, or an array or object (its own keys) of those.
 * @param headroom Bytes left before the encoding, unset, for a header
 *   the caller writes there: a frame's length, without a second copy.
 * @returns Its bytes, after `headroom`.
 * @throws {TypeError} For any other type (a `Date`, a `Map`, a bigint,
 *   another typed array).
 *
 * @example
 * ```ts
 * import { encode } from "./msgpack.ts";
 * console.log(encode({ op: "ping" })); // Uint8Array(9) [129, 162, 111, 112, 164, 112, 105, 110, 103]
 * ```
 */
export function encode(value: unknown, headroom = 0): Uint8Array {
  // One buffer for every call (an encoding runs to its end without
  // yielding), let go of when a large value grew it.
  const out = shared;
  out.length = 0;
  out.reserve(headroom);
  try {
    encodeValue(out, value, 0);
    return out.bytes.slice(0, out.length);
  } finally {
    if (out.bytes.length > OUTPUT_SIZE * 16) shared = new Output();
  }
}

let shared = new Output();

/** Reads one value after another from `bytes`. */
class Input {
  at = 0;
  #view: DataView | undefined;

  /**
   * @param bytes The encoding.
   * @param copyBytes Whether `bin` values are copies, not views into `bytes`.
   */
  constructor(readonly bytes: Uint8Array, readonly copyBytes: boolean) {}

  /**
   * For floats and 64-bit integers only: most messages have none, and a
   * DataView per message was a good part of the garbage a frame left.
   */
  get view(): DataView {
    const bytes = this.bytes;
    return this.#view ??= new DataView(
      bytes.buffer,
      bytes.byteOffset,
      bytes.length,
    );
  }

  /** Moves past `n` bytes; returns where they start. */
  take(n: number): number {
    const at = this.at;
    if (at + n > this.bytes.length) {
      throw new RangeError(
        `Truncated msgpack: ${n} byte(s) needed at ${at} of ${this.bytes.length}`,
      );
    }
    this.at = at + n;
    return at;
  }

  /** An unsigned size of 1, 2 or 4 bytes. */
  size(width: 1 | 2 | 4): number {
    const at = this.take(width);
    const b = this.bytes;
    if (width === 1) return b[at];
    if (width === 2) return (b[at] << 8) | b[at + 1];
    return b[at] * 0x1000000 +
      ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) {
      throw new RangeError(`msgpack nested over ${MAX_DEPTH} deep`);
    }
    const tag = this.bytes[this.take(1)];
    if (tag < 0x80) return tag;
    if (tag >= 0xe0) return tag - 0x100;
    if (tag < 0x90) return this.map(tag & 0x0f, depth);
    if (tag < 0xa0) return this.array(tag & 0x0f, depth);
    if (tag < 0xc0) return this.string(tag & 0x1f);
    switch (tag) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.binary(this.size(1));
      case 0xc5:
        return this.binary(this.size(2));
      case 0xc6:
        return this.binary(this.size(4));
      case 0xca:
        return this.view.getFloat32(this.take(4));
      case 0xcb:
        return this.view.getFloat64(this.take(8));
      case 0xcc:
        return this.size(1);
      case 0xcd:
        return this.size(2);
      case 0xce:
        return this.size(4);
      case 0xcf: {
        const at = this.take(8);
        const view = this.view;
        return view.getUint32(at) * 0x100000000 + view.getUint32(at + 4);
      }
      case 0xd0:
        return (this.size(1) << 24) >> 24;
      case 0xd1:
        return (this.size(2) << 16) >> 16;
      case 0xd2:
        return this.size(4) | 0;
      case 0xd3: {
        const at = this.take(8);
        const view = this.view;
        return view.getInt32(at) * 0x100000000 + view.getUint32(at + 4);
      }
      case 0xd9:
        return this.string(this.size(1));
      case 0xda:
        return this.string(this.size(2));
      case 0xdb:
        return this.string(this.size(4));
      case 0xdc:
        return this.array(this.size(2), depth);
      case 0xdd:
        return this.array(this.size(4), depth);
      case 0xde:
        return this.map(this.size(2), depth);
      case 0xdf:
        return this.map(this.size(4), depth);
    }
    throw new RangeError(
      `Unsupported msgpack type 0x${tag.toString(16)} at ${this.at - 1}`,
    );
  }

  binary(n: number): Uint8Array {
    const at = this.take(n);
    return this.copyBytes
      ? this.bytes.slice(at, at + n)
      : this.bytes.subarray(at, at + n);
  }

  string(n: number): string {
    const at = this.take(n);
    // Keys and short values are ASCII: a loop beats a call into the runtime.
    if (n <= SHORT_STRING) {
      const bytes = this.bytes;
      let hash = n;
      for (let i = at; i < at + n; i++) {
        const b = bytes[i];
        if (b >= 0x80) return decoder.decode(bytes.subarray(at, at + n));
        hash = (Math.imul(hash, 31) + b) | 0;
      }
      const slot = hash & (SHORT_STRINGS.length - 1);
      const seen = SHORT_STRINGS[slot];
      if (seen !== undefined && sameAscii(seen, bytes, at, n)) return seen;
      let ascii = "";
      for (let i = at; i < at + n; i++) ascii += String.fromCharCode(bytes[i]);
      SHORT_STRINGS[slot] = ascii;
      return ascii;
    }
    return decoder.decode(this.bytes.subarray(at, at + n));
  }

  array(n: number, depth: number): unknown[] {
    const items: unknown[] = [];
    for (let i = 0; i < n; i++) items.push(this.value(depth + 1));
    return items;
  }

  map(n: number, depth: number): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== "string" && typeof key !== "number") {
        throw new RangeError(`Unsupported msgpack map key: ${typeof key}`);
      }
      // A key named `__proto__` (a hostile host's) stays a key: Deno has
      // no `Object.prototype.__proto__` setter (msgpack_test.ts checks).
      map[key] = this.value(depth + 1);
    }
    return map;
  }
}

/** Whether `text` is the `n` ASCII bytes of `bytes` at `at`. */
function sameAscii(
  text: string,
  bytes: Uint8Array,
  at: number,
  n: number,
): boolean {
  if (text.length !== n) return false;
  for (let i = 0; i < n; i++) {
    if (text.charCodeAt(i) !== bytes[at + i]) return false;
  }
  return true;
}

/**
 * The value `bytes` encode: exactly one, with nothing after it.
 *
 * Bytes (`bin`) come back as views into `bytes`, or copies with
 * `copyBytes`; strings that are not UTF-8 have U+FFFD where the bad bytes
 * were.
 *
 * @param bytes One msgpack value.
 * @param copyBytes Whether `bin` values are copies, for `bytes` that are
 *   reused once decoded (cheaper than copying all of them first).
 * @returns The value.
 * @throws {RangeError} When the bytes are cut short, have bytes after the
 *   value, nest too deep, or hold a type the protocol does not use.
 *
 * @example
 * ```ts
 * import { decode } from "./msgpack.ts";
 * console.log(decode(new Uint8Array([0x81, 0xa1, 0x61, 0x01]))); // { a: 1 }
 * ```
 */
export function decode(bytes: Uint8Array, copyBytes = false): unknown {
  const input = new Input(bytes, copyBytes);
  const value = input.value(0);
  if (input.at !== bytes.length) {
    throw new RangeError(
      `${bytes.length - input.at} byte(s) after the msgpack value`,
    );
  }
  return value;
}
