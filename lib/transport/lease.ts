/**
 * The command line's side of the warm path: borrow an open bridge from the
 * local agent, or start the agent for next time and say why this call goes
 * its own way.
 *
 * @module
 */
import { markPhase } from "../phases.ts";
import { encodeFrame, type Message } from "../protocol/frame.ts";
import { readFirstFrame, writeAll } from "./agent_socket.ts";
import { ConnectError, SesshError } from "../errors.ts";
import type { Channel } from "./connection.ts";
import type { MasterInfo } from "../ssh/master.ts";
import type { SshFlags } from "../ssh/settings.ts";
import {
  agentEntry,
  agentFiles,
  agentIdentity,
  LEASE_ENV,
  type LeaseReply,
} from "./agent_protocol.ts";

/** What a call asks the agent for. */
export interface LeaseTarget {
  /** The destination as given. */
  destination: string;
  /** A trailing PORT argument. */
  port?: string;
  /** ssh flags. */
  ssh: SshFlags;
  /** The call's environment (only the variables that shape ssh are sent). */
  env: Record<string, string | undefined>;
  /** How long connecting may take when the agent has no bridge ready. */
  timeoutMs: number;
}

/** Why a call goes its own way, and whether an agent should be started. */
export interface Direct {
  /** The reason, for `status`. */
  reason: string;
  /**
   * No usable agent runs: start one with {@linkcode startAgent} once this
   * call is done, so that its start-up does not compete with the call.
   */
  agentDue: boolean;
}

/** A bridge borrowed from the agent. */
export interface Leased {
  /** The daemon's frames, through the agent. */
  channel: Channel;
  /** Closes the call's side; the agent takes the bridge back. */
  close: () => void;
  /** The daemon's hello reply. */
  hello: Message;
  /** The master the bridge goes through. */
  master: MasterInfo;
  /** Process id of the agent. */
  agentPid: number;
}

/**
 * Borrows a bridge from the agent of `controlDir`. Returns why not when the
 * call must go its own way (no agent yet, or an outdated one: the caller
 * starts a new one when it is done).
 *
 * @param controlDir The control directory of the call.
 * @param target Destination, ssh flags, environment, connect timeout.
 * @returns The leased bridge, or why there is none.
 * @throws {SesshError} what connecting failed with, when the agent tried.
 *
 * @example
 * ```ts ignore
 * import { leaseBridge } from "./lease.ts";
 * const leased = await leaseBridge("/run/user/1000/sessh", target);
 * if ("reason" in leased) console.log("direct:", leased.reason);
 * ```
 */
export async function leaseBridge(
  controlDir: string,
  target: LeaseTarget,
): Promise<Leased | Direct> {
  markPhase("lease");
  const files = agentFiles(controlDir);
  const foreign = foreignFile(files.socket, "socket") ??
    foreignFile(files.token, "file");
  if (foreign) {
    // Not talking to it: a socket or token not ours is not proof of our
    // own agent. Its files go, so the agent started after this call
    // listens in their place (a running one sees them gone and retires).
    for (const path of [files.socket, files.token]) {
      try {
        Deno.removeSync(path);
      } catch { /* gone already */ }
    }
    return {
      reason: `${foreign}; it is replaced by a new agent`,
      agentDue: true,
    };
  }
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: files.socket });
  } catch (error) {
    return {
      reason: `no local agent answered (${
        (error as Error).name
      }); one is started for the next call`,
      agentDue: true,
    };
  }
  const close = () => {
    try {
      conn.close();
    } catch { /* closed already */ }
  };
  try {
    const token = await Deno.readTextFile(files.token);
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(target.env)) {
      if (value !== undefined && LEASE_ENV.test(key)) env[key] = value;
    }
    const request: Message = {
      op: "lease",
      version: agentIdentity(),
      token,
      destination: target.destination,
      // Unset flags are left out, not sent as nil.
      ssh: JSON.parse(JSON.stringify(target.ssh)),
      env,
      timeout_ms: target.timeoutMs,
    };
    if (target.port !== undefined) request.port = target.port;
    await writeAll(conn, encodeFrame(request));
    // The agent answers within the connect timeout even when connecting
    // fails, so silence means it is broken: going direct now would overrun
    // the call's deadline, and nothing was sent.
    const answer = await readFirstFrame(conn, target.timeoutMs + 500);
    markPhase("lent");
    if (answer === "ended") {
      close();
      return {
        reason: "the local agent closed the connection",
        agentDue: false,
      };
    }
    if (answer === "timeout") {
      close();
      const error = new ConnectError(
        "connect_failed",
        `The local sessh agent (${files.socket}) did not answer within ${target.timeoutMs} ms; nothing was sent; SESSH_AGENT=0 goes without it`,
        { delivery: "not_sent" },
      );
      throw error;
    }
    const reply = answer.message as unknown as LeaseReply;
    if (!reply.ok) {
      close();
      if (reply.code === "agent_outdated") {
        return {
          reason: "the local agent was outdated; a new one is started",
          agentDue: true,
        };
      }
      if (reply.code === "agent_token") {
        return {
          reason:
            "the local agent refused the token in its token file (it was changed); a new agent is started",
          agentDue: true,
        };
      }
      if (reply.code === "agent_env") {
        return { reason: reply.message, agentDue: false };
      }
      const error = new SesshError(
        reply.code as SesshError["code"],
        reply.message,
        reply.exit_code,
      );
      Object.assign(error.details, reply.details);
      throw error;
    }
    // As a bridge of its own is: an idle link keeps no script alive.
    conn.unref();
    return {
      channel: {
        reader: conn.readable.getReader(),
        writer: conn.writable.getWriter(),
        leftover: answer.leftover,
      },
      close,
      hello: reply.hello,
      master: reply.master,
      agentPid: reply.agent_pid,
    };
  } catch (error) {
    close();
    if (error instanceof SesshError) throw error;
    return {
      reason: `the local agent failed: ${(error as Error).message}`,
      agentDue: false,
    };
  }
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

/**
 * Starts the agent of `controlDir` in the background, detached, with the
 * same program and permissions as this process. If another one wins the
 * race, this one exits at once.
 *
 * @param controlDir The control directory it serves.
 */
export function startAgent(controlDir: string): void {
  const args = Deno.build.standalone ? ["agent", controlDir] : [
    "run",
    "-A",
    "--quiet",
    // Its code runs seldom and briefly (a lease, a reset, bytes passed
    // through): the code cache and V8's optimizing compilers buy it
    // nothing, and without them ten destinations take 5 MB less of its
    // RSS (issue 21). A compiled binary's V8 flags are fixed at build.
    "--no-code-cache",
    "--v8-flags=--lite-mode",
    agentEntry(),
    "agent",
    controlDir,
  ];
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args,
      // A long-lived Deno process looks up dl.deno.land for a newer
      // release; the agent makes no connection but its ssh bridges.
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
    child.unref();
  } catch {
    // No agent this time: the call works without one.
  }
}
