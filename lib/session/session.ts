/**
 * `Session`: what an agent does with one named session — run a command and
 * wait for it, type, press keys, read output and the screen, wait for
 * output, inspect and close.
 *
 * @module
 */
import {
  openFields,
  type OpenOptions,
  type OpenResult,
  openSession,
} from "./open.ts";
import type { Connection } from "./connection.ts";
import type { Destination } from "../ssh/destination.ts";
import { sessionInfo } from "./wire.ts";
import { bytesField } from "./wire.ts";
import {
  BoundedCollector,
  boundedText,
  keepFor,
  readRange,
  stripPromptTail,
} from "./output.ts";
import { keysToBytes } from "./keys.ts";
import { daemonPattern } from "./pattern.ts";
import type { Message } from "../protocol/frame.ts";
import type { SessionInfo } from "../types.ts";
import {
  CommandFailedError,
  ConnectionLostError,
  SesshError,
  TimeoutError,
  UsageError,
} from "../errors.ts";
import { sh, type ShellValue } from "./shell_quote.ts";
import { renderScreen, type Screen } from "../render/screen.ts";
import { AnsiStripper } from "../render/ansi_strip.ts";
import { preloadRenderer } from "../render/terminal_text.ts";

/** Default bound on the text `run`, `logs` and `wait` return: 100 KiB. */
export const DEFAULT_MAX_OUTPUT = 100 * 1024;

/**
 * How long the last request of a call that ran out of time may take. It
 * doubles as the proof that the link works, and keeps every call within its
 * deadline plus 2 s.
 */
const FINAL_READ_MS = 1500;
/** Input goes in parts of this size, each answered once the terminal took it. */
const SEND_PART = 1024 * 1024;
/** How long the daemon may take to answer for one part: it gives up after 30 s without progress. */
const INPUT_REPLY_MS = 40_000;
/** Characters of earlier output a `wait --for` match may span. */
const MATCH_OVERLAP = 64 * 1024;

/** How long after the daemon's own deadline its answer may still come. */
const REPLY_MARGIN_MS = 2000;

/**
 * Whether an error means the link failed, rather than the daemon refusing
 * or dying (a dead daemon took the session with it: nothing runs on).
 */
function isLinkFailure(error: SesshError): boolean {
  return error instanceof ConnectionLostError || error instanceof TimeoutError;
}

/**
 * What a session handle needs of the client that made it: the connection,
 * what the daemon can do, and the destination its error messages name.
 */
export interface SessionLink {
  /** The connection to the daemon. */
  readonly connection: Connection;
  /** The daemon's hello: the operations it supports. */
  readonly daemon: { readonly caps: readonly string[] };
  /** Where the session lives. */
  readonly destination: Destination;
}

/** Options for {@linkcode Session.run}. */
export interface RunOptions {
  /**
   * How long to wait for the command to finish, in milliseconds.
   * @default {60000}
   */
  timeoutMs?: number;
  /**
   * Wait for the command to finish; false types it and returns at once.
   * @default {true}
   */
  wait?: boolean;
  /**
   * When another command runs: interrupt it (Ctrl-C, then SIGTERM and
   * SIGKILL to its process group) and run this one at the next prompt; the
   * result is this command's own. Without it a busy session is refused.
   */
  force?: boolean;
  /**
   * Largest output text to return, in bytes (head and tail are kept).
   * @default {102400}
   */
  maxOutput?: number;
  /** How to start the session when it does not exist yet. */
  open?: OpenOptions;
  /**
   * Ends the wait early, as the timeout would: the command runs on and the
   * result says so (`running: true`, with the cursor to follow it from). An
   * already aborted signal sends nothing and throws its reason.
   */
  signal?: AbortSignal;
  /**
   * Throw a {@linkcode CommandFailedError} when the command exits non-zero,
   * and a {@linkcode TimeoutError} when it is still running at the end of
   * the wait, instead of returning the result.
   * @default {false}
   */
  check?: boolean;
}

/** Options for {@linkcode Session.send}. */
export interface SendOptions {
  /**
   * Press Enter after the text.
   * @default {false}
   */
  enter?: boolean;
}

/** Options for {@linkcode Session.close}. */
export interface CloseOptions {
  /**
   * How long the shell has after SIGHUP before SIGKILL, in milliseconds.
   * @default {2000}
   */
  graceMs?: number;
}

/** Options for {@linkcode Session.follow}. */
export interface FollowOptions {
  /** Cursor to start from; by default, output from now on. */
  since?: number;
  /**
   * Pass the bytes as received; the text (the second argument of the
   * callback, `text` of each piece) is then empty.
   * @default {false}
   */
  raw?: boolean;
  /** Stops following. */
  signal?: AbortSignal;
  /**
   * Called with the cursors of output that went by unseen: the reader fell
   * behind the session's buffer during a flood and was skipped ahead.
   */
  onGap?: (start: number, end: number) => void | Promise<void>;
}

/** What {@linkcode Session.follow} yields, in order. */
export type FollowPiece =
  | {
    /** Output, as text without escape sequences and as the bytes received. */
    type: "output";
    /** The text (empty with `raw`). */
    text: string;
    /** The bytes. */
    raw: Uint8Array;
    /** Cursor just past these bytes. */
    cursor: number;
  }
  | {
    /** Output that went by unseen (see `FollowOptions.onGap`). */
    type: "gap";
    /** Cursor where the unseen output began. */
    start: number;
    /** Cursor where what follows begins. */
    end: number;
  }
  | {
    /** The shell exited; the last piece. */
    type: "exit";
    /** Its exit status. */
    status: number;
  };

/** What a `run` produced. */
export interface RunResult {
  /** The id the daemon gave this command within its session. */
  commandId: number;
  /** The command's exit status; null while it runs or when unknown. */
  exitCode: number | null;
  /** The command's output as plain text, bounded by `maxOutput`. */
  output: string;
  /** Whether the middle of the output was left out. */
  truncated: boolean;
  /** Where the command's output begins: `logs --since` this for all of it. */
  outputStart: number;
  /** Cursor just past the output returned. */
  cursor: number;
  /** Whether the command was still running when `run` returned. */
  running: boolean;
  /** Milliseconds from sending the command to its end (or the timeout). */
  durationMs: number;
  /** Whether this call started the session. */
  created: boolean;
  /** Set when the shell itself exited: its exit status (the session is gone). */
  shellExit: number | null;
  /** Whether older output of this command had been evicted from the buffer. */
  evicted: boolean;
  /** Whether a later `run` with `force` interrupted this command and took its place. */
  superseded: boolean;
}

/** Options for {@linkcode Session.logs}. */
export interface LogsOptions {
  /**
   * How many lines to return (when no cursor is given).
   * @default {300}
   */
  lines?: number;
  /** Return only what came after this cursor. */
  since?: number;
  /** Return the bytes as they are instead of rendered text. */
  raw?: boolean;
  /**
   * With `raw`: receives the bytes as they are read, in parts, instead of
   * all at once in the result (whose `raw` is then null), so memory stays
   * bounded whatever the buffer holds.
   */
  onRaw?: (data: Uint8Array) => Promise<void>;
  /**
   * Largest text to return, in bytes.
   * @default {102400}
   */
  maxOutput?: number;
}

/** What `logs` returns. */
export interface LogsResult {
  /** Rendered text (empty with `raw`). */
  output: string;
  /** The bytes (only with `raw`). */
  raw: Uint8Array | null;
  /** Cursor after the returned output: pass it as `since` next time. */
  cursor: number;
  /** Whether part of what was asked for had already left the buffer. */
  evicted: boolean;
  /** Whether the text was cut in the middle. */
  truncated: boolean;
}

/** Options for {@linkcode Session.wait}: exactly one of `pattern`, `idleMs`, `done`. */
export interface WaitOptions {
  /**
   * Wait until new output matches this regular expression. It sees the
   * output as text without escape sequences; a match may span up to 64 KiB
   * of earlier text. The daemon searches for it when the pattern has the
   * same meaning in Python's `re` (any pattern without lookbehind or the `u`
   * and `v` flags), so that no output crosses the network; otherwise the
   * output is read and searched here.
   */
  pattern?: RegExp;
  /** Wait until no output has come for this many milliseconds. */
  idleMs?: number;
  /** Ends the wait early, as the timeout would (`met: false`). */
  signal?: AbortSignal;
  /** Wait until the running command finishes. */
  done?: boolean;
  /**
   * Look at output from this cursor on. By default a `pattern` is looked
   * for in the output since the last input sent (run, send, keys), and
   * `idleMs` counts from now.
   */
  since?: number;
  /**
   * Give up after this many milliseconds.
   * @default {60000}
   */
  timeoutMs?: number;
  /**
   * Largest output text to return, in bytes.
   * @default {102400}
   */
  maxOutput?: number;
}

/** What `wait` returns. */
export interface WaitResult {
  /** Whether the condition was met (false: timed out). */
  met: boolean;
  /** The matched text, for `pattern`. */
  match: string | null;
  /** New output seen while waiting, rendered and bounded. */
  output: string;
  /** Cursor after the output seen. */
  cursor: number;
  /** For `done`: the finished command's exit status. */
  exitCode: number | null;
  /** Set when the shell exited while waiting. */
  shellExit: number | null;
  /**
   * Whether output went by that this wait never saw: it fell behind the
   * session's buffer during a flood, which skipped it ahead.
   */
  evicted: boolean;
}

/** What `screen` returns: the rendered screen and the terminal size. */
export type ScreenResult = Screen;

/**
 * One named session on a connected host.
 *
 * @example
 * ```ts ignore
 * import { SesshClient } from "@sessh/cli";
 * await using client = await SesshClient.connect({ destination: "build-box" });
 * const repl = client.session("py");
 * await repl.open();
 * await repl.send("python3", { enter: true });
 * await repl.wait({ pattern: />>> $/ });
 * ```
 */
export class Session {
  /** The session's name. */
  readonly name: string;
  #client: SessionLink;

  /**
   * Makes a handle; use `SesshClient.session()` instead.
   *
   * @ignore
   * @param client What the handle needs of the connected client.
   * @param name A validated session name.
   */
  constructor(client: SessionLink, name: string) {
    this.#client = client;
    this.name = name;
  }

  /**
   * Creates the session or reuses it.
   *
   * @param options Settings for a new session.
   * @returns Whether it was created, and its description.
   */
  open(options: OpenOptions = {}): Promise<OpenResult> {
    return openSession(this.#client.connection, this.name, options);
  }

  /**
   * Types a command into the shell and waits for it to finish; opens the
   * session first when it does not exist.
   *
   * @param command The command text, delivered byte for byte. To build it
   *   from values, use {@linkcode sh} or {@linkcode Session.sh}, which quote
   *   them.
   * @param options Timeout, output bound, force, no-wait, signal, check.
   * @returns Exit status and output.
   * @throws {CommandFailedError} with `check`, for a non-zero exit status.
   *
   * @example
   * ```ts ignore
   * import { SesshClient } from "@sessh/cli";
   *
   * await using client = await SesshClient.connect({ destination: "me@build-box" });
   * const work = client.session("work");
   * const build = await work.run("make", { timeoutMs: 600_000, check: true });
   * console.log(build.output);
   * ```
   */
  async run(
    command: string | Uint8Array,
    options: RunOptions = {},
  ): Promise<RunResult> {
    options.signal?.throwIfAborted();
    const result = await this.#run(command, options);
    if (!options.check) return result;
    const text = typeof command === "string"
      ? command
      : new TextDecoder().decode(command);
    if (result.running) {
      throw new TimeoutError(
        `The command still runs after the wait (command ${result.commandId} of session "${this.name}"); wait for it with Session.wait({ done: true }) or read its output from cursor ${result.outputStart}`,
      );
    }
    if (result.exitCode !== 0 && result.exitCode !== null) {
      throw new CommandFailedError(text, result.exitCode, result.output);
    }
    return result;
  }

  /**
   * Runs `command` built from a template whose values are quoted as shell
   * words (see {@linkcode sh}), with the default options of
   * {@linkcode Session.run}.
   *
   * @param strings The template's literal parts.
   * @param values The interpolated values, each quoted.
   * @returns Exit status and output.
   *
   * @example
   * ```ts ignore
   * import { SesshClient } from "@sessh/cli";
   *
   * await using client = await SesshClient.connect({ destination: "me@build-box" });
   * const work = client.session("work");
   * const dir = "~/my project; rm -rf /";
   * await work.sh`mkdir -p ${dir} && cd ${dir}`; // one directory, oddly named
   * ```
   */
  sh(
    strings: TemplateStringsArray,
    ...values: ShellValue[]
  ): Promise<RunResult> {
    return this.run(sh(strings, ...values));
  }

  async #run(
    command: string | Uint8Array,
    options: RunOptions,
  ): Promise<RunResult> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const maxOutput = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
    const bytes = typeof command === "string"
      ? new TextEncoder().encode(command)
      : command;
    if (bytes.length === 0) {
      throw new UsageError("Empty command; pass the command after --");
    }
    const conn = this.#client.connection;
    const started = performance.now();
    const deadline = started + timeoutMs;
    // The daemon gives up waiting for a prompt first, so its answer (not a
    // silent link) explains a shell that never became ready; and no answer
    // at all is given up on soon after the call's own deadline.
    const readyMs = Math.max(500, Math.min(timeoutMs - 500, 15_000));
    const replyMs = Math.min(readyMs + REPLY_MARGIN_MS, timeoutMs + 500);
    let reply: Message;
    try {
      reply = await conn.request("run", {
        name: this.name,
        command: bytes,
        force: options.force ?? false,
        create: openFields(this.name, options.open ?? {}),
        ready_timeout_ms: readyMs,
      }, { timeoutMs: replyMs });
    } catch (error) {
      throw this.#undelivered(error);
    }
    const seq = Number(reply.seq);
    const cols = Number(reply.cols) || 160;
    const created = Boolean(reply.created);
    let start = Number(reply.offset);
    const base = {
      commandId: seq,
      superseded: false,
      created,
      outputStart: start,
      shellExit: null,
      evicted: false,
      truncated: false,
    };
    if (options.wait === false) {
      return {
        ...base,
        exitCode: null,
        output: "",
        cursor: start,
        running: true,
        durationMs: Math.round(performance.now() - started),
      };
    }
    let done: Message | null = null;
    let shellExit: number | null = null;
    while (true) {
      const event = await conn.nextEvent(
        deadline - performance.now(),
        options.signal,
      );
      if (!event) break;
      if (event.name !== this.name) continue;
      if (event.ev === "started" && event.seq === seq) {
        start = Number(event.offset);
      }
      if (event.ev === "done" && event.seq === seq) done = event;
      if (event.ev === "exit") shellExit = Number(event.status);
      if (done && (done.exit != null || done.superseded)) break;
      if (shellExit !== null) break;
    }
    const durationMs = Math.round(performance.now() - started);
    const lostAfterSend = (error: unknown) =>
      this.#lostAfterSend(error, seq, start);
    if (!done && shellExit === null && conn.lostError) {
      throw lostAfterSend(conn.lostError);
    }
    if (done) {
      const range = done.data == null && shellExit === null
        ? await readRange(conn, this.name, {
          since: Number(done.start),
          until: Number(done.end),
        }, { keep: keepFor(maxOutput) }).catch((error) => {
          throw lostAfterSend(error);
        })
        : { data: bytesField(done.data), splitAt: undefined };
      const data = stripPromptTail(range.data);
      const text = await boundedText(
        data,
        cols,
        maxOutput,
        undefined,
        range.splitAt,
      );
      return {
        ...base,
        outputStart: Number(done.start ?? start),
        exitCode: done.exit == null ? shellExit : Number(done.exit),
        output: text.text,
        truncated: text.truncated,
        cursor: Number(done.end),
        running: false,
        durationMs,
        shellExit,
        evicted: Boolean(done.evicted),
        superseded: Boolean(done.superseded),
      };
    }
    if (shellExit !== null) {
      return {
        ...base,
        exitCode: shellExit,
        output: "",
        cursor: start,
        running: false,
        durationMs,
        shellExit,
      };
    }
    // Out of time: this read is also the proof that the link still works,
    // so it is kept short; no answer means the link, not the command, failed.
    const range = await readRange(conn, this.name, { since: start }, {
      timeoutMs: FINAL_READ_MS,
      keep: keepFor(maxOutput),
    }).catch((error) => {
      throw lostAfterSend(error);
    });
    const text = await boundedText(
      range.data,
      cols,
      maxOutput,
      undefined,
      range.splitAt,
    );
    return {
      ...base,
      outputStart: start,
      exitCode: null,
      output: text.text,
      truncated: text.truncated,
      cursor: range.end,
      running: true,
      durationMs,
      evicted: range.evicted,
    };
  }

  /**
   * The error for a `run` whose request got no answer: a daemon's refusal
   * passes through; a lost link or silence becomes "delivery unknown".
   */
  #undelivered(error: unknown): unknown {
    if (error instanceof SesshError && !isLinkFailure(error)) return error;
    const where = this.#client.destination.display;
    return new ConnectionLostError(
      `${
        (error as Error).message
      }; the command may or may not have reached session "${this.name}": check with sessh status ${this.name} ${where} before running it again`,
      { delivery: "unknown", session: this.name },
    );
  }

  /** The error for a link that failed while waiting: nothing was typed. */
  #lostWhileWaiting(error: unknown, cursor: number): unknown {
    if (error instanceof SesshError && !isLinkFailure(error)) return error;
    const where = `${this.name} ${this.#client.destination.display}`;
    return new ConnectionLostError(
      `${
        (error as Error).message
      }; the wait ended without an answer (nothing was typed into session "${this.name}"): ` +
        `wait again with sessh wait ${where} --since ${cursor}`,
      { delivery: "not_sent", session: this.name, cursor },
    );
  }

  /** The error for a link that failed after the daemon accepted the command. */
  #lostAfterSend(error: unknown, seq: number, cursor: number): unknown {
    if (error instanceof SesshError && !isLinkFailure(error)) return error;
    const where = `${this.name} ${this.#client.destination.display}`;
    return new ConnectionLostError(
      `${
        (error as Error).message
      }; the command was sent (command ${seq} of session "${this.name}") and runs or ran on the host: ` +
        `check with sessh wait ${where} --done, or read its output with sessh logs ${where} --since ${cursor}`,
      { delivery: "sent", session: this.name, commandId: seq, cursor },
    );
  }

  /**
   * Types literal text: a string, bytes, or a stream of bytes (a file),
   * sent in parts that each wait until the terminal took them, so input of
   * any size arrives whole without holding up other sessions.
   *
   * @param text The text (bytes are sent as they are).
   * @param options `enter: true` presses Enter afterwards.
   * @returns How many bytes the terminal took (Enter included).
   */
  async send(
    text: string | Uint8Array | AsyncIterable<Uint8Array>,
    options: SendOptions = {},
  ): Promise<number> {
    const parts = typeof text === "string"
      ? [new TextEncoder().encode(text)]
      : text instanceof Uint8Array
      ? [text]
      : text;
    let written = 0;
    const put = async (data: Uint8Array) => {
      let at = 0;
      do {
        const part = data.subarray(at, at + SEND_PART);
        const reply = await this.#client.connection.request("input", {
          name: this.name,
          data: part,
        }, { timeoutMs: INPUT_REPLY_MS });
        // An older helper answers at once, without a count.
        written += reply.written == null ? part.length : Number(reply.written);
        at += part.length;
      } while (at < data.length);
    };
    let sent = false;
    for await (const data of parts) {
      if (data.length === 0) continue;
      await put(data);
      sent = true;
    }
    if (options.enter) await put(new Uint8Array([13]));
    else if (!sent) await put(new Uint8Array());
    return written;
  }

  /**
   * Presses keys given by tmux names (`Enter`, `C-c`, `Up`, `F5`, …).
   *
   * @param keys Key names and literal words, in order.
   */
  async keys(keys: string[]): Promise<void> {
    if (keys.length === 0) {
      throw new UsageError(
        "No keys given; pass key names such as Enter or C-c",
      );
    }
    await this.#client.connection.request("input", {
      name: this.name,
      data: keysToBytes(keys),
    });
  }

  /**
   * Output as plain text (or raw bytes): the last lines, or all since a cursor.
   *
   * @param options Lines, cursor, raw.
   * @returns The output and the next cursor.
   */
  async logs(options: LogsOptions = {}): Promise<LogsResult> {
    const conn = this.#client.connection;
    const lines = options.lines ?? 300;
    if (options.raw) {
      const range = await readRange(
        conn,
        this.name,
        options.since !== undefined
          ? { since: options.since }
          : { whole: true },
        { onChunk: options.onRaw },
      );
      return {
        output: "",
        raw: options.onRaw ? null : range.data,
        cursor: range.end,
        evicted: range.evicted,
        truncated: false,
      };
    }
    preloadRenderer();
    const maxOutput = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
    // A little more than asked: cursor movements can fold several raw lines into one.
    const range = await readRange(
      conn,
      this.name,
      options.since !== undefined
        ? { since: options.since }
        : { lines: lines + 50 },
      { keep: keepFor(maxOutput) },
    );
    const cols = range.size?.cols ?? (await this.status()).cols;
    const text = await boundedText(
      range.data,
      cols,
      maxOutput,
      options.since !== undefined ? undefined : lines,
      range.splitAt,
    );
    return {
      output: text.text,
      raw: null,
      cursor: range.end,
      evicted: range.evicted,
      truncated: text.truncated,
    };
  }

  /**
   * Streams new output as it comes until `signal` aborts or the shell exits,
   * calling `onData` with each piece.
   *
   * @param onData Called with each piece of output (text with escapes
   *   removed, or the raw bytes).
   * @param options Start cursor, raw mode, an abort signal, and `onGap`.
   * @returns The shell's exit status when it exited, else null.
   *
   * @example
   * ```ts ignore
   * import { SesshClient } from "@sessh/cli";
   *
   * await using client = await SesshClient.connect({ destination: "me@build-box" });
   * const signal = AbortSignal.timeout(60_000);
   * await client.session("work").follow((text) => console.log(text), { signal });
   * ```
   */
  follow(
    onData: (text: string, raw: Uint8Array) => void | Promise<void>,
    options?: FollowOptions,
  ): Promise<number | null>;
  /**
   * Streams new output as it comes: the pieces of output, gaps, and the
   * shell's exit, which ends it; so does `signal`, or leaving the loop.
   *
   * @param options Start cursor, raw mode, an abort signal.
   * @returns The pieces, in order.
   *
   * @example
   * ```ts ignore
   * import { SesshClient } from "@sessh/cli";
   *
   * await using client = await SesshClient.connect({ destination: "me@build-box" });
   * for await (const piece of client.session("work").follow()) {
   *   if (piece.type === "output" && piece.text.includes("ready")) break;
   * }
   * ```
   */
  follow(options?: FollowOptions): AsyncIterableIterator<FollowPiece>;
  follow(
    onData?:
      | ((text: string, raw: Uint8Array) => void | Promise<void>)
      | FollowOptions,
    options: FollowOptions = {},
  ): Promise<number | null> | AsyncIterableIterator<FollowPiece> {
    if (typeof onData !== "function") return this.#pieces(onData ?? {});
    return this.#followWith(onData, options);
  }

  async #followWith(
    onData: (text: string, raw: Uint8Array) => void | Promise<void>,
    options: FollowOptions,
  ): Promise<number | null> {
    for await (const piece of this.#pieces(options)) {
      if (piece.type === "output") await onData(piece.text, piece.raw);
      else if (piece.type === "gap") {
        await options.onGap?.(piece.start, piece.end);
      } else return piece.status;
    }
    return null;
  }

  async *#pieces(options: FollowOptions): AsyncIterableIterator<FollowPiece> {
    const conn = this.#client.connection;
    const fields: Message = { name: this.name, output: true };
    if (options.since !== undefined) fields.since = options.since;
    const sub = await conn.request("subscribe", fields);
    try {
      if (sub.evicted && options.since !== undefined) {
        yield { type: "gap", start: options.since, end: Number(sub.start) };
      }
      const stripper = new AnsiStripper();
      while (!options.signal?.aborted) {
        const event = await conn.nextEvent(250, options.signal);
        if (!event) {
          if (conn.lostError) throw conn.lostError;
          continue;
        }
        if (event.name !== this.name) continue;
        if (event.ev === "output") {
          const raw = bytesField(event.data);
          yield {
            type: "output",
            text: options.raw ? "" : stripper.push(raw),
            raw,
            cursor: Number(event.offset) + raw.length,
          };
        } else if (event.ev === "gap") {
          yield {
            type: "gap",
            start: Number(event.start),
            end: Number(event.end),
          };
        } else if (event.ev === "exit") {
          yield { type: "exit", status: Number(event.status) };
          return;
        }
      }
    } finally {
      await this.#unwatch();
    }
  }

  /**
   * Ends this connection's watch of the session's output, and forgets what
   * it queued: a flood left flowing would fill the queue, and reading stops
   * when it is full, replies included.
   */
  async #unwatch(): Promise<void> {
    const conn = this.#client.connection;
    if (!conn.lostError) {
      await conn.request("unsubscribe", { name: this.name }, {
        timeoutMs: FINAL_READ_MS,
      }).catch(() => {});
    }
    conn.dropEvents(this.name);
  }

  /**
   * The visible screen, rendered by a terminal emulator, with the cursor.
   *
   * @returns Lines, cursor, size and whether the alternate screen is on.
   */
  async screen(): Promise<ScreenResult> {
    preloadRenderer();
    const range = await readRange(this.#client.connection, this.name, {
      whole: true,
    });
    return await renderScreen(range.data, range.size ?? await this.status());
  }

  /**
   * Blocks until new output matches a pattern, output goes idle, or the
   * running command finishes.
   *
   * @param options Exactly one condition, and a timeout.
   * @returns Whether it was met, and the output seen.
   */
  async wait(options: WaitOptions): Promise<WaitResult> {
    const conditions = [
      options.pattern,
      options.idleMs,
      options.done ? true : undefined,
    ]
      .filter((c) => c !== undefined);
    if (conditions.length !== 1) {
      throw new UsageError(
        "Pass exactly one of --for REGEX, --idle MS or --done",
      );
    }
    const conn = this.#client.connection;
    const timeoutMs = options.timeoutMs ?? 60_000;
    const started = performance.now();
    // A daemon that tells idleness itself spares this wait the output
    // (which it reads at the end, bounded); an older one sends it all.
    const idleHere = options.idleMs !== undefined &&
      this.#client.daemon.caps.includes("idle");
    // Likewise a pattern that has the same meaning in the daemon's dialect.
    let matchHere = options.pattern !== undefined &&
        this.#client.daemon.caps.includes("match")
      ? daemonPattern(options.pattern)
      : null;
    const fields: Message = {
      name: this.name,
      output: !options.done && !idleHere && !matchHere,
    };
    if (matchHere) fields.match = { ...matchHere };
    if (idleHere) fields.idle_ms = Math.max(1, Math.round(options.idleMs!));
    if (options.since !== undefined) fields.since = options.since;
    // A pattern is looked for in what followed the last input, so that a
    // `run --no-wait` or `send` just before cannot race past the output.
    else if (options.pattern) fields.from_input = true;
    if (options.pattern) preloadRenderer();
    const lost = (error: unknown, at: number) =>
      this.#lostWhileWaiting(error, at);
    const subscribe = () =>
      conn.request("subscribe", fields, {
        timeoutMs: Math.max(timeoutMs, FINAL_READ_MS),
      });
    const sub = await subscribe().catch((error) => {
      if (
        matchHere && error instanceof SesshError &&
        error.details.remote_code === "bad_pattern"
      ) {
        // Python's `re` refused what it should take (a rare construct
        // such as a lookahead it finds too deep): this client matches.
        matchHere = null;
        delete fields.match;
        fields.output = true;
        return subscribe();
      }
      throw error;
    }).catch((error) => {
      throw lost(error, options.since ?? 0);
    });
    let cursor = Number(sub.start);
    const result: WaitResult = {
      met: false,
      match: null,
      output: "",
      cursor,
      exitCode: null,
      shellExit: null,
      evicted: false,
    };
    if (options.done && !sub.running) {
      return {
        ...result,
        met: true,
        exitCode: sub.last_exit == null ? null : Number(sub.last_exit),
      };
    }
    const seen = new BoundedCollector(
      keepFor(options.maxOutput ?? DEFAULT_MAX_OUTPUT),
    );
    const stripper = new AnsiStripper();
    let text = "";
    let lastOutput = performance.now();
    while (!options.signal?.aborted) {
      const now = performance.now();
      let wake = started + timeoutMs - now;
      if (options.idleMs !== undefined && !idleHere) {
        wake = Math.min(wake, lastOutput + options.idleMs - now);
      }
      if (wake <= 0) {
        if (
          options.idleMs !== undefined && !idleHere &&
          lastOutput + options.idleMs <= now
        ) result.met = true;
        break;
      }
      const event = await conn.nextEvent(wake, options.signal);
      if (!event) {
        if (conn.lostError) throw lost(conn.lostError, cursor);
        continue;
      }
      if (event.name !== this.name) continue;
      if (event.ev === "exit") {
        result.shellExit = Number(event.status);
        break;
      }
      if (event.ev === "done" && options.done) {
        result.met = true;
        result.exitCode = event.exit == null ? null : Number(event.exit);
        result.cursor = Number(event.end);
        break;
      }
      if (event.ev === "idle" && idleHere) {
        result.met = true;
        cursor = Number(event.end);
        break;
      }
      if (event.ev === "match" && matchHere) {
        result.met = true;
        result.match = String(event.match);
        if (event.evicted) result.evicted = true;
        cursor = Number(event.end);
        break;
      }
      if (event.ev === "gap") {
        // This reader fell behind the buffer: what it missed is gone.
        result.evicted = true;
        cursor = Number(event.end);
        continue;
      }
      if (event.ev !== "output") continue;
      const data = bytesField(event.data);
      seen.push(data);
      cursor = Number(event.offset) + data.length;
      lastOutput = performance.now();
      if (options.pattern && !matchHere) {
        // Each piece is searched with the text before it, so a match may
        // span pieces; a match longer than the overlap is not found. A
        // bounded overlap keeps a flood's cost linear in its size.
        text = text.slice(-MATCH_OVERLAP) + stripper.push(data);
        const match = options.pattern.exec(text);
        if (match) {
          result.met = true;
          result.match = match[0];
          break;
        }
      }
    }
    if (!options.done) result.cursor = cursor;
    // The output watch ends with the wait: a flood would go on filling the
    // connection's queue for nobody.
    if (fields.output) await this.#unwatch();
    // Silence until the deadline may be a dead link: a timeout is only
    // reported as such once the daemon has shown it is still there.
    if (!result.met && result.shellExit === null) {
      await conn.request("ping", {}, { timeoutMs: FINAL_READ_MS })
        .catch((error) => {
          throw lost(error, cursor);
        });
    }
    let collected: { data: Uint8Array; splitAt?: number } | null = seen.bytes
      ? seen.take()
      : null;
    if ((idleHere || matchHere) && result.shellExit === null) {
      // What came while waiting, read now: its head and tail only.
      const range = await readRange(
        conn,
        this.name,
        result.met
          ? { since: Number(sub.start), until: cursor }
          : { since: Number(sub.start) },
        {
          timeoutMs: FINAL_READ_MS,
          keep: keepFor(options.maxOutput ?? DEFAULT_MAX_OUTPUT),
        },
      ).catch((error) => {
        throw lost(error, cursor);
      });
      if (range.evicted) result.evicted = true;
      result.cursor = cursor = range.end;
      collected = range.data.length ? range : null;
    }
    if (collected) {
      const cols = (await this.status({ timeoutMs: FINAL_READ_MS }).catch(() =>
        null
      ))?.cols ?? 160;
      result.output = (await boundedText(
        stripPromptTail(collected.data),
        cols,
        options.maxOutput ?? DEFAULT_MAX_OUTPUT,
        undefined,
        collected.splitAt,
      )).text;
    }
    return result;
  }

  /**
   * The session's state: shell pid, running command, cwd, times, buffer use.
   *
   * @param options How long the daemon may take to answer.
   * @returns The description.
   */
  async status(options: { timeoutMs?: number } = {}): Promise<SessionInfo> {
    const reply = await this.#client.connection.request("info", {
      name: this.name,
    }, options);
    return sessionInfo(reply.session as Message);
  }

  /**
   * Ends the session: SIGHUP to its processes, SIGKILL after the grace period.
   *
   * @param options Grace period in milliseconds (default 2000).
   * @returns The shell's exit status; null for a lost session, which this
   *   forgets (its shell ended unseen with the daemon that held it).
   */
  async close(options: CloseOptions = {}): Promise<number | null> {
    const graceMs = options.graceMs ?? 2000;
    const reply = await this.#client.connection.request(
      "close",
      { name: this.name, grace_ms: graceMs },
      { timeoutMs: graceMs + 10_000 },
    );
    return reply.status == null ? null : Number(reply.status);
  }
}
