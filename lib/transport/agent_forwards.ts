/**
 * The command line's side of the forwards the agent holds when there is no
 * ControlMaster: ask it to start, cancel or list them, starting the agent
 * first when none runs, since only a process that outlives the call can
 * hold a forward's ssh.
 *
 * @module
 */
import type { Message } from "../protocol/frame.ts";
import { ConnectError, SesshError } from "../errors.ts";
import type { SshFlags } from "../ssh/settings.ts";
import {
  agentIdentity,
  type ForwardReply,
  type ForwardRequest,
  type HeldForwardInfo,
} from "./agent_protocol.ts";
import { askAgent, type Direct, shapingEnv } from "./agent_client.ts";
import { startAgent } from "./lease.ts";

/** How long a call waits for an agent it started to listen. */
const AGENT_START_MS = 10_000;

/** What a request about forwards is about. */
export interface ForwardTarget {
  /** The destination as given. */
  destination: string;
  /** A trailing PORT argument. */
  port?: string;
  /** ssh flags. */
  ssh: SshFlags;
  /** The call's environment (only the variables that shape ssh are sent). */
  env: Record<string, string | undefined>;
  /** How long setting a forward up may take. */
  timeoutMs: number;
}

/**
 * Asks the agent of `controlDir` to start, cancel or list forwards.
 *
 * @param controlDir The control directory of the call.
 * @param target Destination, ssh flags, environment, timeout.
 * @param action What to do.
 * @param forward The forward to start or cancel.
 * @returns The forwards to the destination now, and the one cancelled. A
 *   list when no agent runs is empty: none is started just to say so.
 * @throws {SesshError} what the agent or ssh said; `connect_failed` when
 *   no agent could be reached.
 *
 * @example
 * ```ts ignore
 * import { askAgentForward } from "./agent_forwards.ts";
 * const { forwards } = await askAgentForward("/run/user/1000/sessh", target, "list");
 * ```
 */
export async function askAgentForward(
  controlDir: string,
  target: ForwardTarget,
  action: ForwardRequest["action"],
  forward?: ForwardRequest["forward"],
): Promise<{ forwards: HeldForwardInfo[]; cancelled?: HeldForwardInfo }> {
  const request: ForwardRequest = {
    op: "forward",
    version: agentIdentity(),
    action,
    destination: target.destination,
    // Unset flags are left out, not sent as nil.
    ssh: JSON.parse(JSON.stringify(target.ssh)),
    env: shapingEnv(target.env),
    timeout_ms: target.timeoutMs,
  };
  if (forward) request.forward = forward;
  if (target.port !== undefined) request.port = target.port;
  const deadline = performance.now() + AGENT_START_MS;
  let started = false;
  let last: Direct | null = null;
  while (performance.now() < deadline) {
    const answer = await askAgent(
      controlDir,
      target.env,
      request as unknown as Message,
      target.timeoutMs,
    );
    if ("reason" in answer) {
      last = answer;
      if (!answer.agentDue) break;
      if (action === "list" && !started) return { forwards: [] };
    } else {
      answer.close();
      const reply = answer.reply as unknown as ForwardReply;
      if (reply.ok) return reply;
      if (reply.code !== "agent_outdated") {
        const error = new SesshError(
          reply.code as SesshError["code"],
          reply.message,
          reply.exit_code,
        );
        Object.assign(error.details, reply.details);
        throw error;
      }
      // It retires; the one started next holds the forwards from now on.
      last = { reason: "the local agent was outdated", agentDue: true };
    }
    if (!started) {
      startAgent(controlDir);
      started = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new ConnectError(
    "connect_failed",
    `Without a ControlMaster, forwards are held by the local sessh agent, and it could not be used: ${
      last?.reason ?? `it did not start within ${AGENT_START_MS} ms`
    }`,
    { delivery: "not_sent" },
  );
}
