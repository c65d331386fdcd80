/**
 * Fetching ranges of a session's output buffer and turning them into the
 * bounded plain text agents read.
 *
 * @module
 */
import type { Connection, RequestOptions } from "../transport/connection.ts";
import type { Message } from "../protocol/frame.ts";
import { bytesField } from "./wire.ts";
import { renderText } from "../render/terminal_text.ts";
import { truncateMiddle } from "../render/truncate.ts";
import { concatBytes } from "../bytes.ts";
import { OPS } from "../contract/spec.ts";

/**
 * Default bound on the text `run`, `logs` and `wait` return: 100 KiB (head
 * and tail are kept). Pass `maxOutput` to change it.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_OUTPUT } from "@sessh/cli";
 * console.log(DEFAULT_MAX_OUTPUT); // 102400
 * ```
 */
export const DEFAULT_MAX_OUTPUT = 100 * 1024;

/**
 * Bytes asked for per read. Larger replies were measured slower on loopback
 * (15 MB/s at 4 MiB against 41 MB/s at 1 MiB): the daemon and the bridge
 * handle one reply as a whole, so smaller ones keep every stage busy.
 */
const READ_PART = 1024 * 1024;
/**
 * A range read whole is asked for in parts of this size, several at once:
 * one at a time, each part waits a round trip while the daemon idles, and
 * parts of 1 MiB and more cost the daemon fresh pages for every copy (56
 * MB/s at 1 MiB one by one, 160 MB/s at 256 KiB two at a time).
 */
const STREAM_PART = 256 * 1024;
/** How many parts of a range read whole are asked for ahead. */
const STREAM_AHEAD = 3;

/** A range of output as the daemon returned it. */
export interface OutputRange {
  /** The bytes. */
  data: Uint8Array;
  /** Absolute offset of the first byte returned. */
  start: number;
  /** Absolute offset just past the last byte returned: the next cursor. */
  end: number;
  /** Whether part of the range asked for had already been evicted. */
  evicted: boolean;
  /** The session's terminal size, when the daemon sends it with the read. */
  size: { cols: number; rows: number } | null;
  /**
   * Where the middle was left out (see `keep`): `data` is the head up to
   * this index, then the tail. Absent when `data` is the whole range.
   */
  splitAt?: number;
}

/**
 * How many bytes of a range's head and of its tail are kept when its text
 * will be bounded to `maxBytes`: more than the text can show (escape
 * sequences and overwritten lines take room), never the whole of a flood.
 *
 * @param maxBytes The bound on the text.
 * @returns Bytes to keep at each end.
 *
 * @example
 * ```ts
 * import { keepFor } from "./output.ts";
 * console.log(keepFor(100 * 1024)); // 204800
 * ```
 */
export function keepFor(maxBytes: number): number {
  return Math.max(2 * maxBytes, 64 * 1024);
}

/** Where to start reading: a cursor, or the last N lines. */
export type RangeStart =
  | { since: number; until?: number }
  | { lines: number }
  | {
    whole: true;
  };

/**
 * Reads a range of a session's output, in as many requests as it takes.
 * With `keep`, a range longer than twice that is read as its first and last
 * `keep` bytes only, so memory and transfer stay bounded whatever the
 * buffer holds.
 *
 * @param connection The daemon connection.
 * @param name Session name.
 * @param from Where to start (and optionally stop).
 * @param options How long each read may take; `keep`: bytes of head and
 *   tail to keep of a long range; `onChunk`: receives the bytes as they come
 *   instead (the result's `data` is then empty).
 * @returns The bytes and the cursor after them.
 */
export async function readRange(
  connection: Connection,
  name: string,
  from: RangeStart,
  options: RequestOptions & {
    keep?: number;
    onChunk?: (data: Uint8Array) => Promise<void>;
  } = {},
): Promise<OutputRange> {
  const keep = options.keep ?? Infinity;
  // Streamed: each piece goes to onChunk as it comes, none is kept.
  const take = async (data: Uint8Array) => {
    if (options.onChunk) await options.onChunk(data);
    else chunks.push(data);
  };
  const fields: Record<string, unknown> = { name };
  if ("since" in from) fields.since = from.since;
  if ("lines" in from) fields.lines = from.lines;
  const until = "since" in from ? from.until : undefined;
  if (until !== undefined) fields.until = until;
  // A long range's head is all that is kept of its start: ask for no more.
  fields.max = Math.min(keep, READ_PART);
  const chunks: Uint8Array[] = [];
  let reply = await connection.request(OPS.read, fields, options);
  const first = replyRange(reply);
  let { evicted, end } = first;
  const { start, size } = first;
  await take(first.data);
  const stop = until ?? Number(reply.buffer_end);
  let headBytes = first.data.length;
  let splitAt: number | undefined;
  if (keep === Infinity && end < stop && end > Number(reply.start)) {
    const rest = await readAhead(connection, name, end, stop, options, take);
    return {
      data: concatBytes(chunks),
      start,
      end: rest.end,
      evicted: evicted || rest.evicted,
      size,
    };
  }
  while (end < stop && bytesField(reply.data).length > 0) {
    let since = end;
    if (splitAt === undefined && stop - start > 2 * keep) {
      if (headBytes >= keep) {
        // The middle of a long range would be cut from the text anyway.
        splitAt = keep;
        chunks.splice(0, chunks.length, concatBytes(chunks).subarray(0, keep));
        since = stop - keep;
      }
    }
    reply = await connection.request(
      OPS.read,
      { name, since, until: stop, max: READ_PART },
      options,
    );
    // Output evicted between two reads leaves a gap: say so rather than join across it.
    if (reply.evicted) evicted = true;
    const data = bytesField(reply.data);
    await take(
      splitAt !== undefined && since !== end
        ? data.subarray(continuationBytes(data))
        : data,
    );
    headBytes += data.length;
    end = Number(reply.end);
  }
  return splitAt === undefined
    ? { data: concatBytes(chunks), start, end, evicted, size }
    : { data: concatBytes(chunks), start, end, evicted, size, splitAt };
}

/**
 * The output a reply carries (`read`'s, or `result`'s with its `output`), as
 * {@linkcode readRange} returns a range read in one request.
 *
 * @param reply The daemon's reply: `data`, `start`, `evicted`, and `cols`
 *   and `rows` when its helper sends the size.
 * @returns The range.
 *
 * @example
 * ```ts
 * import { replyRange } from "./output.ts";
 * const data = new Uint8Array([0x80, 0x41]);
 * console.log(replyRange({ data, start: 10, evicted: true }).start); // 11
 * ```
 */
export function replyRange(reply: Message): OutputRange {
  const data = bytesField(reply.data);
  // What is left after an eviction may begin inside a UTF-8 character.
  const skip = reply.evicted ? continuationBytes(data) : 0;
  const start = Number(reply.start);
  return {
    data: data.subarray(skip),
    start: start + skip,
    end: start + data.length,
    evicted: Boolean(reply.evicted),
    // An older helper does not send the size: the caller asks for it then.
    size: reply.cols != null
      ? { cols: Number(reply.cols), rows: Number(reply.rows) }
      : null,
  };
}

/**
 * Reads [from, stop) in parts, STREAM_AHEAD of them asked for ahead of the
 * one awaited, and hands each to `take` in order.
 */
async function readAhead(
  connection: Connection,
  name: string,
  from: number,
  stop: number,
  options: RequestOptions,
  take: (data: Uint8Array) => Promise<void>,
): Promise<{ end: number; evicted: boolean }> {
  const ask = (since: number) => {
    const reply = connection.request(OPS.read, {
      name,
      since,
      until: Math.min(stop, since + STREAM_PART),
      max: STREAM_PART,
    }, options);
    // Awaited in order; one that fails while an earlier one is awaited is
    // not left unhandled.
    reply.catch(() => {});
    return reply;
  };
  const asked: Promise<Message>[] = [];
  let next = from;
  let end = from;
  let evicted = false;
  while (end < stop) {
    while (asked.length <= STREAM_AHEAD && next < stop) {
      asked.push(ask(next));
      next += STREAM_PART;
    }
    const reply = await asked.shift()!;
    // Output evicted meanwhile leaves a gap: the part holds what remains.
    if (reply.evicted) evicted = true;
    await take(bytesField(reply.data));
    end = Math.max(end, Number(reply.end));
    if (asked.length === 0 && next >= stop) break;
  }
  return { end, evicted };
}

// zsh marks output that lacks a final newline with a reverse-video "%"/"#"
// and clears it with "\r \r" before the prompt (PROMPT_SP); that belongs to
// the prompt, not to the command's output.
const ZSH_PROMPT_SP =
  // deno-lint-ignore no-control-regex
  /(?:\x1b\[1m\x1b\[7m[%#]\x1b\[27m\x1b\[1m\x1b\[0m)? *\r \r$/;
const LATIN1 = new TextDecoder("latin1");

/**
 * Removes the tail zsh prints before every prompt from a command's output.
 *
 * @param data Output bytes ending where the prompt began.
 * @returns The bytes without zsh's PROMPT_SP tail.
 *
 * @example
 * ```ts
 * import { stripPromptTail } from "./output.ts";
 * const raw = new TextEncoder().encode("hi\r\n\x1b[1m\x1b[7m%\x1b[27m\x1b[1m\x1b[0m    \r \r");
 * console.log(JSON.stringify(new TextDecoder().decode(stripPromptTail(raw)))); // "hi\r\n"
 * ```
 */
export function stripPromptTail(data: Uint8Array): Uint8Array {
  const n = data.length;
  // The tail ends with "\r \r": output that does not is left as it is
  // without being decoded, as a run's almost always is.
  if (n < 3 || data[n - 1] !== 13 || data[n - 2] !== 32 || data[n - 3] !== 13) {
    return data;
  }
  const tailStart = Math.max(0, n - 1200);
  const tail = LATIN1.decode(data.subarray(tailStart));
  const match = ZSH_PROMPT_SP.exec(tail);
  return match ? data.subarray(0, tailStart + match.index) : data;
}

/**
 * Collects streamed output for text bounded later: the first `keep` bytes
 * and the last `keep`, whatever went by in between.
 *
 * @example
 * ```ts
 * import { BoundedCollector } from "./output.ts";
 * const seen = new BoundedCollector(4);
 * seen.push(new TextEncoder().encode("abcdefghij"));
 * const { data, splitAt } = seen.take();
 * console.log(new TextDecoder().decode(data), splitAt); // "abcdghij" 4
 * ```
 */
export class BoundedCollector {
  #keep: number;
  #head: Uint8Array[] = [];
  #headBytes = 0;
  #tail: Uint8Array[] = [];
  #tailBytes = 0;
  /** Bytes pushed in all. */
  bytes = 0;

  /** @param keep Bytes kept at each end. */
  constructor(keep: number) {
    this.#keep = keep;
  }

  /** @param data The next piece of output. */
  push(data: Uint8Array): void {
    this.bytes += data.length;
    if (this.#headBytes < this.#keep) {
      const take = Math.min(data.length, this.#keep - this.#headBytes);
      this.#head.push(data.subarray(0, take));
      this.#headBytes += take;
      data = data.subarray(take);
    }
    if (data.length === 0) return;
    this.#tail.push(data);
    this.#tailBytes += data.length;
    while (this.#tailBytes - this.#tail[0].length >= this.#keep) {
      this.#tailBytes -= this.#tail.shift()!.length;
    }
  }

  /**
   * @returns The bytes kept, and where the head ends when bytes were left
   *   out between head and tail.
   */
  take(): { data: Uint8Array; splitAt?: number } {
    let tail = concatBytes(this.#tail);
    const dropped = this.bytes - this.#headBytes - tail.length;
    if (tail.length > this.#keep) {
      tail = tail.subarray(tail.length - this.#keep);
      // Cut inside a character: start at the next whole one.
      tail = tail.subarray(continuationBytes(tail));
    }
    const data = concatBytes([...this.#head, tail]);
    return dropped > 0 || tail.length < this.#tailBytes
      ? { data, splitAt: this.#headBytes }
      : { data };
  }
}

/** Plain text ready for an agent, with how much was left out. */
export interface BoundedText {
  /** The text (head and tail when truncated). */
  text: string;
  /** Whether the middle was left out. */
  truncated: boolean;
}

/**
 * Renders output bytes as terminal text and bounds its size, keeping the
 * head and the tail.
 *
 * @param data Output bytes.
 * @param cols Terminal width the output was written for.
 * @param maxBytes Largest text to return.
 * @param lines Keep only the last N lines.
 * @param splitAt Where `data` skips from its head to its tail (see
 *   {@linkcode readRange}): the two are rendered apart.
 * @returns The bounded text.
 */
export async function boundedText(
  data: Uint8Array,
  cols: number,
  maxBytes: number,
  lines?: number,
  splitAt?: number,
): Promise<BoundedText> {
  if (splitAt !== undefined) {
    const head = await renderText(data.subarray(0, splitAt), { cols });
    const tail = await renderText(data.subarray(splitAt), { cols });
    const joined = truncateMiddle(head + tail, maxBytes);
    return { text: joined.text, truncated: true };
  }
  // Rendering costs memory per terminal row; beyond a few MiB only the part
  // that can survive truncation matters, so render the head and the tail.
  const limit = Math.max(4 * maxBytes, 4 * 1024 * 1024);
  if (data.length > limit && lines === undefined) {
    const half = Math.floor(limit / 2);
    const head = await renderText(data.subarray(0, half), { cols });
    const tail = await renderText(data.subarray(data.length - half), { cols });
    const joined = truncateMiddle(head + tail, maxBytes);
    return { text: joined.text, truncated: true };
  }
  const text = await renderText(data, { cols, lines });
  const bounded = truncateMiddle(text, maxBytes);
  return { text: bounded.text, truncated: bounded.truncated };
}

/** How many UTF-8 continuation bytes (at most 3) `data` starts with. */
function continuationBytes(data: Uint8Array): number {
  let n = 0;
  while (n < 3 && n < data.length && (data[n] & 0xc0) === 0x80) n++;
  return n;
}
