/**
 * Opening a bridge to the daemon: a ControlMaster made sure of, the helper's
 * bridge started over it (or, with `SESSH_CONTROL_MASTER=no`, over a plain
 * ssh connection of its own), the helper shipped on first use, the daemon
 * greeted; all within one deadline, after which everything started is
 * killed. Also the errors a bridge's end means.
 *
 * @module
 */
import type { Destination } from "../ssh/destination.ts";
import { clientArgv, directArgv } from "../ssh/options.ts";
import type { SshSettings } from "../ssh/settings.ts";
import { ensureMaster, type MasterInfo } from "../ssh/master.ts";
import { remoteExitAdvice } from "../remote/exit_codes.ts";
import { classifySshFailure } from "../ssh/ssh_errors.ts";
import { spawnPiped } from "../process.ts";
import { pipeReads } from "./pipe_reads.ts";
import { widenChildOutput } from "./pipe_size.ts";
import { concatBytes } from "../bytes.ts";
import type { HandshakeEnded } from "../remote/bootstrap.ts";
import { OPS, PROTOCOL_VERSION } from "../contract/spec.ts";
import { encodeFrame, FrameDecoder, type Message } from "../protocol/frame.ts";
import type { Channel } from "./connection.ts";
import { remoteError } from "./connection.ts";
import {
  ConnectError,
  ConnectionLostError,
  DaemonGoneError,
  SesshError,
} from "../errors.ts";
import { markPhase } from "../phases.ts";
import { startTimer } from "../timer.ts";

/** How long ssh's last words are awaited after the bridge ended. */
const STDERR_GRACE_MS = 500;
/** Bytes per read of ssh's stderr, which says a line or two at most. */
const STDERR_READ = 1024;

/** Options for {@linkcode openBridge}. */
export interface OpenBridgeOptions {
  /**
   * How long connecting may take in all, in milliseconds.
   * @default {(SESSH_CONNECT_TIMEOUT + 5) * 1000}
   */
  timeoutMs?: number;
  /** Gives up when aborted; whatever was started is killed. */
  signal?: AbortSignal;
  /** The control path, when the caller started resolving it early. */
  controlPath?: Promise<string>;
}

/**
 * How a bridge reaches the host: through the destination's ControlMaster,
 * or as a plain ssh connection of its own (`SESSH_CONTROL_MASTER=no`).
 */
export type Transport = "controlmaster" | "direct";

/** A bridge whose daemon has said hello. */
export interface Bridge {
  /** Its streams, positioned after the hello reply. */
  channel: Channel;
  /** The daemon's hello reply (pid, helper, runtime_dir, caps). */
  hello: Message;
  /** How it reaches the host. */
  transport: Transport;
  /** The master it goes through; null for a direct connection. */
  master: MasterInfo | null;
  /** Process id of its own ssh (a mux client, or the whole connection). */
  pid: number;
  /** Kills the bridge's ssh at once. */
  kill: () => void;
  /**
   * The error its end means, once it has ended: a connection error before
   * it was established, `connection_lost` after.
   */
  ended: (established: boolean) => Promise<Error>;
}

/**
 * Makes sure of a master, starts the helper's bridge over it and greets
 * the daemon, all within `timeoutMs`. Without a master
 * (`settings.controlMaster` false) the bridge is a plain ssh connection:
 * no control socket is made or asked.
 *
 * @param destination Where to.
 * @param settings ssh settings in force.
 * @param options Deadline and abort signal.
 * @returns The bridge, ready for frames.
 * @throws {ConnectError} `connect_failed` past the deadline (nothing was
 *   sent), or as ssh's failure is classified.
 *
 * @example
 * ```ts ignore
 * import { openBridge } from "./bridge.ts";
 * const bridge = await openBridge(destination, settings, { timeoutMs: 10_000 });
 * console.log(bridge.hello.pid);
 * ```
 */
export async function openBridge(
  destination: Destination,
  settings: SshSettings,
  options: OpenBridgeOptions = {},
): Promise<Bridge> {
  const timeoutMs = options.timeoutMs ??
    (settings.connectTimeoutSeconds + 5) * 1000;
  // A timer of our own, cleared once connected: a long-lived process (the
  // local agent) would otherwise wake up for every bridge it ever opened.
  const gaveUp = new AbortController();
  const cancel = startTimer(timeoutMs, () => gaveUp.abort());
  const signal = options.signal
    ? AbortSignal.any([options.signal, gaveUp.signal])
    : gaveUp.signal;
  try {
    return await openWithin(destination, settings, {
      signal,
      timeoutMs,
      caller: options.signal,
      controlPath: options.controlPath,
    });
  } finally {
    cancel();
  }
}

async function openWithin(
  destination: Destination,
  settings: SshSettings,
  options: {
    signal: AbortSignal;
    timeoutMs: number;
    caller?: AbortSignal;
    controlPath?: Promise<string>;
  },
): Promise<Bridge> {
  const { signal, timeoutMs, caller } = options;
  const where = JSON.stringify(destination.display);
  // The caller's abort rejects with its reason; only our own deadline is
  // "too slow".
  const tooSlow = (): unknown =>
    caller?.aborted ? caller.reason : new ConnectError(
      "connect_failed",
      `Could not reach the sessh helper on ${where} within ${timeoutMs} ms; nothing was sent; check that the host answers (ssh ${destination.display} true)`,
      { destination: destination.display },
    );
  // The helper's loader and packed source (60 KB) load while the master
  // connects, not before it starts.
  const bootstrap = import("../remote/bootstrap.ts");
  bootstrap.catch(() => {}); // awaited by the bridge, or dropped
  // A master this call starts listens before its pid is known: the bridge
  // starts then, beside the `ssh -O check` that learns the pid.
  let early: Promise<Omit<Bridge, "master">> | undefined;
  const dropEarly = new AbortController();
  const attach = (master: Pick<MasterInfo, "controlPath" | "started"> | null) =>
    attachBridge(destination, settings, master, {
      signal: AbortSignal.any([signal, dropEarly.signal]),
      tooSlow,
      bootstrap,
    });
  let master: MasterInfo | null = null;
  if (settings.controlMaster) {
    try {
      master = await ensureMaster(destination, settings, {
        signal,
        controlPath: options.controlPath,
        onListening: (controlPath) => {
          early = attach({ controlPath, started: true });
          early.catch(() => {}); // awaited below, or dropped
        },
      });
    } catch (error) {
      dropEarly.abort();
      early?.then((bridge) => bridge.kill(), () => {});
      throw signal.aborted ? tooSlow() : error;
    }
  }
  markPhase("master");
  if (signal.aborted) throw tooSlow();
  return { ...await (early ?? attach(master)), master };
}

/**
 * Starts the helper's bridge through `master` (or a connection of its
 * own) and greets the daemon; kills it when `signal` aborts first.
 */
async function attachBridge(
  destination: Destination,
  settings: SshSettings,
  master: Pick<MasterInfo, "controlPath" | "started"> | null,
  options: {
    signal: AbortSignal;
    tooSlow: () => unknown;
    bootstrap: Promise<typeof import("../remote/bootstrap.ts")>;
  },
): Promise<Omit<Bridge, "master">> {
  const { signal, tooSlow } = options;
  const { bridgeCommand, handshake, HandshakeEnded } = await options.bootstrap;
  if (signal.aborted) throw tooSlow();
  // A master started by this call most likely means a host not seen for a
  // while: the helper goes along at once rather than after the loader asks.
  // A direct connection says nothing of the host, and is made at every
  // call without the agent: the loader asks when it lacks the helper.
  const pushHelper = master?.started ?? false;
  const command = bridgeCommand({ pushHelper, noProcfs: settings.noProcfs });
  const argv = master
    ? clientArgv(destination, settings, command, {
      controlPath: master.controlPath,
    })
    : directArgv(destination, settings, command);
  const child = spawnPiped(argv, { stderr: "piped" });
  const stderrText = collect(child.stderr);
  const reader = child.stdout.getReader();
  const writer = child.stdin.getWriter();
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  };
  const ended = async (established: boolean): Promise<Error> => {
    const status = await child.status;
    // ssh hands its stdio to the master, which may hold them open (frozen,
    // or waiting on a dead link) long after the client itself is gone.
    const stderr = await Promise.race([
      stderrText,
      new Promise<string>((resolve) =>
        setTimeout(() => resolve(""), STDERR_GRACE_MS)
      ),
    ]);
    return established
      ? connectionLost(destination, status.code, stderr)
      : bridgeFailure(destination, status.code, stderr);
  };
  // Killing the client is not enough: the master holds its pipes.
  const abort = () => {
    kill();
    reader.cancel().catch(() => {});
  };
  signal.addEventListener("abort", abort);
  try {
    // With a pushed helper the hello rides behind it: one round trip less.
    const hello = encodeFrame({
      op: OPS.hello,
      id: 1,
      version: PROTOCOL_VERSION,
    });
    const { leftover } = await handshake(reader, writer, {
      pushHelper,
      behind: pushHelper ? hello : undefined,
    });
    markPhase("helper");
    // A failed write (the helper gone at once) is told by the output's end.
    if (!pushHelper) await writer.write(hello).catch(() => {});
    const greeted = await greet(reader, leftover, HandshakeEnded);
    markPhase("hello");
    // An idle link does not keep a script alive: its stdout reader and
    // status no longer count for Deno's exit (a call in progress still
    // holds a timer, so it is never cut short). A script that forgets
    // `disconnect` exits with its last line; the closing pipe ends ssh.
    child.unref();
    reader.releaseLock();
    return {
      channel: {
        // Widened at its first flood, not now: a user's wide pipes are few
        // (`WIDE_PIPES_MAX`), and an agent's idle bridges would take them
        // all. Not awaited: the reads go on while the pipe widens.
        ...pipeReads(
          child.stdout,
          () => void widenChildOutput(child).catch(() => {}),
        ),
        writer,
        leftover: greeted.leftover,
      },
      hello: greeted.hello,
      transport: master ? "controlmaster" : "direct",
      pid: child.pid,
      kill,
      ended,
    };
  } catch (error) {
    kill();
    if (signal.aborted) throw tooSlow();
    if (error instanceof HandshakeEnded) throw await ended(false);
    throw error;
  } finally {
    signal.removeEventListener("abort", abort);
  }
}

/** Reads up to the reply to the `hello` sent; what follows is left over. */
async function greet(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  leftover: Uint8Array,
  ended: typeof HandshakeEnded,
): Promise<{ hello: Message; leftover: Uint8Array }> {
  const decoder = new FrameDecoder();
  let chunk = leftover;
  // The daemon pushes nothing before a subscription, so the reply is the
  // first frame and only a partial next one can follow it.
  while (true) {
    const reply = decoder.push(chunk).find((m) => m.id === 1);
    if (reply) {
      if (!reply.ok) throw remoteError(reply);
      return { hello: reply, leftover: decoder.takePending() };
    }
    const { value, done } = await reader.read();
    if (done) throw new ended("");
    chunk = value;
  }
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  // In small reads of our own: a read waits for the bridge's whole life,
  // and one of the stream's own would hold 64 KiB for a line or two.
  const reader = stream.getReader({ mode: "byob" });
  const parts: Uint8Array[] = [];
  try {
    while (true) {
      const { value, done } = await reader.read(new Uint8Array(STDERR_READ));
      if (done) break;
      parts.push(value);
    }
  } catch {
    // Cut off (the bridge was killed): what came is all there is.
  }
  return new TextDecoder().decode(concatBytes(parts)).trim();
}

/**
 * The error for a bridge that ended after the connection was made: the
 * host was reached, so this is never "cannot reach".
 *
 * @param destination Where it ran.
 * @param code The bridge's exit code.
 * @param stderr What it printed on stderr.
 * @returns The error to report.
 */
export function connectionLost(
  destination: Destination,
  code: number,
  stderr: string,
): SesshError {
  const where = JSON.stringify(destination.display);
  if (code === 0) return bridgeFailure(destination, code, stderr);
  const detail = stderr.split("\n").map((l) => l.trim()).filter(Boolean).at(
    -1,
  );
  return new ConnectionLostError(
    `The connection to ${where} was lost (ssh exited ${code}${
      detail ? `: ${detail}` : ""
    })`,
    { delivery: "unknown", destination: destination.display },
  );
}

/**
 * The error for a bridge that ended before or while talking.
 *
 * @param destination Where it ran.
 * @param code Its exit code.
 * @param stderr What it printed on stderr.
 * @returns The error to report.
 */
export function bridgeFailure(
  destination: Destination,
  code: number,
  stderr: string,
): SesshError {
  const where = JSON.stringify(destination.display);
  if (code === 255) return classifySshFailure(destination, code, stderr);
  if (code === 127 && /python3/.test(stderr)) {
    return new SesshError(
      "no_python",
      `No python3 on ${where}; sessh's remote helper needs Python 3.8 or later (install it, e.g. apt-get install python3 or dnf install python3)`,
    );
  }
  if (code === 0) {
    return new DaemonGoneError(
      `The sessh daemon on ${where} closed the connection (was it killed?); the next call starts a new one`,
      { delivery: "unknown", destination: destination.display },
    );
  }
  const detail = stderr.split("\n").filter((l) => l.trim()).slice(-3).join(
    "; ",
  );
  const advice = remoteExitAdvice(code);
  return new SesshError(
    code === 5 ? "no_python" : "helper_failed",
    `The sessh helper on ${where} failed (exit ${code})${
      detail ? `: ${detail}` : ""
    }${advice ? `; ${advice}` : ""}`,
  );
}
