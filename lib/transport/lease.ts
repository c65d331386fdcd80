/**
 * The command line's side of the warm path: borrow an open bridge from the
 * local agent, or start the agent for next time and say why this call goes
 * its own way.
 *
 * @module
 */
import { markPhase } from "../phases.ts";
import type { Message } from "../protocol/frame.ts";
import { SesshError } from "../errors.ts";
import type { Channel } from "./connection.ts";
import { connChannel } from "./conn_channel.ts";
import type { MasterInfo } from "../ssh/master.ts";
import type { SshFlags } from "../ssh/settings.ts";
import type { Transport } from "./bridge.ts";
import {
  agentEntry,
  agentIdentity,
  type LeaseReply,
  type LeaseRequest,
} from "./agent_protocol.ts";
import { askAgent, type Direct, shapingEnv } from "./agent_client.ts";

export type { Direct };

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

/** A bridge borrowed from the agent. */
export interface Leased {
  /** The daemon's frames, through the agent. */
  channel: Channel;
  /** Closes the call's side; the agent takes the bridge back. */
  close: () => void;
  /** The daemon's hello reply. */
  hello: Message;
  /** How the bridge reaches the host. */
  transport: Transport;
  /** The master the bridge goes through; null for a direct connection. */
  master: MasterInfo | null;
  /** Process id of the agent. */
  agentPid: number;
}

/**
 * Lends a bridge of this process to a call of this process, or returns
 * null when it holds none for that control directory and request.
 */
export type LocalLender = (
  controlDir: string,
  request: LeaseRequest,
) => Promise<Leased | null>;

let localLender: LocalLender | null = null;

/**
 * Makes this process lend its own bridges to its own calls: the local
 * agent does, for the calls it runs whole for a thin client. Over its own
 * socket such a lease would cost a connection, a key exchange and a relay
 * of every frame (issue 21).
 *
 * @param lender The lender, or null for none.
 * @param ended With null: the lender that ended, removed only if it is
 *   still the one in place.
 * @returns The lender that was in place, for one that wraps it.
 *
 * @example
 * ```ts ignore
 * import { lendInProcess } from "./lease.ts";
 * lendInProcess((controlDir, request) => agent.lendHere(request));
 * ```
 */
export function lendInProcess(
  lender: LocalLender | null,
  ended?: LocalLender,
): LocalLender | null {
  const before = localLender;
  if (lender === null && ended !== undefined && before !== ended) return before;
  localLender = lender;
  return before;
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
 * @throws {UsageError} when `SESSH_AGENT_LISTEN` is not a transport.
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
  const request: Message = {
    op: "lease",
    version: agentIdentity(),
    destination: target.destination,
    // Unset flags are left out, not sent as nil.
    ssh: JSON.parse(JSON.stringify(anchoredSshFlags(target.ssh))),
    env: shapingEnv(target.env),
    timeout_ms: target.timeoutMs,
  };
  if (target.port !== undefined) request.port = target.port;
  let local: Leased | null | undefined;
  try {
    local = await localLender?.(controlDir, request as unknown as LeaseRequest);
  } catch (error) {
    // As the agent answers a lease over its socket.
    if (error instanceof SesshError) throw error;
    return {
      reason: `the local agent failed: ${(error as Error).message}`,
      agentDue: false,
    };
  }
  if (local) {
    markPhase("lent");
    return local;
  }
  const answer = await askAgent(
    controlDir,
    target.env,
    request,
    target.timeoutMs,
  );
  markPhase("lent");
  if ("reason" in answer) return answer;
  const { conn, close } = answer;
  try {
    const reply = answer.reply as unknown as LeaseReply;
    if (!reply.ok) {
      close();
      if (reply.code === "agent_outdated") {
        return {
          reason: "the local agent was outdated; a new one is started",
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
      channel: connChannel(conn, answer.leftover),
      close,
      hello: reply.hello,
      transport: reply.transport,
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
 * A local path ssh reads (`-i`, `-F`) made absolute against `cwd`, for an
 * ssh the agent starts in its own directory; `~` is left for ssh to expand,
 * as it does.
 *
 * @param path The path as given.
 * @param cwd The caller's directory, asked for only when `path` is relative.
 * @returns The path to hand to the agent.
 *
 * @example
 * ```ts
 * import { anchoredPath } from "./lease.ts";
 * console.log(anchoredPath("keys/id", () => "/home/me/")); // "/home/me/keys/id"
 * ```
 */
export function anchoredPath(path: string, cwd: () => string): string {
  return !path || path.startsWith("/") || path.startsWith("~")
    ? path
    : `${cwd().replace(/\/+$/, "")}/${path}`;
}

/**
 * `ssh` with a relative `-i` or `-F` made absolute against this process's
 * directory: the agent starts ssh in its own directory, and pools bridges
 * by these values, so `-F ssh_config` given in two directories would share
 * one. `~` is left for ssh to expand, as it does.
 *
 * @param ssh The call's ssh flags.
 * @param cwd This process's directory, asked for only when a path is relative.
 * @returns The flags to send to the agent.
 *
 * @example
 * ```ts
 * import { anchoredSshFlags } from "./lease.ts";
 * console.log(anchoredSshFlags({ configFile: "cfg" }, () => "/home/me").configFile); // "/home/me/cfg"
 * ```
 */
export function anchoredSshFlags(
  ssh: SshFlags,
  cwd: () => string = Deno.cwd,
): SshFlags {
  const anchor = (path: string | undefined) =>
    path === undefined ? path : anchoredPath(path, cwd);
  return {
    ...ssh,
    identity: anchor(ssh.identity),
    configFile: anchor(ssh.configFile),
  };
}

/** Where util-linux puts setsid(1); by absolute path, not looked up in PATH. */
const SETSID = ["/usr/bin/setsid", "/bin/setsid"];

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
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
    // Its code runs in short bursts (a lease, a thin call or a fan-out,
    // a reset, bytes passed through): the code cache and V8's optimizing
    // compilers bought it nothing measurable (a 50-host fan-out took 80.1
    // ms without lite mode, 81.8 with it), and without them ten
    // destinations take 5 MB less of its RSS (issue 21). A compiled
    // binary's V8 flags are fixed at build.
    // `gc()` lets it collect before it gives freed memory back when idle
    // (`lib/agent/release_memory.ts`).
    "--no-code-cache",
    "--v8-flags=--lite-mode,--expose-gc",
    agentEntry(),
    "agent",
    controlDir,
  ];
  // Deno detaches a child by running setsid in a fork of this whole
  // process: 20-50 ms, paid as the call ends. setsid(1) gives the agent the
  // same session of its own from a plain spawn (posix_spawn), in 4-5 ms.
  const setsid = Deno.build.os === "linux" ? SETSID.find(isFile) : undefined;
  try {
    const child = new Deno.Command(setsid ?? Deno.execPath(), {
      args: setsid ? [Deno.execPath(), ...args] : args,
      // A long-lived Deno process looks up dl.deno.land for a newer
      // release; the agent makes no connection but its ssh bridges.
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: setsid === undefined,
    }).spawn();
    child.unref();
  } catch {
    // No agent this time: the call works without one.
  }
}
