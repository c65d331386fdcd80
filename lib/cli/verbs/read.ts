/**
 * `logs`, `screen` and `wait`: read a session's output, as text, bytes,
 * a stream or the screen, and wait for it.
 *
 * @module
 */
import { formatScreen, type Screen } from "../../render/screen.ts";
import { followAsJson } from "./events.ts";
import { waitJson } from "../../report/result_json.ts";
import { UsageError } from "../../errors.ts";
import {
  type CallContext,
  type CommonFlags,
  connect,
  type Outcome,
  remaining,
  type StreamSink,
  type Target,
  timeoutFlag,
} from "../call.ts";
import { verb } from "../context.ts";
import { type FleetFlags, hostsVerb, targetHostsVerb } from "../hosts.ts";
import { parseCount } from "../args.ts";
import { logsJson } from "../../report/result_json.ts";

/** Options of `logs`. */
export interface LogsFlags extends CommonFlags {
  /** Only output after this cursor. */
  since?: number;
  /** The bytes as received. */
  raw?: boolean;
  /** Keep streaming. */
  follow?: boolean;
  /** Bound on the text in bytes. */
  maxOutput?: number;
}

/**
 * `logs NAME DEST [LINES]`: recent output as text, raw, since a cursor, or followed.
 *
 * @param t NAME DEST [PORT].
 * @param lines How many lines.
 * @param flags Options.
 * @param sink Where `--follow` streams.
 * @returns The outcome.
 */
export async function logsCommand(
  t: Target,
  lines: number,
  flags: LogsFlags,
  sink: StreamSink,
): Promise<Outcome> {
  const since = flags.since;
  const maxOutput = flags.maxOutput;
  await using client = await connect(t, flags);
  const session = client.session(t.name);
  // Raw bytes stream straight out in human mode: a full buffer may hold
  // hundreds of megabytes.
  const streamRaw = flags.raw && !sink.json;
  const readLogs = (from: number | undefined) =>
    session.logs({
      lines,
      since: from,
      raw: flags.raw,
      maxOutput,
      onRaw: streamRaw ? (data) => sink.write(data) : undefined,
    });
  if (flags.follow && sink.json) {
    // JSON lines: the last lines as one output line, then what comes.
    let from = since;
    if (from === undefined) {
      const result = await readLogs(undefined);
      await sink.write(
        JSON.stringify({
          type: "output",
          text: result.output,
          start: null,
          end: result.cursor,
        }) + "\n",
      );
      from = result.cursor;
    }
    const exit = await followAsJson(session, from, sink, false);
    return {
      op: "logs",
      fields: { name: t.name, shell_exit: exit },
      text: "",
      exitCode: 0,
    };
  }
  if (flags.follow) {
    let from = since;
    if (from === undefined) {
      // The last lines first, then what comes. From a cursor, the follow
      // itself goes through what is buffered: the daemon pushes it paced,
      // several times faster than a read asks for it part by part.
      const result = await readLogs(undefined);
      await sink.write(
        flags.raw ? result.raw ?? new Uint8Array() : result.output,
      );
      from = result.cursor;
    }
    const exit = await session.follow(
      (text, raw) => sink.write(flags.raw ? raw : text),
      {
        since: from,
        raw: flags.raw,
        // Each piece is out on stdout when the write resolves; the call's
        // connection serves this follow alone, so stdout paces it.
        lendRaw: true,
        pause: true,
        signal: sink.signal,
        onGap: (start, end) =>
          sink.notice(
            `sessh: ${
              end - start
            } bytes of output went by unseen (this reader fell behind the buffer); following from cursor ${end}`,
          ),
      },
    ).catch((error) => {
      // Interrupted by the user: the follow ends as the shell's exit would not.
      if (sink.signal.aborted) return null;
      throw error;
    });
    return {
      op: "logs",
      fields: { name: t.name, shell_exit: exit },
      text: "",
      notice: exit === null
        ? undefined
        : `sessh: the shell exited with status ${exit}`,
      exitCode: 0,
    };
  }
  const result = await readLogs(since);
  const notice = result.evicted
    ? flags.since !== undefined
      ? "sessh: part of the output after that cursor has already left the buffer; showing what remains"
      : `sessh: the buffer no longer holds ${lines} lines; older ones were evicted, and this starts at the oldest whole line left`
    : result.truncated
    ? `sessh: output truncated in the middle; narrow it with a LINES count or --since`
    : undefined;
  return {
    op: "logs",
    fields: {
      name: t.name,
      ...logsJson(result),
      ...(flags.raw
        ? { output: new TextDecoder().decode(result.raw ?? new Uint8Array()) }
        : {}),
    },
    text: flags.raw ? result.raw ?? new Uint8Array() : result.output,
    notice,
    exitCode: 0,
  };
}

/**
 * `screen NAME DEST [LINES]`: the visible screen and cursor; with LINES,
 * the last LINES lines, those scrolled off above the screen too.
 *
 * @param t NAME DEST [PORT].
 * @param lines How many lines, or undefined for the screen as it is.
 * @param flags Options.
 * @returns The outcome.
 */
export async function screenCommand(
  t: Target,
  lines: number | undefined,
  flags: CommonFlags,
): Promise<Outcome> {
  await using client = await connect(t, flags);
  const screen = await client.session(t.name).screen({ scrollback: lines });
  const text = lines === undefined
    ? formatScreen(screen)
    : lastLines(screen, lines);
  return {
    op: "screen",
    fields: {
      name: t.name,
      lines: screen.lines,
      cursor: screen.cursor,
      cols: screen.cols,
      rows: screen.rows,
      alt_screen: screen.altScreen,
      ...(screen.scrollback ? { scrollback: screen.scrollback } : {}),
    },
    text: text + "\n",
    notice:
      `sessh: cursor at row ${screen.cursor.row + 1}, column ${
        screen.cursor.col + 1
      } ` +
      `(${screen.cols}x${screen.rows}${
        screen.altScreen ? ", alternate screen" : ""
      })`,
    exitCode: 0,
  };
}

/** Options of `wait`. */
export interface WaitFlags extends CommonFlags {
  /** Until output matches. */
  for?: RegExp;
  /** Until quiet for this many milliseconds. */
  idle?: number;
  /** Until the running command finishes. */
  done?: boolean;
  /** Deadline in milliseconds. */
  timeout?: number;
  /** Consider output from this cursor on. */
  since?: number;
  /** Bound on the output in bytes. */
  maxOutput?: number;
}

/**
 * `wait NAME DEST`: block until a pattern, idleness or the command's end.
 *
 * @param t NAME DEST [PORT].
 * @param flags Options.
 * @param call Environment for `SESSH_TIMEOUT`, and the call's deadline.
 * @returns The outcome; exit 124 on timeout.
 */
export async function waitCommand(
  t: Target,
  flags: WaitFlags,
  call: CallContext,
): Promise<Outcome> {
  const env = call.env;
  const pattern = flags.for;
  const idleMs = flags.idle;
  const conditions = [pattern, idleMs, flags.done ? true : undefined];
  if (conditions.filter((c) => c !== undefined).length !== 1) {
    throw new UsageError(
      "Pass exactly one of --for REGEX, --idle MS or --done",
    );
  }
  const timeoutMs = timeoutFlag(flags, env);
  const deadline = performance.now() + timeoutMs;
  call.endBy(timeoutMs);
  const since = flags.since;
  const maxOutput = flags.maxOutput;
  await using client = await connect(t, flags, { budgetMs: timeoutMs });
  const result = await client.session(t.name).wait({
    pattern,
    idleMs,
    done: flags.done,
    timeoutMs: remaining(deadline),
    since,
    maxOutput,
    signal: call.cancel,
  });
  const fields = { name: t.name, ...waitJson(result) };
  const skipped = result.evicted
    ? "sessh: part of the output went by unseen (this wait fell behind the session's buffer)\n"
    : "";
  if (result.shellExit !== null) {
    return {
      op: "wait",
      fields,
      text: result.output,
      notice:
        `sessh: the shell exited with status ${result.shellExit} while waiting`,
      exitCode: 1,
    };
  }
  if (!result.met) {
    return {
      op: "wait",
      fields,
      text: result.output,
      notice: `sessh: timed out after ${
        timeoutMs / 1000
      } s; resume with --since ${result.cursor}`,
      exitCode: 124,
    };
  }
  return {
    op: "wait",
    fields,
    text: result.output,
    notice: skipped.trimEnd() || undefined,
    exitCode: 0,
  };
}

/** `logs` without LINES: `SESSH_LOG_LINES_DEFAULT`, as the bash sessh read it, else 300. */
function defaultLines(env: Record<string, string | undefined>): number {
  const value = env.SESSH_LOG_LINES_DEFAULT;
  return value
    ? parseCount(value, "SESSH_LOG_LINES_DEFAULT", {
      min: 1,
      max: 100_000_000,
    })
    : 300;
}

/** `logs`, as its grammar in `read_command.ts` calls it. */
export const logs = hostsVerb("logs", 1, (
  context,
  flags: LogsFlags & FleetFlags,
  name: string,
  dest: string,
  lines: number | undefined,
  port: string | undefined,
) =>
  logsCommand(
    { name, dest, port, env: context.env },
    lines ?? defaultLines(context.env),
    flags,
    context.sink,
  ));

/**
 * The last `count` lines of the scrollback and the screen, without the
 * empty rows below the last one written.
 */
function lastLines(screen: Screen, count: number): string {
  const visible = formatScreen(screen);
  const all = [...screen.scrollback ?? [], ...visible.split("\n")];
  return all.slice(-count).join("\n");
}

/** `screen`, as its grammar in `read_command.ts` calls it. */
export const screen = verb((
  context,
  flags: CommonFlags,
  name: string,
  dest: string,
  lines: number | undefined,
  port: string | undefined,
) => screenCommand({ name, dest, port, env: context.env }, lines, flags));

/** `wait`, as its grammar in `read_command.ts` calls it. */
export const wait = targetHostsVerb<WaitFlags & FleetFlags>(
  "wait",
  (t, flags, context) => waitCommand(t, flags, context),
);
