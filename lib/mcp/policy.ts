/**
 * What the operator allows for one destination: the flags of `sessh mcp`
 * and the profiles of `--profiles` together. The stricter always wins:
 *
 * - a destination must match `--allow-host` (when given) and the `allow`
 *   of at least one profile (when a file is given);
 * - it is read-only when `--read-only` is given or any profile that
 *   matches it says `read_only`;
 * - a call asks the human first when `--confirm`/`--confirm-command` or
 *   any profile that matches the destination asks for it.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { parseDestination } from "../ssh/destination.ts";
import { hostAllowed } from "./allow_host.ts";
import { TOOL_HINTS, type ToolName } from "./annotations.ts";
import type { Profile } from "./profiles.ts";

/** The operator's limits, from the flags and the profiles. */
export interface OperatorPolicy {
  /** `--allow-host` patterns; empty: any host. */
  allowHosts: readonly string[];
  /** `--read-only`. */
  readOnly: boolean;
  /** `--confirm` tools. */
  confirm: readonly ToolName[];
  /** `--confirm-command` expressions. */
  confirmCommand: readonly RegExp[];
  /** The `--profiles` file's profiles; absent: no file. */
  profiles?: readonly Profile[];
}

/** The limits on one destination, or why it is refused. */
export type DestinationRules =
  | {
    allowed: true;
    readOnly: boolean;
    confirm: ReadonlySet<ToolName>;
    confirmCommand: readonly RegExp[];
    /** The profiles that matched, by name. */
    profiles: string[];
    /** What made it read-only: `--read-only`, or profiles by name. */
    readOnlyBy: string[];
  }
  | { allowed: false; reason: string };

/**
 * The limits the operator set on one destination.
 *
 * @param policy The operator's policy.
 * @param destination The destination as the model gave it; it is judged
 * as the connection then parses it.
 * @returns The rules, or the refusal with its reason.
 * @throws {SesshError} `invalid_destination` for one ssh would misread.
 *
 * @example
 * ```ts
 * import { rulesFor } from "./policy.ts";
 * const rules = rulesFor({
 *   allowHosts: [],
 *   readOnly: false,
 *   confirm: [],
 *   confirmCommand: [],
 *   profiles: [{
 *     name: "prod",
 *     allow: ["prod-*"],
 *     readOnly: true,
 *     confirm: [],
 *     confirmCommand: [],
 *   }],
 * }, "prod-1");
 * console.log(rules.allowed && rules.readOnly); // true
 * ```
 */
export function rulesFor(
  policy: OperatorPolicy,
  destination: string,
): DestinationRules {
  const quoted = JSON.stringify(destination);
  const parsed = parseDestination(destination);
  if (!hostAllowed(policy.allowHosts, parsed)) {
    return {
      allowed: false,
      reason:
        `The destination ${quoted} is not allowed here: the operator started sessh mcp with --allow-host ${
          policy.allowHosts.join(", ")
        }`,
    };
  }
  const matching = (policy.profiles ?? []).filter((profile) =>
    hostAllowed(profile.allow, parsed)
  );
  if (policy.profiles && matching.length === 0) {
    return {
      allowed: false,
      reason:
        `The destination ${quoted} is not allowed here: it matches none of the operator's profiles (${
          policy.profiles.map((p) => p.name).join(", ")
        })`,
    };
  }
  return {
    allowed: true,
    readOnly: policy.readOnly || matching.some((p) => p.readOnly),
    confirm: new Set([
      ...policy.confirm,
      ...matching.flatMap((p) => p.confirm),
    ]),
    confirmCommand: [
      ...policy.confirmCommand,
      ...matching.flatMap((p) => p.confirmCommand),
    ],
    profiles: matching.map((p) => p.name),
    readOnlyBy: [
      ...(policy.readOnly ? ["--read-only"] : []),
      ...matching.filter((p) => p.readOnly).map((p) => `profile ${p.name}`),
    ],
  };
}

/**
 * Whether no destination can be written to at all: then only the tools
 * that observe are offered.
 *
 * @param policy The operator's policy.
 * @returns True for `--read-only`, or when every profile is read-only.
 */
export function everywhereReadOnly(policy: OperatorPolicy): boolean {
  return policy.readOnly ||
    (policy.profiles !== undefined && policy.profiles.every((p) => p.readOnly));
}

/**
 * Checks `--confirm` names and compiles `--confirm-command` expressions.
 *
 * @param tools The `--confirm` values.
 * @param commands The `--confirm-command` values.
 * @returns The tools and the expressions.
 * @throws {UsageError} For a tool sessh does not have or a bad expression.
 */
export function confirmFlags(
  tools: readonly string[],
  commands: readonly string[],
): { confirm: ToolName[]; confirmCommand: RegExp[] } {
  const names = Object.keys(TOOL_HINTS);
  for (const tool of tools) {
    if (!names.includes(tool)) {
      throw new UsageError(
        `--confirm ${JSON.stringify(tool)} is not a tool; name one of ${
          names.join(", ")
        }`,
      );
    }
  }
  return {
    confirm: tools as ToolName[],
    confirmCommand: commands.map((source) => {
      try {
        return new RegExp(source);
      } catch (error) {
        throw new UsageError(
          `--confirm-command ${
            JSON.stringify(source)
          } is not a regular expression: ${(error as Error).message}`,
        );
      }
    }),
  };
}
