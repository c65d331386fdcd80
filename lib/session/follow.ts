/**
 * `follow`: a session's output as it comes, with gaps where a slow reader
 * was skipped ahead, until the shell exits; the watch ends with it.
 *
 * @module
 */
import { bytesField } from "./wire.ts";
import type { Message } from "../protocol/frame.ts";
import { AnsiStripper } from "../render/ansi_strip.ts";
import { type SessionLink, unwatch } from "./link.ts";

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
      if (event.name !== name) continue;
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
    await unwatch(link, name);
  }
}
