/**
 * The port forwards of a client's ControlMaster (`ssh -O forward`, recorded
 * beside its socket). Without a master (`SESSH_CONTROL_MASTER=no`) the local
 * agent holds one `ssh -N` per forward instead (`setUpForwards` in
 * `call.ts` and `forward.ts` ask it first); this forwarder then lists none
 * and refuses.
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
 * The forwards of the client's destination: through its master, or, when
 * the client goes without one, a forwarder that lists none and refuses to
 * set one up with a usage error that says how to get one.
 *
 * @param client A connected client.
 * @returns Its forwarder.
 *
 * @example
 * ```ts ignore
 * import { forwardsFor } from "./forwarding.ts";
 * const forwards = await forwardsFor(client).change(parseForward("L", "8080:localhost:80"));
 * console.log(forwards.length); // 1
 * ```
 */
export function forwardsFor(client: SesshClient): Forwarder {
  const master = client.master;
  const where = `through the master of ${client.destination.display}`;
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
