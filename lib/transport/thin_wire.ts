/**
 * The wire of a thin call: the request a thin client (`lib/cli/thin_client.ts`)
 * sends the local agent, and the records the agent streams back (stdout and
 * stderr bytes, in order, then the exit code). It imports nothing, so that
 * the client loads no msgpack: the request is one frame of the agent's own
 * framing (a 4-byte length and a msgpack map) whose few strings are written
 * here, and the reply is records of a byte's kind, a 4-byte length and the
 * bytes.
 *
 * @module
 */

/** What a thin client asks the agent to run. */
export interface ThinCall {
  /** The arguments after the program name. */
  argv: string[];
  /** The caller's environment. */
  env: Record<string, string>;
  /** The caller's working directory (absolute). */
  cwd: string;
  /** Whether the caller's stdout is a terminal. */
  stdoutTerminal: boolean;
  /** Whether the caller's stderr is a terminal. */
  stderrTerminal: boolean;
  /** The caller's terminal width, when it has one. */
  columns: number | null;
  /**
   * The caller's umask, for a call that makes local files (`cp`): the agent
   * runs it only under the same one.
   */
  umask?: number;
  /**
   * The width of the caller's terminal on stderr, for a copy that draws its
   * progress bar there (stderr a terminal, no `--json`).
   */
  barColumns?: number;
}

/**
 * The byte a thin client sends the agent when a signal stops it: the
 * signal's number, so that the call ends as the command line's would
 * (a follow with 0, a copy with 128 + the number). Anything else reads
 * as SIGINT.
 */
export const STOP_BYTE = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/** A signal a thin client passes on. */
export type StopName = keyof typeof STOP_BYTE;

/**
 * The signal a stop byte names.
 *
 * @param byte What the client sent.
 * @returns The signal's name.
 *
 * @example
 * ```ts
 * import { stopNameOf } from "./thin_wire.ts";
 * console.log(stopNameOf(15), stopNameOf(3)); // "SIGTERM" "SIGINT"
 * ```
 */
export function stopNameOf(byte: number): StopName {
  return byte === STOP_BYTE.SIGHUP
    ? "SIGHUP"
    : byte === STOP_BYTE.SIGTERM
    ? "SIGTERM"
    : "SIGINT";
}

/** The kinds of the agent's records. */
export const RECORD = {
  /** Bytes for the caller's stdout. */
  stdout: 1,
  /** Bytes for the caller's stderr. */
  stderr: 2,
  /** The exit code, one byte; the last record. */
  exit: 3,
  /** The agent does not run this call (a reason follows): nothing was done. */
  decline: 4,
  /** The call's deadline, 4 bytes of milliseconds from now. */
  deadline: 5,
  /**
   * Nothing: the agent still runs the call. It comes every
   * {@linkcode ALIVE_MS}, so that a call with no end of its own (a
   * follow) can tell a quiet session from a stuck agent.
   */
  alive: 6,
} as const;

/** How often the agent says a call it runs is alive. */
export const ALIVE_MS = 10_000;

/** A record's kind. */
export type RecordKind = typeof RECORD[keyof typeof RECORD];

/** One record of the agent's reply. */
export interface ThinRecord {
  /** Its kind. */
  kind: RecordKind;
  /** Its bytes. */
  bytes: Uint8Array;
}

/** The largest record either side makes or takes: output is split below it. */
export const MAX_RECORD = 1 << 20;

const encoder = new TextEncoder();

/** A msgpack string: its header and its UTF-8 bytes. */
function msgpackString(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  const n = bytes.length;
  const head = n < 32
    ? [0xa0 | n]
    : n < 0x100
    ? [0xd9, n]
    : n < 0x10000
    ? [0xda, n >> 8, n & 0xff]
    : [0xdb, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(head.length + n);
  out.set(head);
  out.set(bytes, head.length);
  return out;
}

/**
 * The request's frame: `{op: "call", version, call}`, `call` being the
 * {@linkcode ThinCall} as JSON text.
 *
 * @param version The client's agent identity (`agentIdentity()`).
 * @param call What to run.
 * @returns The frame's bytes, length first.
 *
 * @example
 * ```ts
 * import { encodeCallRequest } from "./thin_wire.ts";
 * const frame = encodeCallRequest("4/1/abc x", {
 *   argv: ["status", "work", "box"], env: {}, cwd: "/",
 *   stdoutTerminal: false, stderrTerminal: false, columns: null,
 * });
 * console.log(frame.length > 4); // true
 * ```
 */
export function encodeCallRequest(version: string, call: ThinCall): Uint8Array {
  const parts = [
    Uint8Array.of(0x83),
    msgpackString("op"),
    msgpackString("call"),
    msgpackString("version"),
    msgpackString(version),
    msgpackString("call"),
    msgpackString(JSON.stringify(call)),
  ];
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const frame = new Uint8Array(4 + length);
  new DataView(frame.buffer).setUint32(0, length);
  let at = 4;
  for (const part of parts) {
    frame.set(part, at);
    at += part.length;
  }
  return frame;
}

/**
 * One record's bytes.
 *
 * @param kind Its kind.
 * @param bytes Its bytes, at most {@linkcode MAX_RECORD}.
 * @returns The record, kind and length first.
 *
 * @example
 * ```ts
 * import { encodeRecord, RECORD } from "./thin_wire.ts";
 * console.log(encodeRecord(RECORD.exit, Uint8Array.of(0)).length); // 6
 * ```
 */
export function encodeRecord(kind: RecordKind, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + bytes.length);
  out.set(recordHead(kind, bytes.length));
  out.set(bytes, 5);
  return out;
}

/**
 * A record's header alone, for output sent behind it as it is, with no
 * copy into a record of its own.
 *
 * @param kind Its kind.
 * @param length The length of its bytes, at most {@linkcode MAX_RECORD}.
 * @returns The 5 bytes of its kind and length.
 *
 * @example
 * ```ts
 * import { RECORD, recordHead } from "./thin_wire.ts";
 * console.log(recordHead(RECORD.stdout, 258)); // Uint8Array(5) [ 1, 0, 0, 1, 2 ]
 * ```
 */
export function recordHead(kind: RecordKind, length: number): Uint8Array {
  const head = new Uint8Array(5);
  head[0] = kind;
  new DataView(head.buffer).setUint32(1, length);
  return head;
}

/**
 * Splits a stream of records as its bytes arrive, however they are cut.
 * Output (stdout and stderr) comes in parts, as its bytes do: a part is a
 * view of the chunk pushed, valid until the chunk's buffer is read into
 * again, so that a flood reaches its stream with no copy and no wait for
 * the rest of a record of a MiB. The other kinds come whole.
 *
 * @example
 * ```ts
 * import { encodeRecord, RECORD, RecordReader } from "./thin_wire.ts";
 * const reader = new RecordReader();
 * const bytes = encodeRecord(RECORD.exit, Uint8Array.of(0));
 * console.log(reader.push(bytes.subarray(0, 3)).length); // 0
 * console.log(reader.push(bytes.subarray(3))[0].kind); // 3
 * ```
 */
export class RecordReader {
  /** The header being read, and how much of it came. */
  #head = new Uint8Array(5);
  #headFilled = 0;
  /** The record being read: its kind, and how many of its bytes are due. */
  #kind: RecordKind = RECORD.stdout;
  #due = 0;
  /** A record that comes whole, as it fills. */
  #whole: Uint8Array | null = null;

  /**
   * Takes the next bytes of the stream.
   *
   * @param chunk The bytes.
   * @returns The records they complete, and the parts of output they hold.
   * @throws {RangeError} on a record of an unknown kind or over
   *   {@linkcode MAX_RECORD}: the stream is not the agent's.
   */
  push(chunk: Uint8Array): ThinRecord[] {
    const records: ThinRecord[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#due === 0) {
        const take = Math.min(5 - this.#headFilled, chunk.length - at);
        this.#head.set(chunk.subarray(at, at + take), this.#headFilled);
        this.#headFilled += take;
        at += take;
        if (this.#headFilled < 5) break;
        this.#headFilled = 0;
        this.#begin(records);
        continue;
      }
      const take = Math.min(this.#due, chunk.length - at);
      const bytes = chunk.subarray(at, at + take);
      at += take;
      this.#due -= take;
      if (this.#whole === null) {
        records.push({ kind: this.#kind, bytes });
        continue;
      }
      this.#whole.set(bytes, this.#whole.length - this.#due - take);
      if (this.#due === 0) {
        records.push({ kind: this.#kind, bytes: this.#whole });
        this.#whole = null;
      }
    }
    return records;
  }

  /** Starts the record whose header was read. */
  #begin(records: ThinRecord[]): void {
    const kind = this.#head[0];
    const length = new DataView(this.#head.buffer).getUint32(1);
    if (kind < RECORD.stdout || kind > RECORD.alive) {
      throw new RangeError(`A record of unknown kind ${kind}`);
    }
    if (length > MAX_RECORD) {
      throw new RangeError(`A record of ${length} bytes, over ${MAX_RECORD}`);
    }
    this.#kind = kind as RecordKind;
    this.#due = length;
    const output = kind === RECORD.stdout || kind === RECORD.stderr;
    if (length === 0) {
      records.push({ kind: this.#kind, bytes: new Uint8Array() });
    } else if (!output) this.#whole = new Uint8Array(length);
  }

  /** Whether part of a record is held: the stream ended mid-record. */
  get partial(): boolean {
    return this.#headFilled > 0 || this.#due > 0;
  }
}
