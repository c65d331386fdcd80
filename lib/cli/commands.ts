/**
 * The command handlers behind each verb. They connect, do the work and
 * return an {@linkcode Outcome}; printing and exiting are left to `cli.ts`.
 *
 * @module
 */
import { SesshClient, validateName } from "../session/client.ts";
import type { SshFlags } from "../ssh/options.ts";
import { SesshError, UsageError } from "../errors.ts";
import {
  parseCursor,
  parseLines,
  parseMillis,
  parseSeconds,
  parseSize,
} from "./args.ts";
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
 * Reads NAME DEST [PORT] from positionals, validating the name.
 *
 * @param verb The verb, for messages.
 * @param positionals The positional arguments.
 * @param extra How many optional positionals the verb takes before PORT.
 * @returns The target and the remaining optional positionals.
 *
 * @example
 * ```ts
 * import { target } from "./commands.ts";
 * console.log(target("open", ["work", "box", "2222"]).target.port); // "2222"
 * ```
 */
export function target(
  verb: string,
  positionals: string[],
  extra = 0,
): { target: Target; rest: string[] } {
  const [name, dest, ...rest] = positionals;
  if (name === undefined || dest === undefined) {
    throw new UsageError(
      `Missing ${
        name === undefined ? "NAME and DEST" : "DEST"
      }; usage: sessh ${verb} NAME DEST`,
    );
  }
  validateName(name);
  const port = rest.length > extra && /^\d+$/.test(rest[rest.length - 1])
    ? rest.pop()
    : undefined;
  if (rest.length > extra) {
    throw new UsageError(
      `Unexpected argument ${
        JSON.stringify(rest[extra])
      } for ${verb}; put commands after --`,
    );
  }
  return { target: { name, dest, port }, rest };
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
  flags: { timeout?: string },
  env: Record<string, string | undefined>,
): number {
  return parseSeconds(flags.timeout ?? env.SESSH_TIMEOUT ?? "60", "--timeout");
}

/** `--max-output` in bytes; undefined leaves the library's default. */
function maxOutputFlag(flags: { maxOutput?: string }): number | undefined {
  return flags.maxOutput
    ? parseSize(flags.maxOutput, "--max-output")
    : undefined;
}

/** `--since` as a cursor. */
function sinceFlag(flags: { since?: string }): number | undefined {
  return flags.since !== undefined ? parseCursor(flags.since) : undefined;
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

/** Options of `open`. */
export interface OpenFlags extends CommonFlags {
  shell?: string;
  agentEnv?: boolean;
  bufferSize?: string;
  cols?: string;
  rows?: string;
  term?: string;
}

function openOptions(flags: OpenFlags) {
  return {
    shell: flags.shell,
    agentEnv: flags.agentEnv ?? true,
    bufferSize: flags.bufferSize
      ? parseSize(flags.bufferSize, "--buffer-size")
      : undefined,
    cols: flags.cols ? parseLines(flags.cols) : undefined,
    rows: flags.rows ? parseLines(flags.rows) : undefined,
    term: flags.term,
  };
}

/**
 * `open NAME DEST`: create the session or reuse it.
 *
 * @param positionals NAME DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function openCommand(
  positionals: string[],
  flags: OpenFlags,
): Promise<Outcome> {
  const { target: t } = target("open", positionals);
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
  timeout?: string;
  wait?: boolean;
  force?: boolean;
  maxOutput?: string;
}

/**
 * `run NAME DEST -- COMMAND…`: type a command and wait for it.
 *
 * @param positionals NAME DEST [PORT] (and the command when no `--` was given).
 * @param payload The words after `--`.
 * @param flags Options.
 * @param call Environment for `SESSH_TIMEOUT`, and the call's deadline.
 * @returns The outcome; the exit code is the command's.
 */
export async function runCommand(
  positionals: string[],
  payload: string[] | null,
  flags: RunFlags,
  call: CallContext,
): Promise<Outcome> {
  const env = call.env;
  const { target: t } = target(
    "run",
    payload === null ? positionals.slice(0, 2) : positionals,
  );
  const words = payload ?? positionals.slice(2);
  const command = words.join(" ");
  if (command.trim() === "") {
    throw new UsageError(
      "No command given; usage: sessh run NAME DEST -- COMMAND",
    );
  }
  const timeoutMs = timeoutFlag(flags, env);
  const deadline = performance.now() + timeoutMs;
  call.endBy(timeoutMs);
  const maxOutput = maxOutputFlag(flags);
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
 * @param positionals NAME DEST [PORT].
 * @param payload The words after `--`, joined by spaces.
 * @param flags Options (`enter`).
 * @returns The outcome.
 */
export async function sendCommand(
  positionals: string[],
  payload: string[] | null,
  flags: CommonFlags & { enter?: boolean },
): Promise<Outcome> {
  const { target: t, rest } = target(
    "send",
    positionals,
    payload === null ? 1 : 0,
  );
  const text = (payload ?? rest).join(" ");
  if (text === "" && !flags.enter) {
    throw new UsageError("No text given; usage: sessh send NAME DEST -- TEXT");
  }
  await using client = await connect(t, flags, { delivers: true });
  await client.session(t.name).send(text, { enter: flags.enter });
  return {
    op: "send",
    fields: { name: t.name, bytes: new TextEncoder().encode(text).length },
    text: "",
    exitCode: 0,
  };
}

/**
 * `keys NAME DEST -- KEY…`: press keys by tmux name.
 *
 * @param positionals NAME DEST [PORT].
 * @param payload The key names after `--`.
 * @param flags Options.
 * @returns The outcome.
 */
export async function keysCommand(
  positionals: string[],
  payload: string[] | null,
  flags: CommonFlags,
): Promise<Outcome> {
  const { target: t, rest } = target(
    "keys",
    positionals,
    payload === null ? Infinity : 0,
  );
  const keys = payload ?? rest;
  await using client = await connect(t, flags, { delivers: true });
  await client.session(t.name).keys(keys);
  return { op: "keys", fields: { name: t.name, keys }, text: "", exitCode: 0 };
}

/** Options of `logs`. */
export interface LogsFlags extends CommonFlags {
  since?: string;
  raw?: boolean;
  follow?: boolean;
  maxOutput?: string;
}

/**
 * `logs NAME DEST [LINES]`: recent output as text, raw, since a cursor, or followed.
 *
 * @param positionals NAME DEST [LINES] [PORT].
 * @param flags Options.
 * @param sink Where `--follow` streams.
 * @returns The outcome.
 */
export async function logsCommand(
  positionals: string[],
  flags: LogsFlags,
  sink: StreamSink,
): Promise<Outcome> {
  const { target: t, rest } = target("logs", positionals, 1);
  const lines = rest[0] !== undefined ? parseLines(rest[0]) : 300;
  const since = sinceFlag(flags);
  const maxOutput = maxOutputFlag(flags);
  await using client = await connect(t, flags);
  const session = client.session(t.name);
  const result = await session.logs({
    lines,
    since,
    raw: flags.raw,
    maxOutput,
  });
  if (flags.follow) {
    await sink.write(
      flags.raw ? result.raw ?? new Uint8Array() : result.output,
    );
    const exit = await session.follow(
      (text, raw) => sink.write(flags.raw ? raw : text),
      { since: result.cursor, raw: flags.raw, signal: sink.signal },
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
  const notice = result.evicted
    ? "sessh: part of the output after that cursor has already left the buffer; showing what remains"
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
 * @param positionals NAME DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function screenCommand(
  positionals: string[],
  flags: CommonFlags,
): Promise<Outcome> {
  const { target: t } = target("screen", positionals);
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
  for?: string;
  idle?: string;
  done?: boolean;
  timeout?: string;
  since?: string;
  maxOutput?: string;
}

/**
 * `wait NAME DEST`: block until a pattern, idleness or the command's end.
 *
 * @param positionals NAME DEST [PORT].
 * @param flags Options.
 * @param call Environment for `SESSH_TIMEOUT`, and the call's deadline.
 * @returns The outcome; exit 124 on timeout.
 */
export async function waitCommand(
  positionals: string[],
  flags: WaitFlags,
  call: CallContext,
): Promise<Outcome> {
  const env = call.env;
  const { target: t } = target("wait", positionals);
  let pattern: RegExp | undefined;
  if (flags.for !== undefined) {
    try {
      pattern = new RegExp(flags.for, "m");
    } catch (error) {
      throw new UsageError(
        `Invalid --for pattern: ${(error as Error).message}`,
      );
    }
  }
  const idleMs = flags.idle !== undefined
    ? parseMillis(flags.idle, "--idle")
    : undefined;
  const timeoutMs = timeoutFlag(flags, env);
  const deadline = performance.now() + timeoutMs;
  call.endBy(timeoutMs);
  const since = sinceFlag(flags);
  const maxOutput = maxOutputFlag(flags);
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
  };
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
  return { op: "wait", fields, text: result.output, exitCode: 0 };
}

/**
 * `status NAME DEST`: master, session, running command, cwd, times, buffer.
 *
 * @param positionals NAME DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function statusCommand(
  positionals: string[],
  flags: CommonFlags,
): Promise<Outcome> {
  const { target: t } = target("status", positionals);
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
 * @param positionals DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function listCommand(
  positionals: string[],
  flags: CommonFlags,
): Promise<Outcome> {
  const [dest, port, ...extra] = positionals;
  if (dest === undefined) {
    throw new UsageError("Missing DEST; usage: sessh list DEST");
  }
  if (extra.length) {
    throw new UsageError(
      `Unexpected argument ${JSON.stringify(extra[0])} for list`,
    );
  }
  await using client = await connect({ dest, port }, flags);
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
 * @param positionals NAME DEST [PORT].
 * @param flags Options (`keepMaster`, `grace`).
 * @returns The outcome.
 */
export async function closeCommand(
  positionals: string[],
  flags: CommonFlags & { keepMaster?: boolean; grace?: string },
): Promise<Outcome> {
  const { target: t } = target("close", positionals);
  const graceMs = parseSeconds(flags.grace ?? "2", "--grace");
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
