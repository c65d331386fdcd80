/**
 * A call's way into its local agent: find it by its files (refusing files
 * that are not ours), connect over a Unix socket or TCP on 127.0.0.1,
 * exchange keys, send the first request and read the first reply. Shared
 * by the lease of a bridge and the requests about forwards.
 *
 * @module
 */
import { encodeFrame, type Message } from "../protocol/frame.ts";
import { readFirstFrame, readPrefix, writeAll } from "./agent_socket.ts";
import { ConnectError } from "../errors.ts";
import { settleBy } from "../timer.ts";
import {
  agentFiles,
  type AgentKeys,
  type AgentListen,
  agentListen,
  KEY_LENGTH,
  LEASE_ENV,
  parseAgentKeys,
  parsePort,
  sameKey,
} from "./agent_protocol.ts";

/** Why a call goes without the agent, and whether one should be started. */
export interface Direct {
  /** The reason, for `status`. */
  reason: string;
  /**
   * No usable agent runs: start one with `startAgent` once this call is
   * done, so that its start-up does not compete with the call.
   */
  agentDue: boolean;
}

/**
 * The call's variables that shape its ssh ({@linkcode LEASE_ENV}): the agent
 * uses them as the call would, and they key its pools.
 *
 * @param env The call's environment.
 * @returns Those variables that are set.
 */
export function shapingEnv(
  env: Record<string, string | undefined>,
): Record<string, string> {
  const shaping: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && LEASE_ENV.test(key)) shaping[key] = value;
  }
  return shaping;
}

/** The agent's first reply, on a connection that stays open. */
export interface AgentAnswer {
  /** The connection, past the reply. */
  conn: Deno.Conn;
  /** Closes it. */
  close: () => void;
  /** The reply. */
  reply: Message;
  /** Bytes behind the reply, read already. */
  leftover: Uint8Array;
}

/**
 * Sends `request` to the agent of `controlDir` and reads its reply.
 *
 * @param controlDir The control directory of the call.
 * @param env The call's environment (`SESSH_AGENT_LISTEN`).
 * @param request The first request.
 * @param timeoutMs How long the agent may take to answer, less 500 ms.
 * @returns The reply, or why there is none.
 * @throws {ConnectError} `connect_failed` when the agent is silent.
 * @throws {UsageError} when `SESSH_AGENT_LISTEN` is not a transport.
 */
export async function askAgent(
  controlDir: string,
  env: Record<string, string | undefined>,
  request: Message,
  timeoutMs: number,
): Promise<AgentAnswer | Direct> {
  const listen = agentListen(env);
  const files = agentFiles(controlDir, listen);
  const endpoint = listen === "tcp" ? files.port : files.socket;
  // Not talking to it: a socket or file not ours is not proof of our own
  // agent. Its files go, so the agent started after this call listens in
  // their place (a running one sees them gone and retires).
  const replace = (why: string): Direct => {
    for (const path of [endpoint, files.token]) {
      try {
        Deno.removeSync(path);
      } catch { /* gone already */ }
    }
    return { reason: `${why}; it is replaced by a new agent`, agentDue: true };
  };
  const foreign = foreignFile(endpoint, listen === "tcp" ? "file" : "socket") ??
    foreignFile(files.token, "file");
  if (foreign) return replace(foreign);
  let keys: AgentKeys | null;
  // The token is read while the socket connects: both are a call's first
  // use of an op, and the small file is cheaper read at once than by a
  // round through the runtime's thread pool.
  const connecting = connectTo(listen, endpoint);
  try {
    keys = parseAgentKeys(Deno.readTextFileSync(files.token));
  } catch (error) {
    connecting.then((conn) => conn.close(), () => {});
    return noAgent(error);
  }
  const closeConn = (conn: Deno.Conn) => {
    try {
      conn.close();
    } catch { /* closed already */ }
  };
  let connected: Deno.Conn | null;
  try {
    // A frozen agent whose listen backlog is full takes no connection: on
    // TCP the connect waits out the kernel's SYN retries (two minutes on
    // Linux), so it gets the time an answer gets.
    connected = await settleBy(connecting, timeoutMs + 500, closeConn);
  } catch (error) {
    return noAgent(error);
  }
  if (connected === null) {
    throw new ConnectError(
      "connect_failed",
      `The local sessh agent (${endpoint}) did not take the connection within ${timeoutMs} ms (it is stopped or stuck); nothing was sent; SESSH_AGENT=0 goes without it`,
      { delivery: "not_sent" },
    );
  }
  const conn = connected;
  const close = () => closeConn(conn);
  if (keys === null) {
    close();
    return replace(`the local agent's token file ${files.token} is malformed`);
  }
  try {
    const frame = encodeFrame(request);
    const bytes = new Uint8Array(KEY_LENGTH + frame.length);
    bytes.set(new TextEncoder().encode(keys.call));
    bytes.set(frame, KEY_LENGTH);
    await writeAll(conn, bytes);
    // The agent answers within the connect timeout even when connecting
    // fails, so silence means it is broken: going direct now would overrun
    // the call's deadline, and nothing was sent.
    const deadline = performance.now() + timeoutMs + 500;
    const proof = await readPrefix(conn, KEY_LENGTH, timeoutMs + 500);
    if (proof === "ended") {
      close();
      // An agent closes on a call key it did not make: its token file
      // was changed, and it retires.
      return {
        reason:
          "the local agent refused the token in its token file (it was changed) and closed the connection; a new agent is started",
        agentDue: true,
      };
    }
    if (
      proof !== "timeout" &&
      !sameKey(proof.bytes, new TextEncoder().encode(keys.agent))
    ) {
      close();
      return replace(
        `what answers at the local agent's ${
          listen === "tcp" ? "port" : "socket"
        } does not know its key (another program took it)`,
      );
    }
    const answer = proof === "timeout" ? proof : await readFirstFrame(
      conn,
      Math.max(0, deadline - performance.now()),
      proof.rest,
    );
    if (answer === "ended") {
      close();
      return {
        reason: "the local agent closed the connection",
        agentDue: false,
      };
    }
    if (answer === "timeout") {
      close();
      throw new ConnectError(
        "connect_failed",
        `The local sessh agent (${endpoint}) did not answer within ${timeoutMs} ms; nothing was sent; SESSH_AGENT=0 goes without it`,
        { delivery: "not_sent" },
      );
    }
    return { conn, close, reply: answer.message, leftover: answer.leftover };
  } catch (error) {
    close();
    if (error instanceof ConnectError) throw error;
    return {
      reason: `the local agent failed: ${(error as Error).message}`,
      agentDue: false,
    };
  }
}

/** Why a call goes direct when no agent answers: one is started after it. */
function noAgent(error: unknown): Direct {
  return {
    reason: `no local agent answered (${
      (error as Error).name
    }); one is started for the next call`,
    agentDue: true,
  };
}

/**
 * Connects to the agent's socket, or to the port its port file names on
 * 127.0.0.1 (only ever loopback: the file is ours, but the port is checked
 * for a number all the same).
 */
async function connectTo(
  listen: AgentListen,
  endpoint: string,
): Promise<Deno.Conn> {
  if (listen === "unix") {
    return await Deno.connect({ transport: "unix", path: endpoint });
  }
  const port = parsePort(await Deno.readTextFile(endpoint));
  if (port === null) throw new Deno.errors.InvalidData("no port in its file");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  return conn;
}

/**
 * Why an agent's file is not to be trusted: owned by another user, open to
 * others (any group or other permission bit), or not of the expected kind
 * (a symlink included). Null when it is ours, or missing.
 */
function foreignFile(path: string, kind: "socket" | "file"): string | null {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    return null;
  }
  const uid = Deno.uid();
  const mode = (info.mode ?? 0) & 0o777;
  const isKind = kind === "socket" ? info.isSocket : info.isFile;
  if (!isKind) {
    return `the local agent's ${kind} ${path} is not a ${kind}`;
  }
  if (uid !== null && info.uid !== uid) {
    return `the local agent's ${kind} ${path} belongs to uid ${info.uid}, not ${uid}`;
  }
  if (mode & 0o077) {
    return `the local agent's ${kind} ${path} has mode 0${
      mode.toString(8)
    }, open to others`;
  }
  return null;
}
