/**
 * The commands `run` typed into a session, as the daemon keeps them (the
 * last 100 of each session): a command's id gives its exit status and its
 * output later, so that a long job can be polled instead of waited on.
 *
 * @module
 */
import type { Message } from "../protocol/frame.ts";
import { SesshError } from "../errors.ts";
import {
  boundedText,
  DEFAULT_MAX_OUTPUT,
  keepFor,
  type OutputRange,
  readRange,
  replyRange,
  stripPromptTail,
} from "./output.ts";
import type { SessionLink } from "./link.ts";
import { CAPS, OPS } from "../contract/spec.ts";

/** One command typed by `run`, as the daemon keeps it. */
export interface CommandRecord {
  /** Its id, unique within the session (`RunResult.commandId`). */
  commandId: number;
  /** The command text (its first 4 KiB). */
  command: string;
  /** Cursor where its output begins. */
  outputStart: number;
  /** Cursor where its output ends; null while it runs. */
  outputEnd: number | null;
  /** Its exit status; null while it runs, or when it was superseded. */
  exitCode: number | null;
  /** Whether it still runs. */
  running: boolean;
  /** Whether a later `run` with `force` interrupted it. */
  superseded: boolean;
  /** When it was typed. */
  startedAt: Date;
  /** When it finished; null while it runs. */
  endedAt: Date | null;
  /** How long it ran; null while it runs. */
  durationMs: number | null;
}

/** A command of the history with its output. */
export interface CommandResult extends CommandRecord {
  /** Its output as text, head and tail kept within `maxOutput`. */
  output: string;
  /** Whether the middle of the output was cut. */
  truncated: boolean;
  /** Whether part of its output has left the buffer: `output` is what remains. */
  evicted: boolean;
  /** Cursor after the output returned, to read on from with `logs({ since })`. */
  cursor: number;
}

/** A command as `result` answered: its record, and its output when the daemon sent it along. */
export interface AskedCommand {
  /** The command. */
  record: CommandRecord;
  /** Its output, or null when it is to be read apart. */
  range: OutputRange | null;
}

/** Options for {@linkcode Session.result}. */
export interface ResultOptions {
  /** The command's id; by default the latest command. */
  commandId?: number;
  /**
   * Largest output text to return, in bytes (head and tail are kept).
   * @default {102400}
   */
  maxOutput?: number;
}

function record(entry: Message): CommandRecord {
  const ended = entry.ended == null ? null : Number(entry.ended);
  const started = Number(entry.started);
  return {
    commandId: Number(entry.id),
    command: String(entry.command),
    outputStart: Number(entry.start),
    outputEnd: entry.end == null ? null : Number(entry.end),
    exitCode: entry.exit == null ? null : Number(entry.exit),
    running: entry.end == null,
    superseded: Boolean(entry.superseded),
    startedAt: new Date(started),
    endedAt: ended === null ? null : new Date(ended),
    durationMs: ended === null ? null : ended - started,
  };
}

function requireHistory(link: SessionLink): void {
  if (link.daemon.caps.includes(CAPS.history)) return;
  throw new SesshError(
    "remote",
    `The sessh daemon on ${link.destination.display} predates command history; close its sessions so that the next call starts a current one`,
  );
}

/**
 * The session's last commands typed by `run`, oldest first.
 *
 * @param link The link to the daemon.
 * @param name The session.
 * @returns The commands.
 */
export async function commandHistory(
  link: SessionLink,
  name: string,
): Promise<CommandRecord[]> {
  requireHistory(link);
  const reply = await link.connection.request(OPS.history, { name });
  return (reply.commands as Message[]).map(record);
}

/**
 * One command of the history with its output: finished (exit status and
 * output), still running (output so far), or with part of its output
 * evicted (what remains).
 *
 * @param link The link to the daemon.
 * @param name The session.
 * @param options Which command (default: the latest), output bound.
 * @returns The command and its output.
 * @throws {SesshError} `no_command` for an id the history does not hold.
 */
export async function commandResult(
  link: SessionLink,
  name: string,
  options: ResultOptions = {},
): Promise<CommandResult> {
  return await commandOutput(
    link,
    name,
    await commandRecord(link, name, options),
    options,
  );
}

/**
 * One command of the history, with its output when the daemon can send it
 * along (it has finished, and what is left of it is short enough to be kept
 * whole): the first half of {@linkcode commandResult}, for a caller that
 * sends its request beside another one.
 *
 * @param link The link to the daemon.
 * @param name The session.
 * @param options Which command (default: the latest), output bound.
 * @returns The command as the daemon keeps it, and its output or null.
 * @throws {SesshError} `no_command` for an id the history does not hold.
 */
export async function commandRecord(
  link: SessionLink,
  name: string,
  options: ResultOptions = {},
): Promise<AskedCommand> {
  requireHistory(link);
  const fields: Message = { name };
  if (options.commandId !== undefined) fields.command_id = options.commandId;
  // What readRange() would keep whole comes along: a second request would
  // cost a round trip.
  if (link.daemon.caps.includes(CAPS.result_output)) {
    fields.output = 2 * keepFor(options.maxOutput ?? DEFAULT_MAX_OUTPUT);
  }
  const reply = await link.connection.request(OPS.result, fields);
  return {
    record: record(reply.command as Message),
    range: reply.data == null ? null : replyRange(reply),
  };
}

/**
 * The output of a command of the history: the second half of
 * {@linkcode commandResult}.
 *
 * @param link The link to the daemon.
 * @param name The session.
 * @param asked The command, from {@linkcode commandRecord}.
 * @param options Output bound.
 * @returns The command and its output.
 */
export async function commandOutput(
  link: SessionLink,
  name: string,
  asked: AskedCommand,
  options: ResultOptions = {},
): Promise<CommandResult> {
  const command = asked.record;
  const maxOutput = options.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const range = asked.range ?? await readRange(
    link.connection,
    name,
    command.outputEnd === null
      ? { since: command.outputStart }
      : { since: command.outputStart, until: command.outputEnd },
    { keep: keepFor(maxOutput) },
  );
  const data = command.running ? range.data : stripPromptTail(range.data);
  const text = await boundedText(
    data,
    range.size?.cols ?? 160,
    maxOutput,
    undefined,
    range.splitAt,
  );
  return {
    ...command,
    output: text.text,
    truncated: text.truncated,
    evicted: range.evicted,
    cursor: range.end,
  };
}
