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
 * of characters, dots included. Host names compare without regard to ASCII
 * case (DNS and ssh's `Host` lines do the same); user names compare exactly.
 * Nothing else is normalized: `lab1.` (a trailing dot, which skips ssh
 * config aliases and search domains) is not `lab1`, and the port plays no
 * part.
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
  const host = asciiLower(destination.host);
  return patterns.some((pattern) => {
    const at = pattern.lastIndexOf("@");
    if (at === -1) return glob(asciiLower(pattern)).test(host);
    return destination.user !== undefined &&
      glob(pattern.slice(0, at)).test(destination.user) &&
      glob(asciiLower(pattern.slice(at + 1))).test(host);
  });
}

/**
 * Only ASCII letters are folded: `toLowerCase()` would turn the Kelvin sign
 * into `k` and let a name ssh sees as different match a pattern.
 */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function glob(pattern: string): RegExp {
  const body = pattern.split("*").map((part) =>
    part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  ).join(".*");
  return new RegExp(`^${body}$`, "s");
}
