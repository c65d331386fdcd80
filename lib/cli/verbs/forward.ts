/**
 * `forward DEST -L|-R|-D SPEC [--cancel]`: port forwards through the
 * destination's running ControlMaster, kept when a reconnect replaces it.
 *
 * @module
 */
import { UsageError } from "../../errors.ts";
import {
  cancelForward,
  changeForward,
  type Forward,
  parseForward,
  recordedForwards,
} from "../../ssh/forwards.ts";
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
 * `forward DEST …`: set a forward up, or cancel it; without one, list
 * those in place.
 *
 * @param t DEST [PORT].
 * @param flags The forward and `--cancel`.
 * @returns The outcome, with the forwards now in place.
 */
export async function forwardCommand(
  t: { dest: string; port?: string },
  flags: ForwardFlags,
): Promise<Outcome> {
  const listing = !flags.cancel && flags.local === undefined &&
    flags.remote === undefined && flags.dynamic === undefined;
  const forward = listing ? null : forwardOf(flags);
  await using client = await connect(t, flags);
  const where = `through the master of ${t.dest}`;
  if (forward === null) {
    const forwards = await recordedForwards(client.master.controlPath);
    return {
      op: "forward",
      fields: { forwards },
      text: forwardList(forwards, where),
      exitCode: 0,
    };
  }
  if (flags.cancel) {
    const { cancelled, forwards } = await cancelForward(
      client.destination,
      client.settings,
      client.master.controlPath,
      forward,
    );
    return {
      op: "forward",
      fields: { cancelled, forwards },
      text: `cancelled -${cancelled.kind} ${cancelled.spec} ${where}\n`,
      exitCode: 0,
    };
  }
  const forwards = await changeForward(
    client.destination,
    client.settings,
    client.master.controlPath,
    forward,
  );
  return {
    op: "forward",
    fields: { forwards },
    text: `forwarding -${forward.kind} ${forward.spec} ${where}\n`,
    exitCode: 0,
  };
}

/**
 * The forwards in place, one a line as they were set up (`-L 8080:…`).
 *
 * @param forwards The forwards.
 * @param where Through which master, for the line saying there are none.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { forwardList } from "./forward.ts";
 * forwardList([{ kind: "L", spec: "8080:localhost:80" }], "through the master of box");
 * // "-L 8080:localhost:80\n"
 * ```
 */
export function forwardList(
  forwards: readonly Pick<Forward, "kind" | "spec">[],
  where: string,
): string {
  return forwards.length === 0
    ? `no forwards ${where}\n`
    : forwards.map((f) => `-${f.kind} ${f.spec}\n`).join("");
}

/** `forward`, as its grammar in `forward_command.ts` calls it. */
export const forward = verb((
  _,
  flags: ForwardFlags,
  dest: string,
  port: string | undefined,
) => forwardCommand({ dest, port }, flags));
