/**
 * Fan-out on the command line: every verb whose DEST may be a set of hosts
 * (`--hosts gpu[01-08]`, `--hosts-file FILE`) goes through
 * {@linkcode hostsVerb}, which runs the verb's own handler once per host,
 * at most `--parallel` at a time, and prints each host's result as it
 * comes, then a summary. The verbs themselves know nothing of it.
 *
 * The fan-out itself (`hosts_fan.ts`) is loaded only when a set is given:
 * a call on one host, the commonest, does without it.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { Outcome, Target } from "./call.ts";
import { type ProgramContext, verb, type VerbFunction } from "./context.ts";

/** The flags of a verb that takes a set of hosts in DEST's place. */
export interface FleetFlags {
  /** The hosts, expanded from `--hosts a[1-3],b`. */
  hosts?: string[];
  /** A file of hosts, one entry a line. */
  hostsFile?: string;
  /** Hosts in flight at once. */
  parallel?: number;
  /** Group hosts with the same output, as `dshbak -c`. */
  group?: boolean;
}

/** The positionals `A` with the one at index `I` (DEST) made optional. */
export type DestOptional<A extends unknown[], I extends number> = {
  [K in keyof A]: K extends `${I}` ? A[K] | undefined : A[K];
};

/**
 * Makes a handler whose positionals hold DEST at index `destAt` into a
 * verb that also takes `--hosts`/`--hosts-file` in DEST's place.
 *
 * @param op The verb, as `--json` names it.
 * @param destAt Where DEST is among the positionals.
 * @param handler The verb's handler for one host.
 * @returns The command function.
 *
 * @example
 * ```ts ignore
 * export const list = hostsVerb("list", 0, (_, flags: CommonFlags, dest: string, port?: string) =>
 *   listCommand({ dest, port }, flags));
 * ```
 */
export function hostsVerb<
  F extends FleetFlags,
  A extends unknown[],
  I extends number,
>(
  op: string,
  destAt: I,
  handler: (context: ProgramContext, flags: F, ...args: A) => Promise<Outcome>,
): VerbFunction<F, DestOptional<A, I>> {
  return verb(async (context, flags: F, ...given: DestOptional<A, I>) => {
    const args = given as unknown[];
    const dest = args[destAt] as string | undefined;
    if (flags.hosts !== undefined || flags.hostsFile !== undefined) {
      if (dest !== undefined) {
        throw new UsageError(
          `DEST "${dest}" given together with --hosts or --hosts-file; give one host as DEST or a set with --hosts, not both`,
        );
      }
      const { overHosts } = await import("./hosts_fan.ts");
      return overHosts(op, flags, context, (host, hostContext) => {
        const one = [...args];
        one[destAt] = host;
        return handler(hostContext, flags, ...one as A);
      });
    }
    if (dest === undefined) {
      throw new UsageError(
        "No DEST given; name a host after NAME, or a set of them with --hosts h1,h2 or --hosts-file FILE",
      );
    }
    if (flags.parallel !== undefined || flags.group) {
      throw new UsageError(
        "--parallel and --group apply to a set of hosts; give it with --hosts or --hosts-file",
      );
    }
    return handler(context, flags, ...args as A);
  });
}

/**
 * {@linkcode hostsVerb} for a verb on NAME DEST [PORT]: the handler gets
 * them as one target, with DEST the host of the moment.
 *
 * @param op The verb, as `--json` names it.
 * @param handler The verb's handler for one host.
 * @returns The command function.
 *
 * @example
 * ```ts ignore
 * export const status = targetHostsVerb("status", statusCommand);
 * ```
 */
export function targetHostsVerb<F extends FleetFlags>(
  op: string,
  handler: (
    target: Target,
    flags: F,
    context: ProgramContext,
  ) => Promise<Outcome>,
): VerbFunction<F, [string, string | undefined, string | undefined]> {
  return hostsVerb(
    op,
    1,
    (context, flags: F, name: string, dest: string, port: string | undefined) =>
      handler({ name, dest, port, env: context.env }, flags, context),
  );
}
