/**
 * The thin command line: a warm call the local agent can run whole (a plain
 * `run`, `send`, `keys`, `logs`, `screen`, `wait`, `status`, `list` or
 * `cp`) is sent to it as words, and its output comes back as bytes to
 * write. The call then costs Deno's start, this
 * small module, one round trip to the agent and the agent's own work, done
 * by code it has compiled already, instead of loading and compiling the
 * command line's body and the verb (issue 21).
 *
 * It declines, having written nothing, when there is no agent, when the
 * agent does not take the connection or prove itself within 5 s (frozen),
 * when the agent is of another version, or when the agent does not run
 * the call; `main.ts` then runs the call as before. `SESSH_AGENT_THIN=0` turns it
 * off, as `SESSH_AGENT=0` turns off the agent itself.
 *
 * @module
 */
// Leaves, all of them: this module is loaded by every warm call, and the
// error hierarchy and the contract are not (issue 21).
import { pickControlDir } from "../ssh/control_dir_rule.ts";
import {
  agentFiles,
  agentIdentity,
  KEY_LENGTH,
  listenOf,
  parseAgentKeys,
  parsePort,
  sameKey,
} from "../transport/agent_files.ts";
import {
  ALIVE_MS,
  encodeCallRequest,
  RECORD,
  RecordReader,
  STOP_BYTE,
  type StopName,
} from "../transport/thin_wire.ts";
import { settleBy, startDeadline } from "../timer.ts";
import { markPhase } from "../phases.ts";

// The agent decides; these only spare asking about calls it never runs.
const VERBS = /^(run|send|keys|logs|screen|pane|wait|status|list|cp)$/;
const NEVER = /^(--help|-h|--file|--hosts-file)$/;

/**
 * Whether to offer `args` to the agent.
 *
 * @param args Arguments after the program name.
 * @returns Whether to ask.
 *
 * @example
 * ```ts
 * import { mayBeThin } from "./thin_client.ts";
 * console.log(mayBeThin(["status", "work", "box"])); // true
 * ```
 */
export function mayBeThin(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  const head = end < 0 ? args : args.slice(0, end);
  return VERBS.test(head[head[0] === "--json" ? 1 : 0] ?? "") &&
    !head.some((word) => NEVER.test(word));
}

/**
 * Whether a `cp` would draw its progress bar on this terminal: the agent
 * draws it through the call's stderr, told the terminal's width.
 */
function drawsProgress(
  args: readonly string[],
  env: Record<string, string>,
): boolean {
  const end = args.indexOf("--");
  const head = end < 0 ? args : args.slice(0, end);
  return Deno.stderr.isTerminal() && env.SESSH_JSON !== "1" &&
    !head.includes("--json");
}

/**
 * The terminal's width as a copy's progress bar takes it (80 when unknown).
 * `consoleColumns` in `progress.ts` says the same, but importing it would
 * put the bar's module among the few every warm call loads (the start-up
 * test lists them); and the agent takes no width of 0, which a terminal
 * whose size was never set reports.
 */
function stderrColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}

/** This process's umask, where the system has one. */
function umaskOrUndefined(): number | undefined {
  try {
    return Deno.umask();
  } catch {
    return undefined;
  }
}

/** The verb of a call's arguments: the first word that is no flag. */
function verbOf(args: readonly string[]): string {
  return args.find((word) => !word.startsWith("-")) ?? "";
}

/**
 * How long the agent may take to prove itself and to say how long the call
 * may take: it answers at once, so silence means it is stuck.
 */
const ANSWER_MS = 5000;

/**
 * How long a call without a deadline of its own (`status`, `list`,
 * `screen`, `logs`) may take before the client gives up on the agent:
 * their own waits are bounded by the connect timeout and the daemon's.
 * Like the call's own deadline, it does not count the time the client
 * is blocked on its stdout.
 */
const NO_DEADLINE_MS = 120_000;

/**
 * How long past the deadline the agent sent the client waits: the agent
 * stops the call 1.8 s past it (`OVERRUN_MS`), and its answer needs a
 * moment to arrive.
 */
const GRACE_MS = 3000;

/**
 * How many of the agent's beats ({@linkcode ALIVE_MS} apart) a follow,
 * which has no end of its own, may miss in a row before it gives up on the
 * agent.
 */
const MISSED_BEATS = 3;

/** The first read of the agent's output; it grows as output floods. */
const FIRST_READ = 64 * 1024;

/** The largest read: as much as the agent's record. */
const LARGEST_READ = 1 << 20;

/**
 * Output printed before stdout, when a pipe, is widened (`widenStdout()`):
 * loading the module and the C library cost a call 2 ms of CPU, which a
 * follow of 1 MB would pay for nothing.
 */
const WIDEN_AFTER = 2 << 20;

/**
 * Runs the call through the local agent, or declines.
 *
 * @param args Arguments after the program name.
 * @returns The exit code, or null when declined (nothing written).
 *
 * @example
 * ```ts ignore
 * import { thinCall } from "./thin_client.ts";
 * const code = await thinCall(["status", "work", "box"]);
 * ```
 */
export async function thinCall(args: string[]): Promise<number | null> {
  markPhase("loaded");
  if (!mayBeThin(args)) return null;
  const env = Deno.env.toObject();
  if (env.SESSH_AGENT === "0" || env.SESSH_AGENT_THIN === "0") return null;
  const copy = verbOf(args) === "cp";
  // A copy makes files as the caller would: the agent runs it only under
  // the same umask, so none is offered where the system has none (Windows,
  // whose signals the client could not pass on either).
  const umask = copy ? umaskOrUndefined() : undefined;
  if (copy && umask === undefined) return null;
  // A bad SESSH_AGENT_LISTEN or control directory is the full path's to
  // report.
  const listen = listenOf(env);
  const dir = pickControlDir({ os: Deno.build.os, env, uid: Deno.uid() });
  if (listen === null || typeof dir !== "string") return null;
  let conn: Deno.Conn;
  try {
    const files = agentFiles(dir, listen);
    const connecting = listen === "unix"
      ? Deno.connect({ transport: "unix", path: files.socket })
      : Deno.readTextFile(files.port).then((text) => {
        const port = parsePort(text);
        if (port === null) throw new Error("no port in its file");
        return Deno.connect({ hostname: "127.0.0.1", port });
      });
    // The token is read, and the request made, while the socket connects,
    // as `askAgent` does.
    let keys = null;
    try {
      keys = ownFile(files.token)
        ? parseAgentKeys(Deno.readTextFileSync(files.token))
        : null;
    } catch { /* no token: no agent */ }
    if (keys === null) {
      connecting.then((conn) => conn.close(), () => {});
      return null;
    }
    const request = encodeCallRequest(agentIdentity(), {
      argv: args,
      env,
      cwd: Deno.cwd(),
      stdoutTerminal: Deno.stdout.isTerminal(),
      stderrTerminal: Deno.stderr.isTerminal(),
      columns: columns(),
      ...(copy ? { umask } : {}),
      ...(copy && drawsProgress(args, env)
        ? { barColumns: stderrColumns() }
        : {}),
    });
    // On a Unix socket the request goes with the key, saving a round
    // trip: only our user can reach a socket of ours, in our 0700 control
    // directory. Any local user can reach a TCP port: there the caller's
    // environment waits until the agent has shown its key.
    const pipelined = listen === "unix" && ownSocket(files.socket);
    // A frozen agent whose listen backlog is full takes no connection: on
    // TCP the connect waits out the kernel's SYN retries (two minutes on
    // Linux). Not taken in time, the agent counts as silent.
    const connected = await settleBy(connecting, ANSWER_MS, close);
    if (connected === null) return null;
    conn = connected;
    const answer = await proven(conn, keys, pipelined ? request : null);
    if (!answer) return null;
    markPhase("agent");
    if (!pipelined) {
      // The agent has shown its key, but may freeze before it reads all.
      const cancel = startDeadline(ANSWER_MS, () => close(conn));
      await writeAll(conn, request).finally(cancel);
    }
    return await exchange(conn, answer, args, env);
  } catch {
    // No agent, or none to trust: the full path finds out which, and says.
    return null;
  }
}

/** Whether `path` is a file of ours that no one else may read. */
function ownFile(path: string): boolean {
  const info = Deno.lstatSync(path);
  return owned(info) && info.isFile;
}

/** Whether `path` is a socket of ours that no one else may use. */
function ownSocket(path: string): boolean {
  try {
    const info = Deno.lstatSync(path);
    return owned(info) && info.isSocket === true;
  } catch {
    return false;
  }
}

function owned(info: Deno.FileInfo): boolean {
  const uid = Deno.uid();
  return (uid === null || info.uid === uid) && ((info.mode ?? 0) & 0o077) === 0;
}

/**
 * Sends the call key and waits for the agent's: nothing of the call (its
 * environment) goes to a peer that has not shown it read the token file.
 * Returns the bytes that came behind the key, or null (connection closed).
 */
async function proven(
  conn: Deno.Conn,
  keys: { call: string; agent: string },
  request: Uint8Array | null,
): Promise<Uint8Array | null> {
  const encoder = new TextEncoder();
  const key = encoder.encode(keys.call);
  const got = new Uint8Array(64 * 1024);
  let filled = 0;
  // Each wait of the client is on the agent's socket, whose read or write
  // keeps the process alive: its deadlines need keep nothing else alive.
  // The write is under it too: a call larger than the socket's buffer
  // waits for a frozen agent to read it.
  const cancel = startDeadline(ANSWER_MS, () => close(conn));
  // The client's own work for the call ends here: from the write on, the
  // agent it wakes may hold the client's core (`bench/_phases.ts`).
  markPhase("ready");
  try {
    if (request === null) await writeAll(conn, key);
    else {
      const both = new Uint8Array(key.length + request.length);
      both.set(key);
      both.set(request, key.length);
      await writeAll(conn, both);
    }
    while (filled < KEY_LENGTH) {
      const n = await conn.read(got.subarray(filled));
      if (n === null) break;
      filled += n;
    }
  } finally {
    cancel();
  }
  if (
    filled < KEY_LENGTH ||
    !sameKey(got.subarray(0, KEY_LENGTH), encoder.encode(keys.agent))
  ) {
    close(conn);
    return null;
  }
  return got.slice(KEY_LENGTH, filled);
}

/** Writes what the agent sends back; null when it declined the call. */
async function exchange(
  conn: Deno.Conn,
  start: Uint8Array,
  args: string[],
  env: Record<string, string>,
): Promise<number | null> {
  const reader = new RecordReader();
  let timedOut = false;
  const giveUp = () => {
    timedOut = true;
    close(conn);
  };
  const follow = args.includes("--follow");
  const copy = verbOf(args) === "cp";
  // A follow has no deadline: it waits for the agent's beats instead, and
  // Ctrl-C ends it with 0, as it does the command line's. Nor has a copy,
  // which takes as long as its bytes do: a signal stops it in the agent,
  // which says what it left and exits as the command line would. Any other
  // deadline bounds the agent's time, not our reader's: time spent blocked
  // writing to a stdout nobody reads (`| less`, a full pipe) pushes it
  // back, so a slow reader gets all the output, as from the full path.
  // The agent meanwhile waits on our socket: a call whose output came
  // whole gave its bridge back before sending more than a pipe holds
  // (`run_call.ts`); one that streams (`logs --raw`, `--follow`) keeps
  // it, paced by our reads.
  const beats = follow || copy ? watchBeats(ALIVE_MS, giveUp) : null;
  let due = performance.now() + ANSWER_MS + NO_DEADLINE_MS;
  let cancel = () => {};
  const arm = () => {
    cancel = startDeadline(due - performance.now(), () => {
      if (performance.now() < due) return arm();
      giveUp();
    });
  };
  if (beats) cancel = beats.stop;
  else arm();
  let interrupted: StopName | null = null;
  let cancelInterrupt = () => {};
  const interrupt = (name: StopName) => {
    // A second signal does not wait.
    if (interrupted) return close(conn);
    interrupted = name;
    // The agent ends the follow or the copy as the command line does, then
    // sends what it prints at the end (`--json`'s outcome, what a copy
    // left) and the exit code.
    conn.write(Uint8Array.of(STOP_BYTE[name])).catch(() => close(conn));
    // A copy's steps (sftp ended, its part removed) take up to 4 s.
    cancelInterrupt = startDeadline(
      copy ? 2 * ANSWER_MS : ANSWER_MS,
      () => close(conn),
    );
  };
  const stoppers: [StopName, () => void][] = follow
    ? [["SIGINT", () => interrupt("SIGINT")]]
    : copy
    ? (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((name) => [
      name,
      () => interrupt(name),
    ])
    : [];
  for (const [name, stop] of stoppers) Deno.addSignalListener(name, stop);
  let buffer = new Uint8Array(FIRST_READ);
  let chunk: Uint8Array | null = start;
  let printed = 0;
  let heard = false;
  try {
    while (true) {
      if (chunk === null) {
        let n: number | null = null;
        try {
          n = await conn.read(buffer);
        } catch { /* closed: below */ }
        if (n === null) break;
        beats?.heard();
        chunk = buffer.subarray(0, n);
        // A flood's parts are written to stdout as they come: a read as
        // large as the agent's record takes a sixteenth of the reads and
        // writes. The old buffer holds this chunk until it is written.
        if (n === buffer.length && n < LARGEST_READ) {
          buffer = new Uint8Array(LARGEST_READ);
        }
      }
      for (const record of reader.push(chunk)) {
        if (record.kind === RECORD.decline && !heard) {
          close(conn);
          return null;
        }
        heard = true;
        if (record.kind === RECORD.exit) {
          close(conn);
          // Its own mark: the bench and the tests tell a thin call by it.
          markPhase("thin");
          return record.bytes[0] ?? 1;
        }
        if (record.kind === RECORD.alive) continue;
        if (record.kind === RECORD.deadline) {
          const ms = new DataView(record.bytes.buffer).getUint32(0);
          cancel();
          due = performance.now() + ms + GRACE_MS;
          arm();
          continue;
        }
        const out = record.kind === RECORD.stdout ? Deno.stdout : Deno.stderr;
        if (out === Deno.stdout && printed < WIDEN_AFTER) {
          printed += record.bytes.length;
          if (printed >= WIDEN_AFTER) {
            // Loaded here, not with this module: only a flood needs it.
            import("../transport/pipe_size.ts").then((pipes) =>
              pipes.widenStdout()
            ).catch(() => {});
          }
        }
        const writing = performance.now();
        try {
          writeSync(out, record.bytes);
          due += performance.now() - writing;
        } catch (error) {
          // Our reader left (`| head -1`): the agent sees the socket close
          // and abandons the call, as the full path's exit would.
          close(conn);
          if (error instanceof Deno.errors.BrokenPipe) return 141;
          throw error;
        }
      }
      chunk = null;
    }
  } finally {
    cancel();
    cancelInterrupt();
    for (const [name, stop] of stoppers) Deno.removeSignalListener(name, stop);
  }
  close(conn);
  if (interrupted && follow) {
    markPhase("thin");
    return 0;
  }
  if (interrupted) {
    // The agent went before it said what the copy left: it ends the copy
    // (and removes its part) once it sees this end close, unless it died.
    const line =
      `sessh: stopped by ${interrupted}: the local sessh agent did not say what the copy left; check the target, and copy again\n`;
    try {
      writeSync(Deno.stderr, new TextEncoder().encode(line));
    } catch { /* nobody reads it */ }
    // As shells report a command a signal ended: 128 + its number.
    return 128 + STOP_BYTE[interrupted];
  }
  const json = args.includes("--json") || env.SESSH_JSON === "1";
  const verb = verbOf(args);
  const [code, exit, message] = timedOut
    ? [
      "timeout",
      124,
      `The local sessh agent ${
        follow
          ? "went silent during the follow"
          : "did not end the call by its deadline"
      }; whether the command reached the host is unknown: check with sessh status, or set SESSH_AGENT_THIN=0 to run calls without it`,
    ]
    : [
      "connection_lost",
      255,
      "The local sessh agent ended (it was stopped or failed) before the call's result; whether the command reached the host is unknown: check with sessh status, or set SESSH_AGENT_THIN=0 to run calls without it",
    ];
  // A copy's target is replaced only once whole: the part is what is lost.
  const said = copy
    ? `The local sessh agent ${
      timedOut
        ? "went silent during the copy"
        : "ended (it was stopped or failed) before the copy finished"
    }; the target is as it was, or whole if the copy had just ended (a copy replaces it only once complete): check it and copy again (--resume continues what was sent), or set SESSH_AGENT_THIN=0 to copy without the agent`
    : message;
  // As `--json` reports a lost connection: whether the request went out.
  const error = { code, message: said, sent: "unknown" };
  const text = json
    ? JSON.stringify({ ok: false, op: verb, error }) + "\n"
    : `sessh: ${said}\n`;
  try {
    writeSync(json ? Deno.stdout : Deno.stderr, new TextEncoder().encode(text));
  } catch { /* nobody reads it */ }
  return exit as number;
}

/** What {@linkcode watchBeats} returns. */
export interface BeatWatch {
  /** Something came from the peer. */
  heard(): void;
  /** Stops the checks. */
  stop(): void;
}

/**
 * Gives up on a peer that went silent: checks every `everyMs` whether
 * anything came since the last check, and calls `onSilent` once
 * {@linkcode MISSED_BEATS} checks in a row found nothing. Counted in
 * checks, not in time: a client that was stopped (Ctrl-Z) for minutes
 * finds the agent's beats waiting when it resumes.
 *
 * @param everyMs How often the peer speaks at least ({@linkcode ALIVE_MS}).
 * @param onSilent Called once, when the peer is given up on.
 * @returns How to tell it the peer spoke, and to stop it.
 *
 * @example
 * ```ts
 * import { watchBeats } from "./thin_client.ts";
 * const watch = watchBeats(10_000, () => console.log("silent"));
 * watch.heard();
 * watch.stop();
 * ```
 */
export function watchBeats(everyMs: number, onSilent: () => void): BeatWatch {
  let heard = false;
  let missed = 0;
  let cancel = () => {};
  const check = () => {
    if (heard) missed = 0;
    else if (++missed >= MISSED_BEATS) return onSilent();
    heard = false;
    cancel = startDeadline(everyMs, check);
  };
  cancel = startDeadline(everyMs, check);
  return { heard: () => heard = true, stop: () => cancel() };
}

/** The terminal's width, when stdout is one. */
function columns(): number | null {
  try {
    return Deno.stdout.isTerminal() ? Deno.consoleSize().columns : null;
  } catch {
    return null;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await conn.write(bytes.subarray(written));
  }
}

function writeSync(stream: typeof Deno.stdout, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) {
    written += stream.writeSync(bytes.subarray(written));
  }
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed already */ }
}
