/**
 * `follow`: a session's output as it comes, with gaps where a slow reader
 * was skipped ahead, until the shell exits; the watch ends with it.
 *
 * @module
 */
import { bytesField } from "./wire.ts";
import type { Message } from "../protocol/frame.ts";
import { AnsiStripper } from "../render/ansi_strip.ts";
import { readGap, type SessionLink, unwatch } from "./link.ts";
import { abortable } from "../abort.ts";
import { isLocalGap } from "../transport/mailbox.ts";
import { sessionInfo } from "./wire.ts";
import { EVENTS, OPS } from "../contract/spec.ts";

/** The last line of a session's output tail, without escape sequences. */
function lastLine(tail: Uint8Array | undefined): string {
  const text = new AnsiStripper().push(tail ?? new Uint8Array());
  const lines = text.replaceAll("\r", "\n").split("\n")
    .filter((line) => line.trim() !== "");
  return lines.at(-1) ?? "";
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
  /**
   * Lend the bytes of each piece (`raw`) rather than give them: they stay
   * valid until the next piece is asked for (the callback returns), then
   * later output is read into them. A flood then goes through a few
   * buffers instead of fresh memory for each piece; copy what you keep.
   * @default {false}
   */
  lendRaw?: boolean;
  /**
   * Pace the connection by this reader: while it is far behind, nothing
   * more is read from the connection (and the daemon holds the output),
   * rather than the output being left out and read back later, which costs
   * the bytes twice. Every other call on the connection waits meanwhile:
   * for a connection that serves this follow alone.
   * @default {false}
   */
  pause?: boolean;
  /**
   * Stops following: once aborted, the follow rejects with `signal.reason`
   * (an `AbortError` `DOMException` by default), as every call with a
   * signal does; leaving the loop early (`break`) ends it quietly.
   */
  signal?: AbortSignal;
  /**
   * Called with the cursors of output that went by unseen: the reader fell
   * behind the session's buffer during a flood and was skipped ahead.
   */
  onGap?: (start: number, end: number) => void | Promise<void>;
  /**
   * Also yield the session's events: a command started or done, and the
   * shell awaiting input after output went quiet (the heuristics of
   * `status`).
   * @default {false}
   */
  events?: boolean;
}

/** What {@linkcode Session.follow} yields with `events: true`, besides output, gaps and the exit. */
export type SessionEvent =
  | {
    /**
     * The first piece: the watch has begun. Output before `cursor` (from
     * `since`) still comes; events before it do not.
     */
    type: "watching";
    /** Where live events begin. */
    cursor: number;
  }
  | {
    /** A command started. */
    type: "started";
    /** Its id when `run` typed it, else null. */
    commandId: number | null;
    /** Its text when `run` typed it, else null. */
    command: string | null;
    /** Cursor where its output begins. */
    cursor: number;
  }
  | {
    /** A command finished. */
    type: "done";
    /** Its id when `run` typed it, else null. */
    commandId: number | null;
    /** Its exit status (null: superseded). */
    exitCode: number | null;
    /** How long it ran, when `run` typed it. */
    durationMs: number | null;
    /** Cursor where its output ends. */
    cursor: number;
  }
  | {
    /** Output went quiet at what looks like a prompt for input. */
    type: "waiting_input";
    /** The last line of output. */
    prompt: string;
    /** Cursor at the end of the output. */
    cursor: number;
  };

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
  }
  | SessionEvent;

/** How long output must be quiet before the session is asked whether it awaits input. */
const QUIET_MS = 500;

/**
 * The session's output from `options.since` (or now) on, as pieces (see
 * `Session.follow()`).
 *
 * @param link The link to the daemon.
 * @param name The session.
 * @param options Start cursor, raw mode, an abort signal.
 * @returns The pieces, in order; the shell's exit is the last.
 */
export async function* followPieces(
  link: SessionLink,
  name: string,
  options: FollowOptions,
): AsyncIterableIterator<FollowPiece> {
  const conn = link.connection;
  const fields: Message = { name: name, output: true };
  if (options.since !== undefined) fields.since = options.since;
  const endTurn = await conn.watchTurn(name, Infinity, options.signal);
  // Open before the request: the backlog from `since` follows its reply.
  const events = conn.subscribe(name, {
    watch: true,
    overflow: options.pause ? "pause" : "gap",
  });
  try {
    const sub = await abortable(
      conn.request(OPS.subscribe, fields),
      options.signal,
    );
    if (options.events) yield { type: "watching", cursor: Number(sub.end) };
    if (sub.evicted && options.since !== undefined) {
      yield { type: "gap", start: options.since, end: Number(sub.start) };
    }
    const stripper = new AnsiStripper();
    // With events: when output last came, and whether a prompt check is due.
    let quietSince = performance.now();
    let promptDue = false;
    let cursor = Number(sub.start);
    while (true) {
      const event = await events.next(
        options.events && promptDue ? 100 : 250,
        options.signal,
      );
      if (!event) {
        if (conn.lostError) throw conn.lostError;
        if (promptDue && performance.now() - quietSince >= QUIET_MS) {
          promptDue = false;
          const reply = await conn.request(OPS.info, { name }, {
            timeoutMs: 5_000,
          });
          const session = reply.session as Message;
          if (sessionInfo(session).waitingInput) {
            const tail = session.tail instanceof Uint8Array
              ? session.tail
              : undefined;
            yield { type: "waiting_input", prompt: lastLine(tail), cursor };
          }
        }
        continue;
      }
      if (isLocalGap(event)) {
        // This reader fell behind the connection: what it missed is still
        // in the buffer, unless the buffer moved on meanwhile.
        const back = await abortable(
          readGap(link, name, event),
          options.signal,
        );
        if (back.evicted) {
          yield { type: "gap", start: Number(event.start), end: back.start };
        }
        cursor = back.start + back.data.length;
        if (back.data.length) {
          yield {
            type: "output",
            text: options.raw ? "" : stripper.push(back.data),
            raw: back.data,
            cursor,
          };
        }
        continue;
      }
      if (event.ev === EVENTS.output) {
        const raw = bytesField(event.data);
        cursor = Number(event.offset) + raw.length;
        quietSince = performance.now();
        promptDue = Boolean(options.events);
        yield {
          type: "output",
          text: options.raw ? "" : stripper.push(raw),
          raw,
          cursor,
        };
        if (options.lendRaw) conn.recycle(raw);
      } else if (event.ev === EVENTS.started && options.events) {
        yield {
          type: "started",
          commandId: event.seq == null ? null : Number(event.seq),
          command: event.command == null ? null : String(event.command),
          cursor: Number(event.offset),
        };
      } else if (event.ev === EVENTS.done && options.events) {
        yield {
          type: "done",
          commandId: event.seq == null ? null : Number(event.seq),
          exitCode: event.exit == null ? null : Number(event.exit),
          durationMs: event.duration_ms == null
            ? null
            : Number(event.duration_ms),
          cursor: Number(event.end),
        };
      } else if (event.ev === EVENTS.gap) {
        yield {
          type: "gap",
          start: Number(event.start),
          end: Number(event.end),
        };
      } else if (event.ev === EVENTS.exit) {
        yield { type: "exit", status: Number(event.status) };
        return;
      }
    }
  } finally {
    events[Symbol.dispose]();
    await unwatch(link, name);
    endTurn!();
  }
}
