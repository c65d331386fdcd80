/**
 * `forward DEST -L|-R|-D SPEC [--cancel]`: port forwards through the
 * destination's running ControlMaster, kept when a reconnect replaces it
 * (see `forwarding.ts` for the way without a master).
 *
 * @module
 */
import { UsageError } from "../../errors.ts";
import { type Forward, parseForward } from "../../ssh/forwards.ts";
import { forwardsFor } from "../forwarding.ts";
import { type CommonFlags, connect, type Outcome } from "../call.ts";
import { verb } from "../context.ts";

/** Options of `forward`: exactly one of `local`, `remote`, `dynamic`. */
export interface ForwardFlags extends CommonFlags {
  /** `-L [bind:]port:host:hostport`: a local port reaching the host's side. */
  local?: string;
  /** `-R [bind:]port:host:hostport`: a port on the host reaching this side. */
  remote?: string;
  /** `-D [bind:]port`: a SOCKS proxy through the host. */
  dynamic?: string;
  /** Cancel the forward instead. */
  cancel?: boolean;
}

/**
 * The one forward the flags name.
 *
 * @param flags The flags.
 * @returns The forward.
 * @throws {UsageError} unless exactly one of -L, -R, -D is given.
 */
export function forwardOf(flags: ForwardFlags): Forward {
  const given = [
    ["L", flags.local],
    ["R", flags.remote],
    ["D", flags.dynamic],
  ].filter(([, spec]) => spec !== undefined) as [Forward["kind"], string][];
  if (given.length !== 1) {
    throw new UsageError(
      "Give exactly one forward: -L [bind:]port:host:hostport, -R [bind:]port:host:hostport or -D [bind:]port",
    );
  }
  return parseForward(given[0][0], given[0][1]);
}

/**
 * `forward DEST …`: set a forward up, or cancel it.
 *
 * @param t DEST [PORT].
 * @param flags The forward and `--cancel`.
 * @returns The outcome, with the forwards now in place.
 */
export async function forwardCommand(
  t: { dest: string; port?: string },
  flags: ForwardFlags,
): Promise<Outcome> {
  const forward = forwardOf(flags);
  await using client = await connect(t, flags);
  const forwarder = forwardsFor(client);
  const where = forwarder.where;
  if (flags.cancel) {
    const { cancelled, forwards } = await forwarder.cancel(forward);
    return {
      op: "forward",
      fields: { cancelled, forwards },
      text: `cancelled -${cancelled.kind} ${cancelled.spec} ${where}\n`,
      exitCode: 0,
    };
  }
  const forwards = await forwarder.change(forward);
  return {
    op: "forward",
    fields: { forwards },
    text: `forwarding -${forward.kind} ${forward.spec} ${where}\n`,
    exitCode: 0,
  };
}

/** `forward`, as its grammar in `forward_command.ts` calls it. */
export const forward = verb((
  _,
  flags: ForwardFlags,
  dest: string,
  port: string | undefined,
) => forwardCommand({ dest, port }, flags));
