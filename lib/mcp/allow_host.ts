/**
 * `sessh mcp --allow-host`: which destinations the model may reach. A
 * pattern is matched against what {@linkcode parseDestination} returns, the
 * same parse the connection then uses, so the text ssh receives is the text
 * that was judged. A pattern without `@` matches the host alone, never the
 * user before it (`lab*` must not allow `lab-x@prod`); a pattern with `@`
 * matches `user@host` and only destinations that name a user.
 *
 * @module
 */
import type { Destination } from "../ssh/destination.ts";

/**
 * Whether the operator's patterns allow a destination. `*` matches any run
 * of characters, dots included. Nothing is folded or stripped: the host is
 * judged as ssh receives it, and ssh treats `LAB1` and `lab1.` as other
 * names than `lab1` (its `Host lab1` lines apply to neither; OpenSSH 9.2
 * resolves them through DNS instead), so they do not match `lab1` either.
 * The port plays no part.
 *
 * @param patterns The `--allow-host` values; none allows every destination.
 * @param destination The parsed destination.
 * @returns Whether one pattern matches.
 *
 * @example
 * ```ts
 * import { hostAllowed } from "./allow_host.ts";
 * import { parseDestination } from "../ssh/destination.ts";
 * console.log(hostAllowed(["lab*"], parseDestination("me@lab1"))); // true
 * console.log(hostAllowed(["lab*"], parseDestination("lab1@prod"))); // false
 * ```
 */
export function hostAllowed(
  patterns: readonly string[],
  destination: Destination,
): boolean {
  if (patterns.length === 0) return true;
  const { user, host } = destination;
  return patterns.some((pattern) => {
    const at = pattern.lastIndexOf("@");
    if (at === -1) return glob(pattern).test(host);
    return user !== undefined && glob(pattern.slice(0, at)).test(user) &&
      glob(pattern.slice(at + 1)).test(host);
  });
}

function glob(pattern: string): RegExp {
  const body = pattern.split("*").map((part) =>
    part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join(".*");
  return new RegExp(`^${body}$`, "s");
}
