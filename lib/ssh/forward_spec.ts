/**
 * A port forward as the command line gives it (`-L`, `-R`, `-D` and their
 * specification), checked before ssh sees it. Kept apart from the code that
 * applies forwards, which the command line loads only when it does.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** One forward: ssh's `-L`, `-R` or `-D`, and its specification. */
export interface Forward {
  /** `L` (local port to remote), `R` (remote port to local), `D` (SOCKS). */
  kind: "L" | "R" | "D";
  /** As ssh takes it: `[bind:]port:host:hostport`, or `[bind:]port` for `D`. */
  spec: string;
}

// Ports, hosts, addresses ([::1] too), Unix socket paths: nothing a shell or
// ssh could read as an option or a second argument.
const SPEC = /^[A-Za-z0-9._:/\[\]*-]+$/;

/**
 * Checks a forward's specification.
 *
 * @param kind `L`, `R` or `D`.
 * @param spec The specification.
 * @returns The forward.
 * @throws {UsageError} for a malformed one.
 *
 * @example
 * ```ts
 * import { parseForward } from "./forward_spec.ts";
 * console.log(parseForward("L", "8080:localhost:80")); // { kind: "L", spec: "8080:localhost:80" }
 * ```
 */
export function parseForward(kind: Forward["kind"], spec: string): Forward {
  const parts = spec.split(":");
  const port = (text: string | undefined) =>
    text !== undefined && /^\d{1,5}$/.test(text) && Number(text) <= 65535;
  const shapeOk = SPEC.test(spec) && !spec.startsWith("-") &&
    (kind === "D"
      ? parts.length <= 2 && port(parts.at(-1))
      : parts.length >= 2 && (port(parts[0]) || port(parts[1]) ||
        parts[0].startsWith("/")));
  if (!shapeOk) {
    throw new UsageError(
      `Invalid -${kind} ${JSON.stringify(spec)}; give ${
        kind === "D" ? "[bind:]port" : "[bind:]port:host:hostport"
      }, as ssh -${kind} takes it`,
    );
  }
  return { kind, spec };
}

/**
 * Reads `--forward KIND:SPEC` (`L:8080:localhost:80`, `D:1080`).
 *
 * @param text The flag's value.
 * @returns The forward.
 * @throws {UsageError} for a malformed one.
 *
 * @example
 * ```ts
 * import { parseForwardFlag } from "./forward_spec.ts";
 * console.log(parseForwardFlag("D:1080")); // { kind: "D", spec: "1080" }
 * ```
 */
export function parseForwardFlag(text: string): Forward {
  const match = /^([LRD]):(.+)$/.exec(text);
  if (!match) {
    throw new UsageError(
      `Invalid --forward ${
        JSON.stringify(text)
      }; give L:[bind:]port:host:hostport, R:… or D:[bind:]port`,
    );
  }
  return parseForward(match[1] as Forward["kind"], match[2]);
}

/**
 * Whether two forwards name the same one as ssh sees it, however they are
 * written: ports without leading zeros, host names in any case and with or
 * without IPv6 brackets, `*` or an empty bind address (all addresses), and
 * no bind address or `localhost` (ssh binds loopback then, unless
 * GatewayPorts says otherwise). Unix socket paths compare as written.
 *
 * @param a One forward.
 * @param b The other.
 * @returns Whether they are the same forward.
 *
 * @example
 * ```ts
 * import { sameForward } from "./forward_spec.ts";
 * const set = { kind: "L" as const, spec: "8080:db:5432" };
 * console.log(sameForward(set, { kind: "L", spec: "localhost:08080:DB:5432" })); // true
 * ```
 */
export function sameForward(a: Forward, b: Forward): boolean {
  return a.kind === b.kind && forwardKey(a) === forwardKey(b);
}

/** A forward's fields as ssh compares them, joined. */
function forwardKey(forward: Forward): string {
  // Split on colons outside brackets: [::1]:8080:host:80 has four fields.
  const fields = forward.spec.match(/\[[^\]]*\]|[^:]+|(?<=^|:)(?=:|$)/g) ?? [];
  const wanted = forward.kind === "D" ? 2 : 4;
  // The listening side may be a port alone; its bind address defaults.
  const full = fields.length === wanted - 1 && !forward.spec.startsWith("/")
    ? ["localhost", ...fields]
    : fields;
  return full.map((field, i) => {
    if (field.startsWith("/")) return field;
    if (/^\d+$/.test(field)) return String(Number(field));
    const host = field.replace(/^\[(.*)\]$/, "$1").toLowerCase();
    return i === 0 && host === "*" ? "" : host;
  }).join("\n");
}
