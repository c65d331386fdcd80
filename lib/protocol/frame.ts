/**
 * Framing of the wire protocol: a 4-byte big-endian length, then a msgpack
 * map. Both ends refuse frames over {@linkcode MAX_FRAME} bytes.
 *
 * @module
 */
import { decode, encode } from "./msgpack.ts";
import { SesshError } from "../errors.ts";
import { MAX_FRAME } from "../contract/spec.ts";

/** Largest frame body either side accepts, in bytes (the contract's). */
export { MAX_FRAME };

/** The smallest buffer a decoder grows to; it doubles from there. */
const MIN_BUFFER = 4096;
/**
 * A frame at least this large that a push does not complete is gathered in
 * a buffer of its own, a little over its size, which its decoded message then
 * keeps: its bytes are copied once, not into the shared buffer and out again
 * (that copy, of every megabyte a download or a follow brought, was the
 * command line's largest cost after the reads themselves). Read through
 * {@linkcode FrameDecoder.space}, the rest of it is not copied at all.
 */
const OWN_FRAME = 64 * 1024;
/**
 * A big frame's own buffer is made a little larger than the frame, to the
 * next page: the frames of a flood differ by a few bytes (their cursors),
 * and a buffer handed back ({@linkcode FrameDecoder.recycle}) serves the
 * next one only if it fits.
 */
const FRAME_PAGE = 4096;
/**
 * How many buffers handed back a decoder keeps: a paced reader runs up to
 * a mailbox's 8 MiB (32 frames of a flood) ahead of their consumer, and
 * gathers each in one of them, not in new memory (whose clearing and page
 * faults were most of what a frame cost). Only a consumer that hands its
 * buffers back fills them.
 */
const FRAME_SPARES = 32;

/** A decoded frame: always a map with string keys. */
export type Message = Record<string, unknown>;

/**
 * Encodes one message as a length-prefixed msgpack frame.
 *
 * @param message The map to send.
 * @returns The frame bytes.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./frame.ts";
 * const bytes = encodeFrame({ id: 1, op: "hello" });
 * console.log(bytes.length > 4); // true
 * ```
 */
export function encodeFrame(message: Message): Uint8Array {
  const big = bigBytesField(message);
  if (big !== undefined) return encodeWithBytes(message, big);
  const frame = encode(message, 4);
  const size = frame.length - 4;
  checkSize(size);
  frame[0] = size >>> 24;
  frame[1] = (size >>> 16) & 0xff;
  frame[2] = (size >>> 8) & 0xff;
  frame[3] = size & 0xff;
  return frame;
}

/**
 * A byte field this large goes into the frame by one copy of its own: the
 * encoder would copy it into a buffer it grows by doubling, then the frame
 * would copy that again, and for the parts of a file or a log (256 KiB
 * each) those copies cost more CPU than the rest of the path.
 */
const BIG_BYTES = 16 * 1024;

function bigBytesField(message: Message): string | undefined {
  for (const key in message) {
    const value = message[key];
    if (value instanceof Uint8Array && value.length >= BIG_BYTES) return key;
  }
  return undefined;
}

/** The frame of `message`, its field `key` (bytes) written after the rest. */
function encodeWithBytes(message: Message, key: string): Uint8Array {
  const data = message[key] as Uint8Array;
  const rest: Message = {};
  let count = 1;
  for (const name in message) {
    if (name === key) continue;
    rest[name] = message[name];
    count++;
  }
  // The rest encodes as a map header (a fixmap byte, or 0xde and a 16-bit
  // count) and its pairs; the header is written anew with one more pair.
  const restBody = encode(rest);
  const pairs = restBody.subarray(restBody[0] === 0xde ? 3 : 1);
  const header = count < 16 ? [0x80 | count] : [0xde, count >> 8, count & 0xff];
  const name = encode(key);
  const binHeader = data.length < 0x10000 ? 3 : 5;
  const size = header.length + pairs.length + name.length + binHeader +
    data.length;
  checkSize(size);
  const frame = new Uint8Array(4 + size);
  const view = new DataView(frame.buffer);
  view.setUint32(0, size);
  let at = 4;
  frame.set(header, at);
  at += header.length;
  frame.set(pairs, at);
  at += pairs.length;
  frame.set(name, at);
  at += name.length;
  if (binHeader === 3) {
    frame[at] = 0xc5;
    view.setUint16(at + 1, data.length);
  } else {
    frame[at] = 0xc6;
    view.setUint32(at + 1, data.length);
  }
  frame.set(data, at + binHeader);
  return frame;
}

function checkSize(size: number): void {
  if (size > MAX_FRAME) {
    throw new SesshError(
      "protocol",
      `Message of ${size} bytes exceeds the ${MAX_FRAME} byte frame limit`,
    );
  }
}

/**
 * Splits a byte stream into messages, across chunk boundaries.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameDecoder } from "./frame.ts";
 * const decoder = new FrameDecoder();
 * const frame = encodeFrame({ ok: true });
 * console.log(decoder.push(frame.subarray(0, 3))); // []
 * console.log(decoder.push(frame.subarray(3))); // [{ ok: true }]
 * ```
 */
export class FrameDecoder {
  // Empty until bytes arrive: the local agent keeps a decoder per pooled
  // bridge, idle for hours, and ten 64 KiB buffers were 0.6 MB of its RSS.
  #buffer = new Uint8Array(0);
  #start = 0;
  #end = 0;
  // A big frame being gathered (see OWN_FRAME), and how much of it came.
  #frame: Uint8Array | null = null;
  #frameAt = 0;
  // Big frames' buffers handed back by those who held their messages.
  #spares: ArrayBuffer[] = [];

  /**
   * Adds bytes and returns every message they complete.
   *
   * @param chunk Bytes read from the stream.
   * @returns The complete messages, in order.
   */
  push(chunk: Uint8Array): Message[] {
    const messages: Message[] = [];
    let used = 0;
    if (this.#frame !== null) {
      used = this.#fill(chunk, messages);
      if (this.#frame !== null) return messages;
    }
    this.#append(used ? chunk.subarray(used) : chunk);
    this.#split(messages);
    return messages;
  }

  /**
   * Room for the next read to fill, so that bytes go from the stream
   * straight to where they are decoded: the rest of a big frame being
   * gathered (a read then never runs past it), else the free end of the
   * decoder's buffer. Hand what the read put there to
   * {@linkcode FrameDecoder.commit} before asking again.
   *
   * @param min The least room to offer outside a big frame.
   * @returns A view to read into.
   *
   * @example
   * ```ts
   * import { encodeFrame, FrameDecoder } from "./frame.ts";
   * const decoder = new FrameDecoder();
   * const frame = encodeFrame({ ok: true });
   * decoder.space().set(frame);
   * console.log(decoder.commit(frame.length)); // [{ ok: true }]
   * ```
   */
  space(min: number = MIN_BUFFER): Uint8Array {
    if (this.#frame !== null) return this.#frame.subarray(this.#frameAt);
    this.#reserve(min);
    return this.#buffer.subarray(this.#end);
  }

  /**
   * Takes the bytes a read put at the start of {@linkcode FrameDecoder.space}.
   *
   * @param count How many bytes the read put there.
   * @returns The messages they complete, in order.
   */
  commit(count: number): Message[] {
    const messages: Message[] = [];
    if (this.#frame !== null) {
      this.#gathered(count, messages);
      return messages;
    }
    this.#end += count;
    this.#split(messages);
    return messages;
  }

  /** Takes the whole frames out of the buffer; a big one begun moves out. */
  #split(messages: Message[]): void {
    const buffer = this.#buffer;
    while (this.#end - this.#start >= 4) {
      const at = this.#start;
      const size = buffer[at] * 0x1000000 +
        ((buffer[at + 1] << 16) | (buffer[at + 2] << 8) | buffer[at + 3]);
      if (size > MAX_FRAME) {
        throw new SesshError(
          "protocol",
          `Received a frame of ${size} bytes, over the ${MAX_FRAME} byte limit; the helper is not speaking sessh's protocol`,
        );
      }
      if (this.#end - this.#start < 4 + size) {
        // Incomplete, so every byte held belongs to it.
        if (size >= OWN_FRAME) {
          this.#frame = this.#frameBuffer(size);
          this.#frame.set(this.#buffer.subarray(this.#start + 4, this.#end));
          this.#frameAt = this.#end - this.#start - 4;
          this.#start = this.#end = 0;
        }
        break;
      }
      // Bin fields are copied out: this buffer is reused for the next
      // frames. Most frames (replies, a command's start and end) have none
      // or a small one, so the frame itself is not copied.
      messages.push(
        decodeMap(buffer.subarray(at + 4, at + 4 + size), true),
      );
      this.#start += 4 + size;
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /**
   * Takes back the buffer of a big frame's message, to gather a later frame
   * in: a flood then reuses a few buffers instead of asking for fresh,
   * zeroed memory (and its page faults) for every frame. Only the sole
   * holder of every view of that buffer may hand it back, once done with
   * them: the next big frame overwrites it.
   *
   * @param bytes A view into the buffer (a bin field of the message).
   *
   * @example
   * ```ts
   * import { encodeFrame, FrameDecoder } from "./frame.ts";
   * const decoder = new FrameDecoder();
   * const frame = encodeFrame({ data: new Uint8Array(100_000) });
   * const [first] = decoder.push(frame.subarray(0, 10)).concat(
   *   decoder.push(frame.subarray(10)),
   * );
   * const data = first.data as Uint8Array;
   * decoder.recycle(data);
   * decoder.push(frame.subarray(0, 10));
   * const [second] = decoder.push(frame.subarray(10));
   * console.log((second.data as Uint8Array).buffer === data.buffer); // true
   * ```
   */
  recycle(bytes: Uint8Array): void {
    if (
      bytes.buffer instanceof ArrayBuffer &&
      bytes.buffer.byteLength >= OWN_FRAME &&
      this.#spares.length < FRAME_SPARES
    ) this.#spares.push(bytes.buffer);
  }

  /** A big frame's buffer: the one handed back if it fits, else a new one. */
  #frameBuffer(size: number): Uint8Array {
    const spare = this.#spares.pop();
    if (spare && spare.byteLength >= size) {
      return new Uint8Array(spare, 0, size);
    }
    const room = Math.ceil((size + 1) / FRAME_PAGE) * FRAME_PAGE;
    return new Uint8Array(new ArrayBuffer(room), 0, size);
  }

  /** Bytes received that do not yet form a whole frame. */
  get pending(): number {
    return this.#end - this.#start +
      (this.#frame === null ? 0 : 4 + this.#frameAt);
  }

  /** Adds the chunk's start to the big frame; returns the bytes it took. */
  #fill(chunk: Uint8Array, messages: Message[]): number {
    const frame = this.#frame!;
    const taken = Math.min(frame.length - this.#frameAt, chunk.length);
    frame.set(chunk.subarray(0, taken), this.#frameAt);
    this.#gathered(taken, messages);
    return taken;
  }

  /** Counts `count` more bytes of the big frame; decodes it once whole. */
  #gathered(count: number, messages: Message[]): void {
    const frame = this.#frame!;
    this.#frameAt += count;
    if (this.#frameAt === frame.length) {
      this.#frame = null;
      this.#frameAt = 0;
      messages.push(decodeMap(frame));
    }
  }

  /**
   * Hands over the bytes that do not yet form a whole frame and forgets
   * them, for a reader that continues the stream elsewhere.
   *
   * @returns A copy of those bytes.
   */
  takePending(): Uint8Array {
    if (this.#frame !== null) {
      // While a big frame is gathered, the shared buffer is empty.
      const rest = new Uint8Array(4 + this.#frameAt);
      new DataView(rest.buffer).setUint32(0, this.#frame.length);
      rest.set(this.#frame.subarray(0, this.#frameAt), 4);
      this.#frame = null;
      this.#frameAt = 0;
      return rest;
    }
    const rest = this.#buffer.slice(this.#start, this.#end);
    this.#start = this.#end = 0;
    return rest;
  }

  // Amortised O(n): compact or double instead of concatenating per chunk.
  #append(chunk: Uint8Array): void {
    this.#reserve(chunk.length);
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Makes room for `count` more bytes at the buffer's end. */
  #reserve(count: number): void {
    const used = this.#end - this.#start;
    if (this.#end + count <= this.#buffer.length) return;
    let size = Math.max(this.#buffer.length, MIN_BUFFER);
    while (size < used + count) size *= 2;
    const next = size === this.#buffer.length
      ? this.#buffer
      : new Uint8Array(size);
    next.set(this.#buffer.subarray(this.#start, this.#end), 0);
    this.#buffer = next;
    this.#start = 0;
    this.#end = used;
  }
}

/** A frame's body decoded: a map, or the stream is not sessh's protocol. */
function decodeMap(body: Uint8Array, copyBytes = false): Message {
  const value = decode(body, copyBytes);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SesshError("protocol", "Received a frame that is not a map");
  }
  return value as Message;
}
