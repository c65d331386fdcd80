/**
 * `wait`: block until new output matches a pattern (searched by the daemon
 * when it can), output goes idle, or the running command finishes.
 *
 * @module
 */
import { bytesField } from "./wire.ts";
import {
  BoundedCollector,
  boundedText,
  DEFAULT_MAX_OUTPUT,
  keepFor,
  readRange,
  stripPromptTail,
} from "./output.ts";
import { daemonPattern } from "./pattern.ts";
import type { Message } from "../protocol/frame.ts";
import { isErrorCode, SesshError, UsageError } from "../errors.ts";
import { AnsiStripper } from "../render/ansi_strip.ts";
import { preloadRenderer } from "../render/terminal_text.ts";
import { commandOutput, commandRecord } from "./history.ts";
import {
  FINAL_READ_MS,
  lostWhileWaiting,
  readGap,
  type SessionLink,
  sessionStatus,
  unwatch,
} from "./link.ts";
import { abortable } from "../abort.ts";
import { type EventSource, isLocalGap } from "../transport/mailbox.ts";
import { CAPS, EVENTS, MATCH_OVERLAP, OPS } from "../contract/spec.ts";

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
  /**
   * Cancels the wait: an aborted signal, before or during it, rejects it
   * with `signal.reason` (an `AbortError` `DOMException` by default). Running
   * out of time is not an abort: it returns `met: false` and a cursor.
   */
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
  /**
   * For `done`: the id of the command that finished, when `run` typed it
   * (its output is `output`); null for a command typed by hand.
   */
  commandId: number | null;
  /** Set when the shell exited while waiting. */
  shellExit: number | null;
  /**
   * Whether output went by that this wait never saw: it fell behind the
   * session's buffer during a flood, which skipped it ahead.
   */
  evicted: boolean;
}

/**
 * Waits for exactly one condition (see `Session.wait()`).
 *
 * @param link The link to the daemon.
 * @param name The session.
 * @param options The condition, a timeout, a signal.
 * @returns Whether it was met, and the output seen.
 */
export async function waitFor(
  link: SessionLink,
  name: string,
  options: WaitOptions,
): Promise<WaitResult> {
  const conditions = [
    options.pattern,
    options.idleMs,
    options.done ? true : undefined,
  ]
    .filter((c) => c !== undefined);
  if (conditions.length !== 1) {
    throw new UsageError(
      "Give exactly one of pattern, idleMs or done",
    );
  }
  const conn = link.connection;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = performance.now();
  // A daemon that tells idleness itself spares this wait the output
  // (which it reads at the end, bounded); an older one sends it all.
  const idleHere = options.idleMs !== undefined &&
    link.daemon.caps.includes(CAPS.idle);
  // Likewise a pattern that has the same meaning in the daemon's dialect,
  // when the daemon searches the text `output` shows off its loop: one of an
  // older helper ("match" without "match_text") searched text with "\r\n"
  // line ends, on the loop that serves every session, so the client does.
  const matchHere = options.pattern !== undefined &&
      link.daemon.caps.includes(CAPS.match_text)
    ? daemonPattern(options.pattern)
    : null;
  const fields: Message = {
    name: name,
    output: !options.done && !idleHere && !matchHere,
  };
  if (matchHere) fields.match = { ...matchHere };
  if (idleHere) fields.idle_ms = Math.max(1, Math.round(options.idleMs!));
  if (options.since !== undefined) fields.since = options.since;
  // A pattern is looked for in what followed the last input, so that a
  // `run --no-wait` or `send` just before cannot race past the output.
  else if (options.pattern) fields.from_input = true;
  if (options.pattern) preloadRenderer();
  options.signal?.throwIfAborted();
  const subscribe = () =>
    abortable(
      conn.request(OPS.subscribe, fields, {
        timeoutMs: Math.max(timeoutMs, FINAL_READ_MS),
      }),
      options.signal,
    );
  const endTurn = await conn.watchTurn(name, timeoutMs, options.signal);
  if (!endTurn) {
    // Another wait or follow of this session on this client watched it
    // for all of this one's time.
    const info = await sessionStatus(link, name, { timeoutMs: FINAL_READ_MS })
      .catch((error) => {
        throw lostWhileWaiting(link, name, error, options.since ?? 0);
      });
    return {
      met: false,
      match: null,
      output: "",
      cursor: options.since ?? info.bufferEnd,
      exitCode: null,
      commandId: null,
      shellExit: null,
      evicted: false,
    };
  }
  // Open before the request: what the daemon finds at once follows its reply.
  const events = conn.subscribe(name, { watch: true });
  try {
    return await watchUntil(link, name, events, subscribe, {
      ...options,
      timeoutMs,
      started,
      fields,
      idleHere,
      matchHere,
    });
  } finally {
    events[Symbol.dispose]();
    if (options.signal?.aborted) await unwatch(link, name);
    endTurn();
  }
}

/** What {@linkcode waitFor} settled before subscribing. */
interface WatchPlan extends WaitOptions {
  timeoutMs: number;
  started: number;
  fields: Message;
  idleHere: boolean;
  matchHere: ReturnType<typeof daemonPattern>;
}

async function watchUntil(
  link: SessionLink,
  name: string,
  events: EventSource,
  subscribe: () => Promise<Message>,
  plan: WatchPlan,
): Promise<WaitResult> {
  const conn = link.connection;
  const { fields, idleHere, timeoutMs, started, ...options } = plan;
  let matchHere = plan.matchHere;
  const lost = (error: unknown, at: number) =>
    options.signal?.aborted && error === options.signal.reason
      ? error
      : lostWhileWaiting(link, name, error, at);
  const subscribing = subscribe();
  // For `done`, the latest command is asked for right behind the
  // subscription: when nothing runs, it is the one waited for, and its
  // output comes with it, so that `wait --done` takes one round trip.
  const latestAsked = options.done && link.daemon.caps.includes(CAPS.history)
    ? commandRecord(link, name, { maxOutput: options.maxOutput }).catch(() =>
      null
    )
    : null;
  const sub = await subscribing.catch((error) => {
    if (
      matchHere && error instanceof SesshError &&
      error.details.remoteCode === "bad_pattern"
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
    commandId: null,
    shellExit: null,
    evicted: false,
  };
  if (options.done && !sub.running) {
    const lastExit = sub.last_exit == null ? null : Number(sub.last_exit);
    // Nothing runs: the last command `run` typed is the one waited for,
    // most likely, and its output is in the history.
    const asked = await latestAsked;
    const latest = asked && !asked.record.running
      ? await commandOutput(link, name, asked, {
        maxOutput: options.maxOutput,
      }).catch(() => null)
      : null;
    if (!latest) {
      return { ...result, met: true, exitCode: lastExit };
    }
    return {
      ...result,
      met: true,
      exitCode: lastExit,
      commandId: latest.commandId,
      output: latest.output,
      cursor: latest.cursor,
      evicted: latest.evicted,
    };
  }
  // The output of the command whose end this wait saw.
  let doneRange: { since: number; until: number } | null = null;
  const seen = new BoundedCollector(
    keepFor(options.maxOutput ?? DEFAULT_MAX_OUTPUT),
  );
  const matcher = options.pattern && !matchHere
    ? new LocalMatcher(options.pattern)
    : null;
  let lastOutput = performance.now();
  const took = (data: Uint8Array, offset: number) => {
    seen.push(data);
    cursor = offset + data.length;
    lastOutput = performance.now();
    return matcher?.push(data) ?? null;
  };
  while (true) {
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
    const event = await events.next(wake, options.signal);
    if (!event) {
      if (conn.lostError) throw lost(conn.lostError, cursor);
      continue;
    }
    if (isLocalGap(event)) {
      // This wait fell behind the connection, not the buffer: read it back.
      const back = await abortable(readGap(link, name, event), options.signal)
        .catch((error) => {
          throw lost(error, cursor);
        });
      if (back.evicted) {
        result.evicted = true;
        matcher?.skip();
      }
      const match = took(back.data, back.start);
      if (match) {
        result.met = true;
        result.match = match[0];
        break;
      }
      continue;
    }
    if (event.ev === EVENTS.exit) {
      result.shellExit = Number(event.status);
      break;
    }
    if (event.ev === EVENTS.done && options.done) {
      result.met = true;
      result.exitCode = event.exit == null ? null : Number(event.exit);
      result.cursor = Number(event.end);
      if (event.seq != null && event.start != null) {
        result.commandId = Number(event.seq);
        doneRange = { since: Number(event.start), until: Number(event.end) };
      }
      break;
    }
    if (event.ev === EVENTS.idle && idleHere) {
      result.met = true;
      cursor = Number(event.end);
      break;
    }
    if (event.ev === EVENTS.match_failed && matchHere) {
      // The daemon's search went over its budget (pattern_too_slow).
      const code = String(event.code);
      throw new SesshError(
        isErrorCode(code) ? code : "remote",
        String(event.message),
      );
    }
    if (event.ev === EVENTS.match && matchHere) {
      result.met = true;
      result.match = String(event.match);
      if (event.evicted) result.evicted = true;
      cursor = Number(event.end);
      break;
    }
    if (event.ev === EVENTS.gap) {
      // This reader fell behind the buffer: what it missed is gone.
      result.evicted = true;
      cursor = Number(event.end);
      matcher?.skip();
      continue;
    }
    if (event.ev !== EVENTS.output) continue;
    const match = took(bytesField(event.data), Number(event.offset));
    if (match) {
      result.met = true;
      result.match = match[0];
      break;
    }
  }
  if (!options.done) result.cursor = cursor;
  // The watch ends with the wait: output would go on filling the
  // connection's queue for nobody, and a pattern or idleness not met would
  // be told later, to a call that did not ask.
  if (fields.output || (!result.met && (fields.match || fields.idle_ms))) {
    events[Symbol.dispose]();
    await unwatch(link, name);
  }
  // Silence until the deadline may be a dead link: a timeout is only
  // reported as such once the daemon has shown it is still there.
  if (!result.met && result.shellExit === null) {
    await conn.request(OPS.ping, {}, { timeoutMs: FINAL_READ_MS })
      .catch((error) => {
        throw lost(error, cursor);
      });
  }
  let collected: { data: Uint8Array; splitAt?: number } | null = seen.bytes
    ? seen.take()
    : null;
  const readBack = doneRange ??
    (idleHere || matchHere
      ? (result.met
        ? { since: Number(sub.start), until: cursor }
        : { since: Number(sub.start) })
      : null);
  // What is read after the wait may take what is left of its time: on a
  // link busy with a copy, a reply waits its turn behind the copy's bytes.
  // Once the time is up, the final read's 1.5 s bound the call's overrun.
  const afterWait = () =>
    Math.max(FINAL_READ_MS, timeoutMs - (performance.now() - started));
  if (readBack && result.shellExit === null) {
    // What came while waiting (or the finished command's output), read now:
    // its head and tail only.
    const range = await readRange(
      conn,
      name,
      readBack,
      {
        timeoutMs: afterWait(),
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
    const cols =
      (await sessionStatus(link, name, { timeoutMs: afterWait() }).catch(() =>
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

/** Stands where output went by unseen: no match may span it or begin the text at it. */
const GAP_MARK = "\uffff";

/**
 * Looks for a pattern in output here, as the daemon's `TextMatcher` does
 * there: in the output as text without escape sequences and with "\n"
 * line ends, as `output` shows it, each piece
 * searched with up to {@linkcode MATCH_OVERLAP} characters before it, so
 * that a match may span pieces while a flood costs time linear in its size.
 */
export class LocalMatcher {
  #pattern: RegExp;
  #stripper = new AnsiStripper();
  #text = "";
  /** Carriage returns at the end, held until what follows shows whether they end a line. */
  #cr = "";
  /** Whether #text no longer begins where the output searched began. */
  #cut = false;

  /**
   * @param pattern The caller's pattern; a copy is searched.
   */
  constructor(pattern: RegExp) {
    // Global, so that a search can start past the first character.
    this.#pattern = new RegExp(
      pattern.source,
      pattern.flags.replace(/[gy]/g, "") + "g",
    );
  }

  /**
   * Searches the next piece of output with the text before it.
   *
   * @param data The piece, as received.
   * @returns The first match, or null.
   */
  push(data: Uint8Array): RegExpExecArray | null {
    const clean = this.#cr + this.#stripper.push(data);
    const body = clean.replace(/\r+$/, "");
    this.#cr = clean.slice(body.length);
    // Line ends as `output` shows them: "\n", not the terminal's "\r\n".
    const text = this.#text + body.replace(/\r+\n/g, "\n");
    // Past a cut, index 0 is not the start of the output: a search from 1
    // keeps `^` (without the m flag) from matching there.
    this.#pattern.lastIndex = this.#cut ? 1 : 0;
    const match = this.#pattern.exec(text);
    if (text.length > MATCH_OVERLAP) {
      this.#text = text.slice(-MATCH_OVERLAP);
      this.#cut = true;
    } else this.#text = text;
    return match;
  }

  /** Output went by unseen: what follows is searched apart from what came before. */
  skip(): void {
    this.#stripper = new AnsiStripper();
    this.#cr = "";
    this.#text = GAP_MARK;
    this.#cut = true;
  }
}
