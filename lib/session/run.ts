/**
 * `run`: type a command into a session's shell and wait for it to finish,
 * with its exit status and output; a call that runs out of time, loses its
 * link or is aborted says how far the command got.
 *
 * @module
 */
import { markPhase } from "../phases.ts";
import type { OpenOptions } from "./open.ts";
import { openFields } from "./open.ts";
import { bytesField } from "./wire.ts";
import {
  boundedText,
  DEFAULT_MAX_OUTPUT,
  keepFor,
  readRange,
  stripPromptTail,
} from "./output.ts";
import type { Message } from "../protocol/frame.ts";
import { UsageError } from "../errors.ts";
import { abortable } from "../abort.ts";
import type { EventSource } from "../transport/mailbox.ts";
import {
  FINAL_READ_MS,
  lostAfterSend,
  type SessionLink,
  undelivered,
} from "./link.ts";
import { EVENTS, OPS } from "../contract/spec.ts";

/** How long after the daemon's own deadline its answer may still come. */
const REPLY_MARGIN_MS = 2000;

const ENCODER = new TextEncoder();

/**
 * How long `wait: false` waits for the shell to take the command (its
 * `started` event, after the echo), so that a `wait` for a pattern that
 * follows looks at the command's output, not at its echo.
 */
const STARTED_MS = 5000;

/** Options for {@linkcode Session.run}. */
export interface RunOptions {
  /**
   * How long to wait for the command to finish, in milliseconds.
   * @default {60000}
   */
  timeoutMs?: number;
  /**
   * Wait for the command to finish; false returns once the shell took it
   * (its echo is before `cursor`, so a `wait` for a pattern that follows
   * sees only the command's output).
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
   * Cancels the call: an aborted signal, before or during it, rejects it
   * with `signal.reason` (an `AbortError` `DOMException` by default), as
   * `fetch` does. Aborted before, nothing is sent; during, the command
   * runs on in the session (interrupt it with `keys(["C-c"])`). Running
   * out of time is not an abort: it returns `running: true` and a cursor.
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

/**
 * Types `command` into the session's shell and waits for it to finish (see
 * `Session.run()`, which adds `check`).
 *
 * @param link The link to the daemon.
 * @param name The session.
 * @param command The command text, delivered byte for byte.
 * @param options Timeout, output bound, force, no-wait, signal.
 * @returns Exit status and output, or how far the command got.
 */
export async function runCommand(
  link: SessionLink,
  name: string,
  command: string | Uint8Array,
  options: RunOptions,
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxOutput = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const bytes = typeof command === "string" ? ENCODER.encode(command) : command;
  if (bytes.length === 0) {
    throw new UsageError("Empty command; give the command to type");
  }
  const conn = link.connection;
  const started = performance.now();
  const deadline = started + timeoutMs;
  // The daemon gives up waiting for a prompt first, so its answer (not a
  // silent link) explains a shell that never became ready; and no answer
  // at all is given up on soon after the call's own deadline.
  const readyMs = Math.max(500, Math.min(timeoutMs - 500, 15_000));
  const replyMs = Math.min(readyMs + REPLY_MARGIN_MS, timeoutMs + 500);
  options.signal?.throwIfAborted();
  // Open before the request: the command's events may come with the reply.
  using events = conn.subscribe(name, { output: false });
  let reply: Message;
  try {
    reply = await abortable(
      conn.request(OPS.run, {
        name: name,
        command: bytes,
        force: options.force ?? false,
        create: openFields(name, options.open ?? {}),
        ready_timeout_ms: readyMs,
      }, { timeoutMs: replyMs }),
      options.signal,
    );
  } catch (error) {
    if (options.signal?.aborted && error === options.signal.reason) throw error;
    throw undelivered(link, name, error);
  }
  markPhase("replied");
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
    start = await startedAt(events, seq, {
      fallback: start,
      until: Math.min(deadline, performance.now() + STARTED_MS),
      signal: options.signal,
    });
    return {
      ...base,
      outputStart: start,
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
    const event = await events.next(
      deadline - performance.now(),
      options.signal,
    );
    if (!event) break;
    if (event.ev === EVENTS.started && event.seq === seq) {
      start = Number(event.offset);
    }
    if (event.ev === EVENTS.done && event.seq === seq) done = event;
    if (event.ev === EVENTS.exit) shellExit = Number(event.status);
    if (done && (done.exit != null || done.superseded)) break;
    if (shellExit !== null) break;
  }
  markPhase("done");
  const durationMs = Math.round(performance.now() - started);
  const afterSend = (error: unknown) =>
    lostAfterSend(link, name, error, seq, start);
  if (!done && shellExit === null && conn.lostError) {
    throw afterSend(conn.lostError);
  }
  if (done) {
    const range = done.data == null && shellExit === null
      ? await readRange(conn, name, {
        since: Number(done.start),
        until: Number(done.end),
      }, { keep: keepFor(maxOutput) }).catch((error) => {
        throw afterSend(error);
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
    markPhase("rendered");
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
  const range = await readRange(conn, name, { since: start }, {
    timeoutMs: FINAL_READ_MS,
    keep: keepFor(maxOutput),
  }).catch((error) => {
    throw afterSend(error);
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
 * Where the command's output begins once the shell took it: its `started`
 * event (past the echo), or `fallback` (where it was typed) when its end,
 * the shell's exit or `until` comes first.
 */
async function startedAt(
  events: EventSource,
  seq: number,
  options: { fallback: number; until: number; signal?: AbortSignal },
): Promise<number> {
  while (true) {
    const event = await events.next(
      options.until - performance.now(),
      options.signal,
    );
    if (!event || event.ev === EVENTS.exit) return options.fallback;
    if (event.seq !== seq) continue;
    if (event.ev === EVENTS.started) return Number(event.offset);
    if (event.ev === EVENTS.done) {
      return Number(event.start ?? options.fallback);
    }
  }
}
