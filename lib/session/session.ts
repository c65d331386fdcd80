/**
 * `Session`: what an agent does with one named session — run a command and
 * wait for it, type, press keys, read output and the screen, wait for
 * output, inspect and close.
 *
 * @module
 */
import { type OpenOptions, type OpenResult, openSession } from "./open.ts";
import {
  boundedText,
  DEFAULT_MAX_OUTPUT,
  keepFor,
  readRange,
} from "./output.ts";
import { keysToBytes } from "./keys.ts";
import type { SessionInfo } from "../types.ts";
import { CommandFailedError, TimeoutError, UsageError } from "../errors.ts";
import { sh, type ShellValue } from "./shell_quote.ts";
import { renderScreen, type Screen } from "../render/screen.ts";
import { type SessionLink, sessionStatus } from "./link.ts";
// What only some calls do (wait, follow, record, history) is imported by
// the method that does it: a `run` from the command line reads none of it.
import type { RecordOptions } from "./record.ts";
import type { CommandRecord, CommandResult, ResultOptions } from "./history.ts";
import { runCommand, type RunOptions, type RunResult } from "./run.ts";
import type { WaitOptions, WaitResult } from "./wait.ts";
import type { FollowOptions, FollowPiece, SessionEvent } from "./follow.ts";
import { OPS } from "../contract/spec.ts";

export { DEFAULT_MAX_OUTPUT };
export type {
  CommandRecord,
  CommandResult,
  FollowOptions,
  FollowPiece,
  RecordOptions,
  ResultOptions,
  RunOptions,
  RunResult,
  SessionEvent,
  SessionLink,
  WaitOptions,
  WaitResult,
};

/** Input goes in parts of this size, each answered once the terminal took it. */
const SEND_PART = 1024 * 1024;
/** How long the daemon may take to answer for one part: it gives up after 30 s without progress. */
const INPUT_REPLY_MS = 40_000;

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

  /** A client whose link died reconnects before the next call. */
  /**
   * Connects anew first when the link died; a live link (every call but
   * one after a failure) goes on without a turn of the event loop.
   */
  #ready(): Promise<void> | undefined {
    if (this.#client.connection.lostError === null) return undefined;
    return this.#client.revive?.();
  }

  /**
   * Creates the session or reuses it.
   *
   * @param options Settings for a new session.
   * @returns Whether it was created, and its description.
   */
  async open(options: OpenOptions = {}): Promise<OpenResult> {
    await this.#ready();
    return await openSession(this.#client.connection, this.name, options);
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
    refuseNul(command);
    const ready = this.#ready();
    if (ready) await ready;
    const result = await runCommand(this.#client, this.name, command, options);
    if (!options.check) return result;
    const text = typeof command === "string"
      ? command
      : new TextDecoder().decode(command);
    const where = {
      session: this.name,
      commandId: result.commandId,
      cursor: result.outputStart,
    };
    if (result.running) {
      throw new TimeoutError(
        `The command still runs after the wait (command ${result.commandId} of session "${this.name}"); wait for it with Session.wait({ done: true }) or read its output from cursor ${result.outputStart}`,
        where,
      );
    }
    if (result.exitCode !== 0 && result.exitCode !== null) {
      throw new CommandFailedError(
        text,
        result.exitCode,
        result.output,
        where,
      );
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
   * const note = "it's $(whoami); rm -rf ~";
   * const echoed = await work.sh`echo ${note}`; // one word, nothing runs
   * console.log(echoed.output); // it's $(whoami); rm -rf ~
   * ```
   */
  sh(
    strings: TemplateStringsArray,
    ...values: ShellValue[]
  ): Promise<RunResult> {
    return this.run(sh(strings, ...values));
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
    let first = true;
    const put = async (data: Uint8Array) => {
      let at = 0;
      do {
        const part = data.subarray(at, at + SEND_PART);
        const reply = await this.#client.connection.request(OPS.input, {
          name: this.name,
          data: part,
          // Output "since the last input" counts from this call's first part.
          continues: !first,
        }, { timeoutMs: INPUT_REPLY_MS });
        first = false;
        // An older helper answers at once, without a count.
        written += reply.written == null ? part.length : Number(reply.written);
        at += part.length;
      } while (at < data.length);
    };
    let sent = false;
    await this.#ready();
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
   * Types a secret and Enter into a program that asks for it with echo off
   * (a password prompt). The daemon refuses while the terminal echoes, so
   * the secret is never shown, and redacts it from output that repeats it
   * (`[REDACTED]`); it goes in a frame, never on a command line or in a
   * file.
   *
   * @param secret The secret: 1 to 4096 bytes without line breaks.
   * @throws {SesshError} `terminal_echoes` while the terminal echoes input.
   *
   * @example
   * ```ts ignore
   * import { SesshClient } from "@sessh/cli";
   *
   * await using client = await SesshClient.connect({ destination: "me@build-box" });
   * const work = client.session("work");
   * await work.run("sudo -v", { wait: false });
   * await work.wait({ pattern: /password/i });
   * await work.typeSecret(Deno.env.get("SUDO_PASSWORD")!);
   * ```
   */
  async typeSecret(secret: string | Uint8Array): Promise<void> {
    const bytes = typeof secret === "string"
      ? new TextEncoder().encode(secret)
      : secret;
    if (bytes.length === 0 || bytes.length > 4096) {
      throw new UsageError(
        "A secret is 1 to 4096 bytes; this one is " + bytes.length,
      );
    }
    if (bytes.includes(10) || bytes.includes(13)) {
      throw new UsageError(
        "A secret cannot hold a line break; it is typed as one line",
      );
    }
    await this.#ready();
    await this.#client.connection.request(OPS.secret, {
      name: this.name,
      data: bytes,
    }, { timeoutMs: 40_000 });
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
    const data = keysToBytes(keys);
    await this.#ready();
    await this.#client.connection.request(OPS.input, {
      name: this.name,
      data,
    });
  }

  /**
   * Output as plain text (or raw bytes): the last lines, or all since a cursor.
   *
   * @param options Lines, cursor, raw.
   * @returns The output and the next cursor.
   */
  async logs(options: LogsOptions = {}): Promise<LogsResult> {
    await this.#ready();
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
    // No preload of the emulator here: most output, prompts included, is
    // rendered without it (`plainLines()`), and loading it costs more than
    // the round trip it would overlap on a near host.
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
    if (typeof onData !== "function") {
      return this.#followPieces(onData ?? {});
    }
    return this.#followWith(onData, options);
  }

  async *#followPieces(
    options: FollowOptions,
  ): AsyncIterableIterator<FollowPiece> {
    await this.#ready();
    const { followPieces } = await import("./follow.ts");
    yield* followPieces(this.#client, this.name, options);
  }

  async #followWith(
    onData: (text: string, raw: Uint8Array) => void | Promise<void>,
    options: FollowOptions,
  ): Promise<number | null> {
    for await (const piece of this.#followPieces(options)) {
      if (piece.type === "output") await onData(piece.text, piece.raw);
      else if (piece.type === "gap") {
        await options.onGap?.(piece.start, piece.end);
      } else if (piece.type === "exit") return piece.status;
    }
    return null;
  }

  /**
   * The visible screen, rendered by a terminal emulator, with the cursor.
   *
   * @param options `scrollback`: how many lines that scrolled off above
   * the screen to return too (default 0).
   * @returns Lines, cursor, size and whether the alternate screen is on.
   */
  async screen(options: { scrollback?: number } = {}): Promise<ScreenResult> {
    await this.#ready();
    // No preload of the emulator, as for `logs`: a shell's screen is most
    // often laid out without it (`plainScreen()`).
    const range = await readRange(this.#client.connection, this.name, {
      whole: true,
    });
    const size = range.size ?? await this.status();
    return await renderScreen(range.data, {
      cols: size.cols,
      rows: size.rows,
      scrollback: options.scrollback,
    });
  }

  /**
   * Blocks until new output matches a pattern, output goes idle, or the
   * running command finishes.
   *
   * @param options Exactly one condition, and a timeout.
   * @returns Whether it was met, and the output seen.
   */
  async wait(options: WaitOptions): Promise<WaitResult> {
    await this.#ready();
    const { waitFor } = await import("./wait.ts");
    return await waitFor(this.#client, this.name, options);
  }

  /**
   * The session's last commands typed by `run` (up to 100), oldest first:
   * id, text, exit status, times and where their output lies.
   *
   * @returns The commands.
   *
   * @example
   * ```ts ignore
   * import { SesshClient } from "@sessh/cli";
   *
   * await using client = await SesshClient.connect({ destination: "me@build-box" });
   * for (const c of await client.session("work").history()) {
   *   console.log(c.commandId, c.exitCode, c.command);
   * }
   * ```
   */
  async history(): Promise<CommandRecord[]> {
    await this.#ready();
    const { commandHistory } = await import("./history.ts");
    return await commandHistory(this.#client, this.name);
  }

  /**
   * One command typed by `run`, by id (default: the latest), with its exit
   * status and output; or, while it runs, its output so far. Poll a long
   * job with it instead of waiting.
   *
   * @param options The command's id, the output bound.
   * @returns The command and its output.
   * @throws {SesshError} `no_command` for an id the history does not hold.
   *
   * @example
   * ```ts ignore
   * import { SesshClient } from "@sessh/cli";
   *
   * await using client = await SesshClient.connect({ destination: "me@build-box" });
   * const work = client.session("work");
   * const job = await work.run("make all", { wait: false });
   * // …later, from this or another process:
   * const done = await work.result({ commandId: job.commandId });
   * console.log(done.running ? "still running" : done.exitCode, done.output);
   * ```
   */
  async result(options: ResultOptions = {}): Promise<CommandResult> {
    await this.#ready();
    const { commandResult } = await import("./history.ts");
    return await commandResult(this.#client, this.name, options);
  }

  /**
   * A recording of the session's output with its real timing, as the text
   * of an asciicast v2 file (play it with `asciinema play`). Secrets typed
   * with {@linkcode Session.typeSecret} are not in it.
   *
   * @param options The output since a cursor, or one command's.
   * @returns The file's text.
   *
   * @example
   * ```ts ignore
   * import { SesshClient } from "@sessh/cli";
   *
   * await using client = await SesshClient.connect({ destination: "me@build-box" });
   * const work = client.session("work");
   * const build = await work.run("make");
   * await Deno.writeTextFile("build.cast", await work.record({ commandId: build.commandId }));
   * ```
   */
  async record(options: RecordOptions): Promise<string> {
    await this.#ready();
    const { recordCast } = await import("./record.ts");
    return await recordCast(this.#client, this.name, options);
  }

  /**
   * The session's state: shell pid, running command, cwd, times, buffer use.
   *
   * @param options How long the daemon may take to answer.
   * @returns The description.
   */
  async status(options: { timeoutMs?: number } = {}): Promise<SessionInfo> {
    await this.#ready();
    return await sessionStatus(this.#client, this.name, options);
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
    await this.#ready();
    const reply = await this.#client.connection.request(
      OPS.close,
      { name: this.name, grace_ms: graceMs },
      { timeoutMs: graceMs + 10_000 },
    );
    return reply.status == null ? null : Number(reply.status);
  }
}

/**
 * A NUL byte cannot reach a shell (the terminal drops it), so a command
 * holding one is refused rather than run as something else.
 */
function refuseNul(command: string | Uint8Array): void {
  const nul = typeof command === "string"
    ? command.includes("\0")
    : command.includes(0);
  if (nul) {
    throw new UsageError(
      "The command holds a NUL byte, which no shell command can carry; send such bytes with Session.send()",
    );
  }
}
