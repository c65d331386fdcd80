/**
 * `forward DEST -L|-R|-D SPEC [--cancel]` and `forward DEST --list`: port
 * forwards through the destination's running ControlMaster, kept when a
 * reconnect replaces it; without a ControlMaster (`SESSH_CONTROL_MASTER=no`)
 * one `ssh -N` per forward, held by the local agent.
 *
 * @module
 */
import { UsageError } from "../../errors.ts";
import { type Forward, parseForward } from "../../ssh/forwards.ts";
import type { SshSettings } from "../../ssh/settings.ts";
import { SesshClient } from "../../session/client.ts";
import { askAgentForward } from "../../transport/agent_forwards.ts";
import type { HeldForwardInfo } from "../../transport/agent_protocol.ts";
import { forwardsFor } from "../forwarding.ts";
import {
  type CommonFlags,
  connect,
  heldForwardTarget,
  type Outcome,
  sshFlags,
} from "../call.ts";
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
  /** List the forwards instead (no -L, -R or -D then). */
  list?: boolean;
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
 * `forward DEST …`: set a forward up, cancel it, or list them (`--list`,
 * or no forward given).
 *
 * @param t DEST [PORT].
 * @param flags The forward, `--cancel` or `--list`.
 * @returns The outcome, with the forwards now in place.
 */
export async function forwardCommand(
  t: { dest: string; port?: string },
  flags: ForwardFlags,
): Promise<Outcome> {
  if (
    flags.list && (flags.cancel || flags.local || flags.remote ||
      flags.dynamic)
  ) {
    throw new UsageError(
      "--list takes no forward and no --cancel; run forward DEST --list alone",
    );
  }
  const listing = flags.list || (!flags.cancel && flags.local === undefined &&
    flags.remote === undefined && flags.dynamic === undefined);
  const forward = listing ? null : forwardOf(flags);
  const { settings } = SesshClient.prepare({
    destination: t.dest,
    port: t.port,
    ssh: sshFlags(flags),
  });
  if (!settings.controlMaster) {
    return await heldForward(t, flags, settings, forward);
  }
  await using client = await connect(t, flags);
  const forwarder = forwardsFor(client);
  const where = forwarder.where;
  if (forward === null) {
    const forwards = await forwarder.recorded();
    return {
      op: "forward",
      fields: { forwards },
      text: forwardList(forwards, where),
      exitCode: 0,
    };
  }
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

/**
 * Without a ControlMaster: the local agent starts, cancels or lists one
 * `ssh -N` per forward, since it outlives this call.
 */
async function heldForward(
  t: { dest: string; port?: string },
  flags: ForwardFlags,
  settings: SshSettings,
  forward: Forward | null,
): Promise<Outcome> {
  const target = heldForwardTarget(t, flags, settings);
  const action = forward === null ? "list" : flags.cancel ? "cancel" : "open";
  const { forwards, cancelled } = await askAgentForward(
    settings.controlDir,
    target,
    action,
    forward ?? undefined,
  );
  const where = `to ${t.dest}, held by the local agent`;
  let text = forwards.length === 0
    ? `no forwards ${where}\n`
    : forwards.map((f) => `${describe(f)} ${where}\n`).join("");
  if (cancelled) text = `cancelled ${describe(cancelled)} ${where}\n`;
  else if (forward) {
    const up = forwards.find((f) =>
      f.kind === forward.kind && f.spec === forward.spec
    );
    text = `forwarding ${
      up ? describe(up) : `-${forward.kind} ${forward.spec}`
    } ${where}\n`;
  }
  return {
    op: "forward",
    fields: cancelled ? { cancelled, forwards } : { forwards },
    text,
    exitCode: 0,
  };
}

function describe(f: HeldForwardInfo): string {
  return f.state === "up"
    ? `-${f.kind} ${f.spec} (ssh pid ${f.pid})`
    : `-${f.kind} ${f.spec} (dead: ${f.why})`;
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
