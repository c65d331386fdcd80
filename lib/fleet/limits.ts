/**
 * How many hosts one process can hold in flight: each costs file
 * descriptors (its bridge's pipes or its lease's socket, and ssh's while a
 * master starts), and a process may open only `ulimit -n` of them. Past
 * that, a fan-out is refused before it starts, rather than failing halfway
 * with "too many open files".
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/**
 * Descriptors one host in flight holds at its peak, in the command line.
 * Measured by sampling `/proc/PID/fd` of `run --hosts` on 48 hosts at
 * `--parallel 32`: 1.4 a host on the warm path, 4.4 without the agent (its
 * own bridge's pipes); twice that, for ssh's own while a master starts.
 */
export const FDS_PER_HOST = 8;

/** Descriptors kept for everything else: stdio, the runtime, the agent. */
export const RESERVED_FDS = 64;

/**
 * The soft limit on open files of this process (`ulimit -n`), from
 * `/proc/self/limits`; null where that cannot be read.
 *
 * @returns The limit, or null when unknown or unlimited.
 */
export function openFileLimit(): number | null {
  try {
    const text = Deno.readTextFileSync("/proc/self/limits");
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    return m && m[1] !== "unlimited" ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The most hosts that may be in flight at once under `limit` descriptors.
 *
 * @param limit The soft limit on open files.
 * @returns At least 1.
 *
 * @example
 * ```ts
 * import { maxParallel } from "./limits.ts";
 * console.log(maxParallel(1024)); // 120
 * ```
 */
export function maxParallel(limit: number): number {
  return Math.max(1, Math.floor((limit - RESERVED_FDS) / FDS_PER_HOST));
}

/**
 * Refuses a `--parallel` this process could not hold open.
 *
 * @param parallel Hosts in flight at once.
 * @param limit The soft limit on open files (default: this process's).
 * @throws {UsageError} Saying how far to lower it, or to raise `ulimit -n`.
 *
 * @example
 * ```ts
 * import { checkParallel } from "./limits.ts";
 * checkParallel(32, 1024); // fine: 32 × 8 + 64 ≤ 1024
 * ```
 */
export function checkParallel(
  parallel: number,
  limit: number | null = openFileLimit(),
): void {
  if (limit === null || parallel <= maxParallel(limit)) return;
  throw new UsageError(
    `${parallel} hosts in flight need about ${
      parallel * FDS_PER_HOST + RESERVED_FDS
    } open files, more than this process may open (ulimit -n ${limit}); ` +
      `give --parallel ${maxParallel(limit)} or less, or raise ulimit -n`,
  );
}
