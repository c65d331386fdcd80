/**
 * The command handlers behind each verb. They connect, do the work and
 * return an {@linkcode Outcome}; printing and exiting are left to `cli.ts`.
 *
 * @module
 */
import { SesshClient } from "../session/client.ts";
import type { SshFlags } from "../ssh/settings.ts";
import { SesshError, UsageError } from "../errors.ts";
import { parseSeconds, PAYLOADS } from "./args.ts";
import { formatList, formatStatus, statusJson } from "./format.ts";
import { formatScreen } from "../render/screen.ts";

/** Flags every verb accepts. */
export interface CommonFlags {
  /** Print one JSON object. */
  json?: boolean;
  /** ssh -p. */
  port?: string;
  /** ssh -i. */
  identity?: string;
  /** ssh -J. */
  jump?: string;
  /** ssh -F. */
  config?: string;
  /** ssh -o, repeatable. */
  option?: string[];
  /** ssh -A. */
  forwardAgent?: boolean;
}

/** What a command produced, for `cli.ts` to print. */
export interface Outcome {
  /** The verb, as printed in JSON `op`. */
  op: string;
  /** Fields of the JSON object (besides `ok` and `op`). */
  fields: Record<string, unknown>;
  /** Text for stdout in human mode. */
  text: string | Uint8Array;
  /** A note for stderr in human mode (truncation, timeouts). */
  notice?: string;
  /** Exit code. */
  exitCode: number;
}

/** Where streaming commands (`logs --follow`) write as they go. */
export interface StreamSink {
  /** Writes to stdout. */
  write(data: string | Uint8Array): Promise<void>;
  /** Writes a line to stderr (human mode) while the stream goes on. */
  notice(line: string): Promise<void>;
  /** Whether the call prints one JSON object (nothing may stream then). */
  readonly json: boolean;
  /** Aborted when the user interrupts. */
  signal: AbortSignal;
}

/** What a verb with a deadline needs from the command line around it. */
export interface CallContext {
  /** Environment (`SESSH_TIMEOUT`). */
  env: Record<string, string | undefined>;
  /**
   * Announces that the call must end within this many milliseconds from
   * now; past that (and a grace period) the command line stops it from
   * outside, whatever it waits on.
   */
  endBy(ms: number): void;
}

/** The positionals NAME DEST and an optional trailing PORT. */
export interface Target {
  /** Session name. */
  name: string;
  /** Destination. */
  dest: string;
  /** Trailing PORT argument. */
  port?: string;
}

/**
 * Turns common flags into ssh flags.
 *
 * @param flags The parsed flags.
 * @returns ssh flags.
 */
export function sshFlags(flags: CommonFlags): SshFlags {
  return {
    port: flags.port,
    identity: flags.identity,
    jump: flags.jump,
    configFile: flags.config,
    options: [
      ...(flags.forwardAgent ? ["ForwardAgent=yes"] : []),
      ...(flags.option ?? []),
    ],
  };
}

/** `--timeout` in milliseconds, else `SESSH_TIMEOUT`, else 60 s. */
function timeoutFlag(
  flags: { timeout?: number },
  env: Record<string, string | undefined>,
): number {
  return flags.timeout ??
    parseSeconds(env.SESSH_TIMEOUT ?? "60", "SESSH_TIMEOUT");
}

/** The payload after `--`, which `run`, `send` and `keys` require. */
function payloadOf(verb: keyof typeof PAYLOADS, payload: string[] | null) {
  if (payload === null) {
    const what = PAYLOADS[verb];
    throw new UsageError(
      `No ${what} given; put it after --: sessh ${verb} NAME DEST -- ${what}`,
    );
  }
  return payload;
}

/**
 * Connects for one call. With `budgetMs` (the call's `--timeout`) giving up
 * comes no later than that; whatever fails here failed before anything was
 * sent, and the error says so.
 */
async function connect(
  t: { dest: string; port?: string },
  flags: CommonFlags,
  options: { budgetMs?: number; delivers?: boolean } = {},
): Promise<SesshClient> {
  const { budgetMs, delivers } = options;
  const settings = SesshClient.prepare({
    destination: t.dest,
    port: t.port,
    ssh: sshFlags(flags),
  }).settings;
  const usual = (settings.connectTimeoutSeconds + 5) * 1000;
  try {
    return await SesshClient.connect({
      destination: t.dest,
      port: t.port,
      ssh: sshFlags(flags),
      connectTimeoutMs: Math.min(usual, budgetMs ?? usual),
      warm: Deno.env.get("SESSH_AGENT") !== "0",
    });
  } catch (error) {
    if (delivers && error instanceof SesshError) {
      error.details.sent ??= "not_sent";
    }
    throw error;
  }
}

/** Milliseconds left of a call that must end by `deadline` (a `performance.now()` time). */
function remaining(deadline: number): number {
  return Math.max(0, deadline - performance.now());
}

/** Options of `open` (and of `run`, which opens a missing session). */
export interface OpenFlags extends CommonFlags {
  /** Shell to start instead of the login shell. */
  shell?: string;
  /** Set the pager variables (default true). */
  agentEnv?: boolean;
  /** Output buffer in bytes. */
  bufferSize?: number;
  /** Terminal width. */
  cols?: number;
  /** Terminal height. */
  rows?: number;
  /** TERM. */
  term?: string;
}

function openOptions(flags: OpenFlags) {
  return {
    shell: flags.shell,
    agentEnv: flags.agentEnv ?? true,
    bufferSize: flags.bufferSize,
    cols: flags.cols,
    rows: flags.rows,
    term: flags.term,
  };
}

/**
 * `open NAME DEST`: create the session or reuse it.
 *
 * @param t NAME DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function openCommand(
  t: Target,
  flags: OpenFlags,
): Promise<Outcome> {
  const options = openOptions(flags);
  await using client = await connect(t, flags);
  const { created, session } = await client.open(t.name, options);
  return {
    op: "open",
    fields: { name: t.name, created, pid: session.pid, shell: session.shell },
    text: `${
      created ? "opened" : "reusing"
    } session ${t.name} (pid ${session.pid}, ${session.shell})\n`,
    exitCode: 0,
  };
}

/** Options of `run`. */
export interface RunFlags extends OpenFlags {
  /** Deadline in milliseconds. */
  timeout?: number;
  /** Wait for the command (default true). */
  wait?: boolean;
  /** Interrupt a running command. */
  force?: boolean;
  /** Bound on the output in bytes. */
  maxOutput?: number;
}

/**
 * `run NAME DEST -- COMMAND…`: type a command and wait for it.
 *
 * @param t NAME DEST [PORT].
 * @param payload The words after `--`.
 * @param flags Options.
 * @param call Environment for `SESSH_TIMEOUT`, and the call's deadline.
 * @returns The outcome; the exit code is the command's.
 */
export async function runCommand(
  t: Target,
  payload: string[] | null,
  flags: RunFlags,
  call: CallContext,
): Promise<Outcome> {
  const env = call.env;
  const command = payloadOf("run", payload).join(" ");
  if (command.trim() === "") {
    throw new UsageError(
      "Empty command; put it after --: sessh run NAME DEST -- COMMAND",
    );
  }
  const timeoutMs = timeoutFlag(flags, env);
  const deadline = performance.now() + timeoutMs;
  call.endBy(timeoutMs);
  const maxOutput = flags.maxOutput;
  await using client = await connect(t, flags, {
    budgetMs: timeoutMs,
    delivers: true,
  });
  const result = await client.session(t.name).run(command, {
    timeoutMs: remaining(deadline),
    wait: flags.wait ?? true,
    force: flags.force,
    maxOutput,
    open: openOptions(flags),
  });
  const fields = {
    name: t.name,
    command_id: result.commandId,
    exit_code: result.exitCode,
    output: result.output,
    truncated: result.truncated,
    cursor: result.cursor,
    output_start: result.outputStart,
    running: result.running,
    duration_ms: result.durationMs,
    created: result.created,
    shell_exited: result.shellExit !== null,
    superseded: result.superseded,
  };
  const where = `${t.name} ${t.dest}`;
  const notices: string[] = [];
  if (result.truncated) {
    notices.push(
      `sessh: output truncated in the middle; all of it: sessh logs ${where} --since ${result.outputStart} --raw`,
    );
  }
  if (result.evicted) {
    notices.push(
      "sessh: the start of this output had already left the session's buffer",
    );
  }
  if (flags.wait === false) {
    return {
      op: "run",
      fields,
      text: "",
      notice:
        `sessh: typed into ${t.name}; output: sessh logs ${where} --since ${result.cursor}`,
      exitCode: 0,
    };
  }
  if (result.running) {
    notices.push(
      `sessh: still running after ${
        timeoutMs / 1000
      } s; more output: sessh logs ${where} --since ${result.cursor}; ` +
        `wait for it: sessh wait ${where} --done`,
    );
    return {
      op: "run",
      fields,
      text: result.output,
      notice: notices.join("\n"),
      exitCode: 124,
    };
  }
  if (result.shellExit !== null) {
    notices.push(
      `sessh: the shell exited with status ${result.shellExit}; session ${t.name} is gone`,
    );
  }
  if (result.superseded) {
    notices.push(
      `sessh: command ${result.commandId} was interrupted by a later run --force before it finished`,
    );
  }
  return {
    op: "run",
    fields,
    text: result.output,
    notice: notices.join("\n") || undefined,
    exitCode: result.exitCode ?? 1,
  };
}

/**
 * `send NAME DEST -- TEXT`: type literal text.
 *
 * @param t NAME DEST [PORT].
 * @param payload The words after `--`, joined by spaces.
 * @param flags Options (`enter`).
 * @returns The outcome.
 */
export async function sendCommand(
  t: Target,
  payload: string[] | null,
  flags: SendFlags,
): Promise<Outcome> {
  if (flags.file !== undefined && payload !== null) {
    throw new UsageError(
      "Pass the text after -- or --file PATH, not both",
    );
  }
  const text = (payload ?? []).join(" ");
  if (flags.file === undefined) {
    if (payload === null && !flags.enter) payloadOf("send", payload);
    if (text === "" && !flags.enter) {
      throw new UsageError(
        "Empty text; put it after --: sessh send NAME DEST -- TEXT",
      );
    }
  }
  // Opened before connecting: a missing file is a usage error, nothing sent.
  const file = flags.file === undefined || flags.file === "-"
    ? null
    : await Deno.open(flags.file).catch((error) => {
      throw new UsageError(
        `Cannot read --file ${JSON.stringify(flags.file)}: ${
          (error as Error).message
        }`,
      );
    });
  try {
    await using client = await connect(t, flags, { delivers: true });
    const source = flags.file === undefined
      ? text
      : file
      ? file.readable
      : Deno.stdin.readable;
    const written = await client.session(t.name).send(source, {
      enter: flags.enter,
    });
    return {
      op: "send",
      fields: { name: t.name, bytes: written },
      text: "",
      exitCode: 0,
    };
  } finally {
    try {
      file?.close();
    } catch { /* the stream closed it */ }
  }
}

/**
 * `keys NAME DEST -- KEY…`: press keys by tmux name.
 *
 * @param t NAME DEST [PORT].
 * @param payload The key names after `--`.
 * @param flags Options.
 * @returns The outcome.
 */
export async function keysCommand(
  t: Target,
  payload: string[] | null,
  flags: CommonFlags,
): Promise<Outcome> {
  const keys = payloadOf("keys", payload);
  await using client = await connect(t, flags, { delivers: true });
  await client.session(t.name).keys(keys);
  return { op: "keys", fields: { name: t.name, keys }, text: "", exitCode: 0 };
}

/** Options of `send`. */
export interface SendFlags extends CommonFlags {
  /** Press Enter after the text. */
  enter?: boolean;
  /** Send this file's bytes (`-`: stdin) instead of the text after `--`. */
  file?: string;
}

/** Options of `close`. */
export interface CloseFlags extends CommonFlags {
  /** Leave the ssh master running. */
  keepMaster?: boolean;
  /** Milliseconds between SIGHUP and SIGKILL. */
  grace?: number;
}

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
        signal: sink.signal,
        onGap: (start, end) =>
          sink.notice(
            `sessh: ${
              end - start
            } bytes of output went by unseen (this reader fell behind the buffer); following from cursor ${end}`,
          ),
      },
    );
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
      output: flags.raw
        ? new TextDecoder().decode(result.raw ?? new Uint8Array())
        : result.output,
      cursor: result.cursor,
      evicted: result.evicted,
      truncated: result.truncated,
    },
    text: flags.raw ? result.raw ?? new Uint8Array() : result.output,
    notice,
    exitCode: 0,
  };
}

/**
 * `screen NAME DEST`: the visible screen and cursor.
 *
 * @param t NAME DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function screenCommand(
  t: Target,
  flags: CommonFlags,
): Promise<Outcome> {
  await using client = await connect(t, flags);
  const screen = await client.session(t.name).screen();
  return {
    op: "screen",
    fields: {
      name: t.name,
      lines: screen.lines,
      cursor: screen.cursor,
      cols: screen.cols,
      rows: screen.rows,
      alt_screen: screen.altScreen,
    },
    text: formatScreen(screen) + "\n",
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
  });
  const fields = {
    name: t.name,
    met: result.met,
    match: result.match,
    output: result.output,
    cursor: result.cursor,
    exit_code: result.exitCode,
    shell_exit: result.shellExit,
    evicted: result.evicted,
  };
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

/**
 * `status NAME DEST`: master, session, running command, cwd, times, buffer.
 *
 * @param t NAME DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function statusCommand(
  t: Target,
  flags: CommonFlags,
): Promise<Outcome> {
  await using client = await connect(t, flags);
  const info = await client.session(t.name).status();
  const master = { alive: true, pid: client.master.pid };
  const path = {
    warm: client.path.warm,
    reason: client.path.reason,
    agent_pid: client.path.agentPid,
  };
  return {
    op: "status",
    fields: { master, path, session: statusJson(info) },
    text: formatStatus(info, master, client.path),
    exitCode: 0,
  };
}

/**
 * `list DEST`: every session of this user on the host.
 *
 * @param t DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function listCommand(
  t: { dest: string; port?: string },
  flags: CommonFlags,
): Promise<Outcome> {
  await using client = await connect(t, flags);
  const sessions = await client.list();
  return {
    op: "list",
    fields: { sessions: sessions.map(statusJson) },
    text: formatList(sessions),
    exitCode: 0,
  };
}

/** How a closed shell ended, in words: 129 is the hang-up `close` sends. */
function shellEnd(status: number): string {
  return status === 129
    ? "the shell was hung up"
    : `shell exit status ${status}`;
}

/**
 * `close NAME DEST`: end the session; stop the master when none is left.
 *
 * @param t NAME DEST [PORT].
 * @param flags Options (`keepMaster`, `grace`).
 * @returns The outcome.
 */
export async function closeCommand(
  t: Target,
  flags: CloseFlags,
): Promise<Outcome> {
  const graceMs = flags.grace ?? 2000;
  await using client = await connect(t, flags);
  const status = await client.session(t.name).close({ graceMs });
  // Lost sessions are records, not shells: they need no master.
  const left = (await client.list()).filter((s) => !s.lost);
  let masterStopped = false;
  if (left.length === 0 && !flags.keepMaster) {
    await client.disconnect();
    await client.stopMaster();
    masterStopped = true;
  }
  return {
    op: "close",
    fields: {
      name: t.name,
      status,
      master_stopped: masterStopped,
      sessions_left: left.length,
    },
    text: `${
      status === null
        ? `forgot lost session ${t.name}`
        : `closed session ${t.name} (${shellEnd(status)})`
    }${masterStopped ? "; master stopped" : ""}\n`,
    exitCode: 0,
  };
}
