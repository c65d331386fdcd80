/**
 * `events`, and `logs --follow --json`: a session's output and events as
 * JSON lines, one object per line, for programs that watch a session.
 *
 * Each line has a `type`:
 * - `watching`: the first line; events from `cursor` on are reported (output
 *   from `--since` on);
 * - `output`: `text` (escape sequences removed), `start` and `end` cursors;
 * - `gap`: output from `start` to `end` went by unseen (a slow reader);
 * - `started`: a command began (`command_id` and `command` when `run`
 *   typed it), its output from `cursor`;
 * - `done`: a command ended: `command_id`, `exit_code`, `duration_ms`,
 *   `cursor`;
 * - `waiting_input`: output went quiet at what looks like a prompt:
 *   `prompt` (the last line), `cursor`;
 * - `exit`: the shell exited with `status`; the last line.
 *
 * @module
 */
import type { FollowPiece, Session } from "../../session/session.ts";
import {
  type CommonFlags,
  connect,
  type Outcome,
  type StreamSink,
  type Target,
} from "../call.ts";
import { targetVerb } from "../context.ts";

/** Options of `events`. */
export interface EventsFlags extends CommonFlags {
  /** Start from this cursor (default: now). */
  since?: number;
}

/**
 * One piece of a follow as its JSON line's object.
 *
 * @param piece The piece.
 * @returns The object.
 *
 * @example
 * ```ts
 * import { pieceJson } from "./events.ts";
 * const raw = new TextEncoder().encode("hi\r\n");
 * console.log(pieceJson({ type: "output", text: "hi\r\n", raw, cursor: 104 }));
 * // { type: "output", text: "hi\r\n", start: 100, end: 104 }
 * ```
 */
export function pieceJson(piece: FollowPiece): Record<string, unknown> {
  switch (piece.type) {
    case "watching":
      return { type: "watching", cursor: piece.cursor };
    case "output":
      return {
        type: "output",
        text: piece.text,
        start: piece.cursor - piece.raw.length,
        end: piece.cursor,
      };
    case "gap":
      return { type: "gap", start: piece.start, end: piece.end };
    case "started":
      return {
        type: "started",
        command_id: piece.commandId,
        command: piece.command,
        cursor: piece.cursor,
      };
    case "done":
      return {
        type: "done",
        command_id: piece.commandId,
        exit_code: piece.exitCode,
        duration_ms: piece.durationMs,
        cursor: piece.cursor,
      };
    case "waiting_input":
      return {
        type: "waiting_input",
        prompt: piece.prompt,
        cursor: piece.cursor,
      };
    case "exit":
      return { type: "exit", status: piece.status };
  }
}

/**
 * Writes a session's pieces as JSON lines until the shell exits or the
 * sink's signal stops it.
 *
 * @param session The session.
 * @param since Where to start; undefined: now.
 * @param sink Where the lines go.
 * @param events Whether command events and prompts are included.
 * @returns The shell's exit status, when it exited.
 */
export async function followAsJson(
  session: Session,
  since: number | undefined,
  sink: StreamSink,
  events: boolean,
): Promise<number | null> {
  try {
    for await (
      const piece of session.follow({ since, events, signal: sink.signal })
    ) {
      await sink.write(JSON.stringify(pieceJson(piece)) + "\n");
      if (piece.type === "exit") return piece.status;
    }
  } catch (error) {
    // Interrupted by the user: the stream simply ends.
    if (!sink.signal.aborted) throw error;
  }
  return null;
}

/**
 * `events NAME DEST`: the session's output and events as JSON lines, until
 * interrupted or the shell exits.
 *
 * @param t NAME DEST [PORT].
 * @param flags Options.
 * @param sink Where the lines go.
 * @returns The outcome.
 */
export async function eventsCommand(
  t: Target,
  flags: EventsFlags,
  sink: StreamSink,
): Promise<Outcome> {
  await using client = await connect(t, flags);
  const exit = await followAsJson(
    client.session(t.name),
    flags.since,
    sink,
    true,
  );
  return {
    op: "events",
    fields: { name: t.name, shell_exit: exit },
    text: "",
    exitCode: 0,
  };
}

/** `events`, as its grammar in `events_command.ts` calls it. */
export const events = targetVerb<EventsFlags>((t, flags, context) =>
  eventsCommand(t, flags, context.sink)
);
