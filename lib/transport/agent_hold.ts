/**
 * A call's request that its local agent hold a file open until the call
 * lets go: the old target of a download, so that renaming the part over it
 * does not wait for the old file to be freed (`lib/agent/held_files.ts`).
 *
 * @module
 */
import { askAgent } from "./agent_client.ts";
import {
  agentIdentity,
  type HoldReply,
  type HoldRequest,
} from "./agent_protocol.ts";

/**
 * Asks the agent of `controlDir` to hold the plain file at `path`. An agent
 * that is missing, outdated or failing holds nothing, and none is started
 * for it: the caller goes on as it would without.
 *
 * @param controlDir The control directory of the call.
 * @param env The call's environment (`SESSH_AGENT_LISTEN`).
 * @param path The file's absolute path.
 * @param timeoutMs How long the agent may take to answer, less 500 ms.
 * @returns A function that lets go of the file (it closes the connection;
 *   the call's exit does too), or null when nothing is held.
 *
 * @example
 * ```ts ignore
 * import { holdAtAgent } from "./agent_hold.ts";
 * const letGo = await holdAtAgent("/run/user/1000/sessh", Deno.env.toObject(), "/tmp/big.bin", 2000);
 * await Deno.rename("/tmp/.big.bin.sessh-part", "/tmp/big.bin");
 * letGo?.();
 * ```
 */
export async function holdAtAgent(
  controlDir: string,
  env: Record<string, string | undefined>,
  path: string,
  timeoutMs: number,
): Promise<(() => void) | null> {
  const request: HoldRequest = { op: "hold", version: agentIdentity(), path };
  const answer = await askAgent(
    controlDir,
    env,
    request as unknown as Record<string, unknown>,
    timeoutMs,
  ).catch(() => null);
  if (answer === null || "reason" in answer) return null;
  const reply = answer.reply as unknown as HoldReply;
  if (reply.ok && reply.held) return answer.close;
  answer.close();
  return null;
}
