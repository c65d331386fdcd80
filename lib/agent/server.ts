/**
 * The local agent: one process per user and control directory that keeps
 * bridges to remote daemons open between calls and lends them to calls of
 * the command line over a Unix socket (or TCP on 127.0.0.1, see
 * {@linkcode agentListen}), so that a warm call costs one process start and
 * one network round trip. Started on first use, detached; gone after an
 * idle time; retired by a newer command line. It also holds the old file a
 * download renames its part over, until the call leaves (held_files.ts).
 *
 * @module
 */
import { ensureControlDir } from "../ssh/control_dir.ts";
import { settingsFromEnv } from "../ssh/settings.ts";
import { parseDestination } from "../ssh/destination.ts";
import { openBridge } from "../transport/bridge.ts";
import { encodeFrame, type Message } from "../protocol/frame.ts";
import {
  readFirstFrame,
  readPrefix,
  writeAll,
} from "../transport/agent_socket.ts";
import { SesshError, UsageError } from "../errors.ts";
import { AtomicFile } from "../fs/atomic_file.ts";
import {
  agentFiles,
  agentIdentity,
  type AgentKeys,
  type AgentListen,
  agentListen,
  type ForwardReply,
  type ForwardRequest,
  type HoldReply,
  type HoldRequest,
  KEY_LENGTH,
  type LeaseReply,
  type LeaseRequest,
  newAgentKeys,
  sameKey,
} from "../transport/agent_protocol.ts";
import { type Lessee, PooledBridge } from "./pooled_bridge.ts";
import { LocalLink } from "./local_link.ts";
import { type Leased, lendInProcess } from "../transport/lease.ts";
import { listenOf } from "../transport/agent_files.ts";
import { HeldForwards } from "./held_forwards.ts";
import { parseForward } from "../ssh/forward_spec.ts";
import { localProcesses } from "../ssh/processes.ts";
import { releaseFreedMemory } from "./release_memory.ts";
import { holdFile } from "./held_files.ts";
import {
  ALIVE_MS,
  encodeRecord,
  MAX_RECORD,
  RECORD,
  recordHead,
  type RecordKind,
  type StopName,
  stopNameOf,
  type ThinCall,
} from "../transport/thin_wire.ts";

/**
 * Runs a thin client's call in the agent (see `lib/cli/thin_client.ts`).
 * The command line gives it, since only it knows its verbs; it loads them
 * on the first call, so that an agent that only lends bridges stays small.
 *
 * @param call What the client asked for.
 * @param io Where its output goes, and whether the client left.
 * @returns The exit code, or `"decline"` for a call it does not run (then
 *   nothing was written).
 */
export type ThinRunner = (
  call: ThinCall,
  io: ThinIO,
) => Promise<number | "decline">;

/** A thin call's way back to its client. */
export interface ThinIO {
  /** Sends a record; fails once the client has gone. */
  send(kind: RecordKind, bytes: Uint8Array): Promise<void>;
  /** Aborted when the client closes its end (it was stopped, or died). */
  left: AbortSignal;
  /**
   * Aborted when the user stops the call (Ctrl-C of a follow or a copy: the
   * client sends a byte and waits for the rest), or when the client leaves.
   */
  interrupted: AbortSignal;
  /** The signal that stopped the client, once it sent one; else null. */
  stoppedBy(): StopName | null;
}

/** Options for {@linkcode runAgent}. */
export interface AgentOptions {
  /** The control directory it serves (its socket lives there). */
  controlDir: string;
  /**
   * The version it answers to; calls of any other are told to replace it.
   * @default {agentIdentity()}
   */
  version?: string;
  /**
   * Exit after this long without a call, in milliseconds.
   * @default {1800000}
   */
  idleMs?: number;
  /**
   * Where it listens.
   * @default {agentListen(Deno.env.toObject())}
   */
  listen?: AgentListen;
  /** Runs thin calls; without it the agent declines them. */
  runCall?: ThinRunner;
  /**
   * Gives back the memory calls freed, once a while after the last call.
   * @default {releaseFreedMemory}
   */
  releaseMemory?: () => Promise<unknown>;
  /**
   * How long after its last call ends the memory is given back, in
   * milliseconds.
   * @default {10000}
   */
  releaseAfterMs?: number;
  /**
   * How often a thin call it runs is said to be alive, in milliseconds.
   * @default {ALIVE_MS}
   */
  aliveMs?: number;
}

/** Half an hour without a call: the agent and its bridges go. */
const DEFAULT_IDLE_MS = 30 * 60 * 1000;
/** How long a call may take to send its lease request. */
const LEASE_READ_MS = 5000;
/**
 * The most one read of a call's bytes takes. Larger than a pipe holds: a
 * socket buffers more, and an upload then costs fewer reads and writes.
 */
const UPLOAD_READ_SIZE = 256 * 1024;
/**
 * How long after its last call ends the agent gives back the memory calls
 * freed: once a burst of calls is over, not between two of its calls, and
 * past the calls' own last timers (a read's {@linkcode LEASE_READ_MS}).
 * Two seconds after the last call, some runs kept 3 MB more (issue 21).
 */
const RELEASE_AFTER_MS = 10_000;
/**
 * Whether a call's ssh-agent is this agent's: a master started here
 * authenticates and forwards this one, so a call with another goes its own
 * way.
 */
function sameAgentSocket(env: Record<string, string | undefined>): boolean {
  return (env.SSH_AUTH_SOCK ?? "") === (Deno.env.get("SSH_AUTH_SOCK") ?? "");
}

/** Bridges per destination at most: ssh's MaxSessions is 10 by default. */
const MAX_BRIDGES = 6;

/**
 * Serves calls until idle or retired. Exits at once (returning false) when
 * another agent already holds the control directory.
 *
 * @param options Control directory, version and idle time.
 * @returns Whether it served (false: another agent runs).
 *
 * @example
 * ```ts ignore
 * import { runAgent } from "./server.ts";
 * await runAgent({ controlDir: "/run/user/1000/sessh" });
 * ```
 */
export async function runAgent(options: AgentOptions): Promise<boolean> {
  await ensureControlDir(options.controlDir);
  const listen = options.listen ?? agentListen(Deno.env.toObject());
  const files = agentFiles(options.controlDir, listen);
  // The lock is held for the agent's life: two first calls that both
  // start an agent get one, and a retiring agent lets its successor in.
  const lock = await Deno.open(files.lock, {
    create: true,
    write: true,
    mode: 0o600,
  });
  const log = logger(files.log);
  if (!await lock.tryLock(true)) {
    lock.close();
    return false;
  }
  log(`started, version ${options.version ?? agentIdentity()}`);
  // The endpoint is the file a call finds the agent by: its socket, or
  // the file that holds its port.
  const endpoint = listen === "tcp" ? files.port : files.socket;
  await Deno.remove(endpoint).catch(() => {});
  const { keys, text: token } = newAgentKeys();
  // Whole or not at all, 0600 from its first byte: a call that read it half
  // written would take it for malformed and remove this agent's files.
  await Deno.remove(files.token).catch(() => {});
  {
    await using out = await AtomicFile.open(files.token, { mode: 0o600 });
    await out.file.write(new TextEncoder().encode(token));
    await out.commit();
  }
  const listener = await listenOn(listen, options.controlDir, files);
  const bound = inode(endpoint);
  let retired = false;
  const agent = new Agent({
    keys,
    listen,
    version: options.version ?? agentIdentity(),
    idleMs: options.idleMs ?? DEFAULT_IDLE_MS,
    runCall: options.runCall,
    releaseMemory: options.releaseMemory ?? releaseFreedMemory,
    releaseAfterMs: options.releaseAfterMs ?? RELEASE_AFTER_MS,
    aliveMs: options.aliveMs ?? ALIVE_MS,
    log,
    retire: (why) => {
      log(`retiring: ${why}`);
      retired = true;
      // The socket goes before the lock, so it is never a successor's:
      // closing the listener unlinks it in Deno, and anything left of ours
      // is removed. Calls in flight finish on their own connections.
      listener.close();
      if (inode(endpoint) === bound) Deno.removeSync(endpoint);
      lock.close();
    },
  });
  // The calls it runs itself borrow its bridges without its socket.
  const lender = (dir: string, request: LeaseRequest) =>
    dir === options.controlDir && listenOf(request.env) === listen
      ? agent.lendHere(request)
      : Promise.resolve(null);
  if (options.runCall) lendInProcess(lender);
  // A call that finds the files changed removes them and starts another
  // agent, which needs the lock this one holds. The file system tells of a
  // change (inotify, FSEvents, kqueue), so an idle agent never wakes on a
  // timer to look.
  const watcher = Deno.watchFs(options.controlDir, { recursive: false });
  // A call may have removed the files before the watch began (it judged
  // them foreign): no event would come, and this agent would hold the lock
  // with no socket for calls to find until its idle time ran out.
  const early = filesChanged(endpoint, files.token, bound, token);
  if (early) agent.retireNow(early);
  const watching = (async () => {
    for await (const event of watcher) {
      if (!event.paths.some((p) => p === endpoint || p === files.token)) {
        continue;
      }
      const why = filesChanged(endpoint, files.token, bound, token);
      if (why) agent.retireNow(why);
    }
  })().catch(() => {});
  let failures = 0;
  while (!retired) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
      failures = 0;
      // A lease is a few small writes each way: Nagle would hold them.
      if (listen === "tcp") (conn as Deno.TcpConn).setNoDelay(true);
    } catch (error) {
      // A caller that hung up before it was accepted fails only its own
      // accept; the listener goes on until retire() closes it.
      log(`accept failed: ${error}`);
      if (error instanceof Deno.errors.BadResource || ++failures > 100) break;
      continue;
    }
    agent.serve(conn);
  }
  watcher.close();
  await watching;
  await agent.finished();
  lendInProcess(null, lender);
  log("exiting");
  return true;
}

/**
 * Listens where calls look: a Unix socket made 0600, or TCP on 127.0.0.1
 * at a port the system chooses, written to the port file (0600, whole or
 * not at all) once the agent listens.
 *
 * Any local user can connect to a loopback port, unlike to the socket in
 * the 0700 control directory. So on TCP the call key, read from the 0600
 * token file, is the only gate: it is the first thing read on every
 * connection and compared in constant time before any frame is decoded,
 * and a wrong one gets nothing but a close (see `Agent.#serveCall`).
 */
async function listenOn(
  listen: AgentListen,
  controlDir: string,
  files: { socket: string; port: string },
): Promise<Deno.Listener> {
  if (listen === "unix") {
    // Bound under another name and moved into place once 0600: at its own
    // path the socket never has the umask's mode, which a call would take
    // for a socket open to others and remove (the agent left listening on
    // nothing). The name is shorter than the socket's, so it fits wherever
    // that does.
    const bytes = crypto.getRandomValues(new Uint8Array(4));
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0"));
    const part = `${controlDir}/.a${hex.join("")}.sock`;
    const listener = Deno.listen({ transport: "unix", path: part });
    try {
      await Deno.chmod(part, 0o600);
      await Deno.rename(part, files.socket);
    } catch (error) {
      listener.close();
      await Deno.remove(part).catch(() => {});
      throw error;
    }
    return listener;
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await using out = await AtomicFile.open(files.port, { mode: 0o600 });
    await out.file.write(
      new TextEncoder().encode(`${(listener.addr as Deno.NetAddr).port}\n`),
    );
    await out.commit();
  } catch (error) {
    listener.close();
    throw error;
  }
  return listener;
}

/** Appends timestamped lines to the agent's log (0600), never failing. */
function logger(path: string): (message: string) => void {
  return (message) => {
    const line = `${
      new Date().toISOString()
    } sessh-agent[${Deno.pid}]: ${message}\n`;
    try {
      Deno.writeTextFileSync(path, line, { append: true, mode: 0o600 });
    } catch {
      // Logging is a help, not a duty.
    }
  };
}

/**
 * Why the agent's endpoint (socket or port file) or token file is no longer
 * the one it made, if so.
 */
function filesChanged(
  endpoint: string,
  tokenFile: string,
  bound: number | null,
  token: string,
): string | null {
  const now = inode(endpoint);
  if (now === null || now !== bound) {
    return "its socket or port file was removed or replaced";
  }
  try {
    const info = Deno.lstatSync(tokenFile);
    if (
      !info.isFile || info.uid !== Deno.uid() || (info.mode ?? 0) & 0o077 ||
      Deno.readTextFileSync(tokenFile) !== token
    ) {
      return "its token file was changed";
    }
  } catch {
    return "its token file was removed";
  }
  return null;
}

function inode(path: string): number | null {
  try {
    return Deno.lstatSync(path).ino;
  } catch {
    return null;
  }
}

class Agent {
  #pools = new Map<string, Set<PooledBridge>>();
  #callKey: Uint8Array;
  #agentKey: Uint8Array;
  #listen: AgentListen;
  #version: string;
  #idleMs: number;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #releaseTimer: ReturnType<typeof setTimeout> | undefined;
  #releaseMemory: () => Promise<unknown>;
  #releaseAfterMs: number;
  #aliveMs: number;
  #calls = 0;
  /** When a call last borrowed a bridge: only those keep the agent alive. */
  #lastLease = Date.now();
  #retire: (why: string) => void;
  #runCall: ThinRunner | undefined;
  #log: (message: string) => void;
  #retired = false;
  #allDone: (() => void) | null = null;
  /** Forwards held without a ControlMaster: while one runs, no idle exit. */
  #forwards = new HeldForwards(() => {
    if (this.#calls === 0 && !this.#allDone) this.#armIdle();
  });

  constructor(options: {
    keys: AgentKeys;
    listen: AgentListen;
    version: string;
    idleMs: number;
    retire: (why: string) => void;
    runCall?: ThinRunner;
    releaseMemory: () => Promise<unknown>;
    releaseAfterMs: number;
    aliveMs: number;
    log: (message: string) => void;
  }) {
    this.#runCall = options.runCall;
    this.#aliveMs = options.aliveMs;
    this.#releaseMemory = options.releaseMemory;
    this.#releaseAfterMs = options.releaseAfterMs;
    this.#log = options.log;
    const encoder = new TextEncoder();
    this.#callKey = encoder.encode(options.keys.call);
    this.#agentKey = encoder.encode(options.keys.agent);
    this.#listen = options.listen;
    this.#version = options.version;
    this.#idleMs = options.idleMs;
    this.#retire = options.retire;
    this.#armIdle();
  }

  /** Resolves once retired and every call has ended; bridges are killed. */
  finished(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#forwards.killAll();
        for (const pool of this.#pools.values()) {
          for (const pooled of pool) pooled.kill();
        }
        resolve();
      };
      if (this.#calls === 0) done();
      else this.#allDone = done;
    });
  }

  async serve(conn: Deno.Conn): Promise<void> {
    this.#calls++;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#releaseTimer);
    try {
      if (await this.#serveCall(conn)) this.#lastLease = Date.now();
    } catch {
      // A call that went away mid-way; its bridge handled that itself.
    } finally {
      try {
        conn.close();
      } catch { /* closed already */ }
      this.#calls--;
      if (this.#calls === 0) {
        if (this.#allDone) this.#allDone();
        else {
          this.#armIdle();
          // Once, not periodically: an idle agent wakes for nothing.
          this.#releaseTimer = setTimeout(() => {
            this.#releaseMemory().catch(() => {});
          }, this.#releaseAfterMs);
        }
      }
    }
  }

  /** Serves one call; whether it borrowed a bridge. */
  async #serveCall(conn: Deno.Conn): Promise<boolean> {
    // The call key before anything else: on TCP anyone local may be on the
    // other end, and must get nothing (no frame decoded, no byte sent, no
    // log line to fill the disk with) but a close.
    const key = await readPrefix(conn, KEY_LENGTH, LEASE_READ_MS);
    if (typeof key === "string") return false;
    if (!sameKey(key.bytes, this.#callKey)) {
      // Only our user reaches the Unix socket, so there the token file was
      // changed under the agent: it retires, and the call starts a new one.
      if (this.#listen === "unix") this.retireNow("a call with a wrong key");
      return false;
    }
    await writeAll(conn, this.#agentKey);
    const first = await readFirstFrame(conn, LEASE_READ_MS, key.rest);
    if (typeof first === "string") return false;
    if (first.message.op === "call") {
      return await this.#thinCall(conn, first.message, first.leftover);
    }
    if (
      first.message.op !== "lease" && first.message.op !== "forward" &&
      first.message.op !== "hold"
    ) {
      return false;
    }
    const request = first.message as unknown as LeaseRequest;
    const leftover = first.leftover;
    const reply = (message: LeaseReply | ForwardReply) =>
      writeAll(conn, encodeFrame(message as unknown as Message));
    if (request.version !== this.#version || this.#retired) {
      await reply(failure(
        "agent_outdated",
        `This agent speaks ${this.#version}; the call speaks ${request.version}`,
        1,
      ));
      this.retireNow(`a call of version ${request.version}`);
      return false;
    }
    if (first.message.op === "hold") {
      await this.#hold(conn, first.message as unknown as HoldRequest);
      return false;
    }
    // A master started here authenticates and forwards the agent's ssh-agent,
    // so a call with another one goes its own way.
    if (!sameAgentSocket(request.env)) {
      await reply(failure(
        "agent_env",
        "SSH_AUTH_SOCK differs from the local agent's",
        1,
      ));
      return false;
    }
    if (first.message.op === "forward") {
      await reply(
        await this.#forward(first.message as unknown as ForwardRequest),
      );
      return true;
    }
    const lessee = {
      write: (bytes: Uint8Array) => writeAll(conn, bytes),
      close: () => {
        try {
          conn.close();
        } catch { /* closed already */ }
      },
    };
    let pooled: PooledBridge;
    try {
      pooled = await this.#take(request, lessee);
    } catch (error) {
      const known = error instanceof SesshError;
      await reply({
        ok: false,
        code: known ? error.code : "internal",
        message: known ? error.message : String(error),
        exit_code: known ? error.exitCode : 1,
        details: known ? error.details : {},
      });
      return false;
    }
    const { hello, transport, master } = pooled.bridge;
    try {
      await reply({ ok: true, hello, transport, master, agent_pid: Deno.pid });
      if (leftover.length) await pooled.fromCall(leftover);
      // One buffer for the call's life: each read is written to ssh before
      // the next, so it needs no copy.
      const buffer = new Uint8Array(UPLOAD_READ_SIZE);
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) break;
        await pooled.fromCall(buffer.subarray(0, n));
      }
    } finally {
      pooled.callLeft();
    }
    return true;
  }

  /**
   * Holds the file a call names until the call's connection closes, then
   * lets go of it off the event loop (held_files.ts). Whatever the call
   * sends meanwhile is read and dropped.
   */
  async #hold(conn: Deno.Conn, request: HoldRequest): Promise<void> {
    const held = typeof request.path === "string"
      ? await holdFile(request.path)
      : null;
    try {
      const reply: HoldReply = { ok: true, held: held !== null };
      await writeAll(conn, encodeFrame(reply as unknown as Message));
      const buffer = new Uint8Array(64);
      while (await conn.read(buffer) !== null) { /* until the call leaves */ }
    } finally {
      held?.release();
    }
  }

  /**
   * Runs a thin client's call, or declines it (nothing done, nothing
   * written but the reason) when this agent is not the client's version,
   * has no runner, or the call is one the runner does not take: the
   * client then runs it itself. A call that would not be lent a bridge
   * (another ssh-agent) is declined too, rather than run here without one.
   * Whether it lent a bridge is the runner's own lease's to count.
   */
  async #thinCall(
    conn: Deno.Conn,
    message: Message,
    leftover: Uint8Array,
  ): Promise<boolean> {
    // One record at a time: a beat, or the deadline a handler sends
    // without waiting, must not land inside output that is half written.
    let queue = Promise.resolve();
    let sending = 0;
    const send = (kind: RecordKind, bytes: Uint8Array) => {
      sending++;
      const sent = queue.then(() => sendRecords(conn, kind, bytes))
        .finally(() => sending--);
      queue = sent.catch(() => {});
      return sent;
    };
    const decline = async (why: string) => {
      await send(RECORD.decline, new TextEncoder().encode(why));
      return false;
    };
    if (message.version !== this.#version || this.#retired) {
      // Declined, not retired: the client's own lease, next, retires it.
      return await decline(`this agent speaks ${this.#version}`);
    }
    if (!this.#runCall) return await decline("this agent runs no calls");
    const call = thinCall(message.call);
    if (call === null || leftover.length > 0) {
      return await decline("a malformed call");
    }
    if (!sameAgentSocket(call.env)) {
      return await decline("SSH_AUTH_SOCK differs from the local agent's");
    }
    const left = new AbortController();
    const interrupted = new AbortController();
    let stoppedBy: StopName | null = null;
    // The client sends a byte when a signal stops it (the signal's number),
    // and the call then ends as on the command line; its end closing means
    // the call is abandoned.
    (async () => {
      const buffer = new Uint8Array(1024);
      try {
        let n: number | null;
        while ((n = await conn.read(buffer)) !== null) {
          if (n > 0) stoppedBy ??= stopNameOf(buffer[0]);
          interrupted.abort();
        }
      } catch { /* closed */ }
      interrupted.abort();
      left.abort();
    })();
    const running = this.#runCall(call, {
      send,
      left: left.signal,
      interrupted: interrupted.signal,
      stoppedBy: () => stoppedBy,
    });
    // Only while nothing else goes: a client that does not read (stopped,
    // or paced by its stdout) would otherwise be owed a beat per period.
    const beat = setInterval(() => {
      if (sending === 0) send(RECORD.alive, new Uint8Array()).catch(() => {});
    }, this.#aliveMs);
    running.finally(() => clearInterval(beat)).catch(() => {});
    const abandoned = new Promise<"left">((resolve) =>
      left.signal.addEventListener("abort", () => resolve("left"), {
        once: true,
      })
    );
    const code = await Promise.race([running, abandoned]).catch((error) => {
      this.#log(`a call failed: ${(error as Error)?.stack ?? error}`);
      return 1;
    });
    if (code === "left") {
      // The handler goes on to its own deadline, writing to nobody: what
      // it started on the host (a command typed) keeps running, as when
      // Ctrl-C stops the command line itself.
      running.catch(() => {});
      return false;
    }
    if (code === "decline") return await decline("not a call it runs");
    await send(RECORD.exit, Uint8Array.of(code & 0xff)).catch(() => {});
    return false;
  }

  /**
   * Lends a bridge to a call this agent runs itself, as a lease over its
   * socket would (the same pool, the same checks), with no socket between:
   * null sends the call to the socket, which says why not.
   */
  async lendHere(request: LeaseRequest): Promise<Leased | null> {
    if (!sameAgentSocket(request.env)) return null;
    const link = new LocalLink();
    const pooled = await this.#take(request, link.lessee);
    this.#lastLease = Date.now();
    const { hello, transport, master } = pooled.bridge;
    let closed = false;
    return {
      channel: link.channel(pooled),
      // Once: by then the bridge may be lent to another call.
      close: () => {
        if (closed) return;
        closed = true;
        link.end();
        pooled.callLeft();
      },
      hello: { ...hello },
      transport,
      master,
      agentPid: Deno.pid,
    };
  }

  /**
   * An idle bridge for the request's destination and settings, or a new
   * one, lent to `lessee` before this returns. Whether a bridge is idle is
   * checked again right before lending it, with no await in between: a
   * second lease could otherwise find it idle too and take it as well.
   */
  async #take(
    request: LeaseRequest,
    lessee: Lessee,
  ): Promise<PooledBridge> {
    const key = poolKey(request);
    const pool = this.#pools.get(key) ?? new Set<PooledBridge>();
    this.#pools.set(key, pool);
    const destination = parseDestination(request.destination, request.port);
    const settings = settingsFromEnv(request.env, request.ssh);
    const processes = localProcesses(settings);
    for (const pooled of pool) {
      if (!pooled.idle) {
        this.#log(
          `a bridge to ${request.destination} is busy (${pooled.state})`,
        );
        continue;
      }
      // A master that is gone or stopped would swallow the call's request:
      // a local look (no round trip) sends the call to a bridge over a
      // master that works, which openBridge makes sure of. A direct bridge
      // holds its connection in its own ssh, so that process is judged.
      const { master, pid: sshPid } = pooled.bridge;
      const pid = master?.pid ?? sshPid;
      const state = await processes.state(pid);
      // The look took an await: another lease may have taken it meanwhile.
      if (!pooled.idle) continue;
      if (state === "running") {
        pooled.lend(lessee);
        return pooled;
      }
      this.#log(
        `a bridge's ${
          master ? "master" : "ssh"
        } (pid ${pid}) is ${state} (${processes.checked})`,
      );
      pooled.kill();
    }
    if (pool.size >= MAX_BRIDGES) {
      throw new SesshError(
        "ssh_failed",
        `Already ${MAX_BRIDGES} calls at once to ${
          JSON.stringify(request.destination)
        } through the local agent; wait for one to end`,
      );
    }
    const bridge = await openBridge(destination, settings, {
      timeoutMs: request.timeout_ms,
    });
    const pooled = new PooledBridge(bridge, {
      onIdle: () => {},
      onDead: (dead) => pool.delete(dead),
    });
    pool.add(pooled);
    pooled.lend(lessee);
    return pooled;
  }

  /** Starts, cancels or lists the forwards held for a destination. */
  async #forward(request: ForwardRequest): Promise<ForwardReply> {
    // Forwards are the user's by the destination as written: the same
    // ones whatever flags a later call to list or cancel them gives.
    const key = JSON.stringify([request.destination, request.port ?? null]);
    try {
      if (request.action === "list") {
        return { ok: true, forwards: this.#forwards.list(key) };
      }
      if (!request.forward) {
        throw new UsageError("No forward given to start or cancel");
      }
      // Checked again: it becomes ssh's argv here.
      const forward = parseForward(
        request.forward.kind,
        request.forward.spec,
      );
      if (request.action === "cancel") {
        const done = await this.#forwards.cancel(
          key,
          request.destination,
          forward,
        );
        this.#log(`cancelled -${forward.kind} ${forward.spec}`);
        return { ok: true, ...done };
      }
      const destination = parseDestination(request.destination, request.port);
      const settings = settingsFromEnv(request.env, request.ssh);
      const forwards = await this.#forwards.open(
        key,
        destination,
        settings,
        forward,
        request.timeout_ms,
      );
      this.#log(`forwarding -${forward.kind} ${forward.spec}`);
      return { ok: true, forwards };
    } catch (error) {
      const known = error instanceof SesshError;
      return {
        ok: false,
        code: known ? error.code : "internal",
        message: known ? error.message : String(error),
        exit_code: known ? error.exitCode : 1,
        details: known ? error.details : {},
      };
    }
  }

  /**
   * Counts from the last borrowed bridge, not the last connection: calls
   * that fail (a wrong token, no request) must not keep the agent alive.
   */
  #armIdle(): void {
    clearTimeout(this.#idleTimer);
    if (this.#retired || this.#forwards.alive) return;
    this.#idleTimer = setTimeout(
      () => this.retireNow(`no call for ${this.#idleMs / 1000} s`),
      Math.max(0, this.#lastLease + this.#idleMs - Date.now()),
    );
  }

  /** Stops accepting calls; those in flight finish. */
  retireNow(why: string): void {
    if (this.#retired) return;
    this.#retired = true;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#releaseTimer);
    try {
      this.#retire(why);
    } catch {
      // The socket was removed already.
    }
  }
}

/**
 * What makes two calls' bridges interchangeable: destination, port, ssh
 * flags and environment, with keys sorted, since each call's process lists
 * its environment in its own order.
 */
export function poolKey(request: LeaseRequest): string {
  const sorted = (record: object) =>
    Object.entries(record).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  return JSON.stringify([
    request.destination,
    request.port ?? null,
    sorted(request.ssh),
    sorted(request.env),
  ]);
}

/** The call a thin client sent, or null when it is not one. */
function thinCall(text: unknown): ThinCall | null {
  if (typeof text !== "string") return null;
  let call: ThinCall;
  try {
    call = JSON.parse(text);
  } catch {
    return null;
  }
  const strings = (value: unknown) =>
    typeof value === "object" && value !== null &&
    Object.values(value).every((v) => typeof v === "string");
  const ok = typeof call === "object" && call !== null &&
    Array.isArray(call.argv) && strings(call.argv) && strings(call.env) &&
    !Array.isArray(call.env) && typeof call.cwd === "string" &&
    call.cwd.startsWith("/") && typeof call.stdoutTerminal === "boolean" &&
    typeof call.stderrTerminal === "boolean" &&
    (call.columns === null || Number.isInteger(call.columns)) &&
    (call.umask === undefined || Number.isInteger(call.umask)) &&
    (call.barColumns === undefined ||
      (Number.isInteger(call.barColumns) && call.barColumns > 0));
  return ok ? call : null;
}

function failure(
  code: string,
  message: string,
  exitCode: number,
): LeaseReply {
  return { ok: false, code, message, exit_code: exitCode, details: {} };
}

/**
 * Sends `bytes` as records of `kind`, at least one. Output goes behind its
 * header as it is: a follow's MiB is not copied into a record of its own.
 */
async function sendRecords(
  conn: Deno.Conn,
  kind: RecordKind,
  bytes: Uint8Array,
): Promise<void> {
  const output = kind === RECORD.stdout || kind === RECORD.stderr;
  for (let at = 0; at === 0 || at < bytes.length; at += MAX_RECORD) {
    const part = bytes.subarray(at, at + MAX_RECORD);
    if (!output || part.length < SMALL_OUTPUT) {
      await writeAll(conn, encodeRecord(kind, part));
    } else {
      await writeAll(conn, recordHead(kind, part.length));
      await writeAll(conn, part);
    }
  }
}

/** Below this, output is copied behind its header: one write, not two. */
const SMALL_OUTPUT = 64 * 1024;
