/**
 * The port forwards of a destination as one call reaches it: those of the
 * client's ControlMaster (`ssh -O forward`, recorded beside its socket), or,
 * without a master (`SESSH_CONTROL_MASTER=no`), the `ssh -N` per forward that
 * the local agent holds, since only a process that outlives the call can.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import {
  cancelForward,
  changeForward,
  type Forward,
  recordedForwards,
} from "../ssh/forwards.ts";
import type { SesshClient } from "../session/client.ts";
import type { ForwardTarget } from "../transport/agent_forwards.ts";

/** The port forwards of one destination, as a client reaches it. */
export interface Forwarder {
  /** Where the forwards are held, for messages: "through the master of db1". */
  where: string;
  /**
   * Sets a forward up.
   *
   * @returns The forwards in place now.
   */
  change(forward: Forward): Promise<Forward[]>;
  /**
   * Cancels a forward.
   *
   * @returns The forward cancelled, as it was set up, and those left.
   */
  cancel(
    forward: Forward,
  ): Promise<{ cancelled: Forward; forwards: Forward[] }>;
  /** The forwards in place (none known: an empty list). */
  recorded(): Promise<Forward[]>;
}

/**
 * The forwards of the client's destination: through its master; when the
 * client goes without one, those the local agent holds for `held`; with
 * neither, a forwarder that lists none and refuses to set one up with a
 * usage error that says how to get one.
 *
 * @param client A connected client.
 * @param held Without a master: what the agent is asked about (see
 *   `heldForwardTarget` in `call.ts`); leave it out when the agent is off.
 * @returns Its forwarder.
 *
 * @example
 * ```ts ignore
 * import { forwardsFor } from "./forwarding.ts";
 * const forwards = await forwardsFor(client).change(parseForward("L", "8080:localhost:80"));
 * console.log(forwards.length); // 1
 * ```
 */
export function forwardsFor(
  client: SesshClient,
  held?: ForwardTarget,
): Forwarder {
  const master = client.master;
  const where = `through the master of ${client.destination.display}`;
  if (master === null && held) {
    return heldBy(client.settings.controlDir, held);
  }
  if (master === null) {
    const refuse = (): never => {
      throw new UsageError(
        `Port forwards go through a ControlMaster, and SESSH_CONTROL_MASTER=no (or Windows) goes without one; unset SESSH_CONTROL_MASTER to forward ports to ${
          JSON.stringify(client.destination.display)
        }`,
      );
    };
    return {
      where: `to ${client.destination.display}`,
      change: () => Promise.resolve().then(refuse),
      cancel: () => Promise.resolve().then(refuse),
      recorded: () => Promise.resolve([]),
    };
  }
  return {
    where,
    change: (forward) =>
      changeForward(
        client.destination,
        client.settings,
        master.controlPath,
        forward,
      ),
    cancel: (forward) =>
      cancelForward(
        client.destination,
        client.settings,
        master.controlPath,
        forward,
      ),
    recorded: () => recordedForwards(master.controlPath),
  };
}

/** The forwards the local agent holds: one `ssh -N` each. */
function heldBy(controlDir: string, target: ForwardTarget): Forwarder {
  // Loaded only when used: every verb that lists forwards loads this module.
  const ask = async (
    action: "open" | "cancel" | "list",
    forward?: Forward,
  ) => {
    const { askAgentForward } = await import(
      "../transport/agent_forwards.ts"
    );
    return await askAgentForward(controlDir, target, action, forward);
  };
  return {
    where: `to ${target.destination}, held by the local agent`,
    change: async (forward) => (await ask("open", forward)).forwards,
    cancel: async (forward) => {
      const { cancelled, forwards } = await ask("cancel", forward);
      // The agent names the forward it cancelled, or fails with no_forward.
      return { cancelled: cancelled ?? forward, forwards };
    },
    recorded: async () => (await ask("list")).forwards,
  };
}
