/**
 * What a fan-out came to: which hosts succeeded, failed or timed out, and
 * the one exit status that stands for them all.
 *
 * @module
 */
import { foldHosts } from "./host_set.ts";

/** One host's end, as the summary counts it. */
export interface HostEnd {
  /** The host. */
  host: string;
  /** Its exit status: the command's, or its error's (255, 124, …). */
  exitCode: number;
  /** Its error's code, when it failed with one. */
  error?: string;
}

/** The hosts of a fan-out by how they ended, and its exit status. */
export interface FleetSummary {
  /** Hosts whose status was 0. */
  succeeded: string[];
  /** Hosts that failed otherwise: unreachable, refused, non-zero status. */
  failed: string[];
  /** Hosts that ran out of time (status 124 or a `timeout` error). */
  timedOut: string[];
  /** The exit status for the whole: see {@linkcode worstExit}. */
  exitCode: number;
}

/**
 * The exit status that stands for many: 0 when every host's is 0; else 255
 * when any host could not be reached, else 124 when any timed out, else the
 * highest status of the rest (a command's own, or an error's such as 2).
 *
 * @param codes Each host's exit status.
 * @returns The worst of them, by that order.
 *
 * @example
 * ```ts
 * import { worstExit } from "./summary.ts";
 * console.log(worstExit([0, 1, 124]), worstExit([0, 3, 1]), worstExit([0])); // 124 3 0
 * ```
 */
export function worstExit(codes: readonly number[]): number {
  if (codes.includes(255)) return 255;
  if (codes.includes(124)) return 124;
  return Math.max(0, ...codes);
}

/**
 * Sorts hosts by how they ended.
 *
 * @param ends Each host's end, in any order.
 * @returns The summary; host lists keep the order of `ends`.
 *
 * @example
 * ```ts
 * import { summarize } from "./summary.ts";
 * const s = summarize([{ host: "a", exitCode: 0 }, { host: "b", exitCode: 255 }]);
 * console.log(s.failed, s.exitCode); // ["b"] 255
 * ```
 */
export function summarize(ends: readonly HostEnd[]): FleetSummary {
  const succeeded: string[] = [];
  const failed: string[] = [];
  const timedOut: string[] = [];
  for (const end of ends) {
    if (end.exitCode === 0) succeeded.push(end.host);
    else if (end.error === "timeout" || end.exitCode === 124) {
      timedOut.push(end.host);
    } else failed.push(end.host);
  }
  return {
    succeeded,
    failed,
    timedOut,
    exitCode: worstExit(ends.map((e) => e.exitCode)),
  };
}

/**
 * The summary in one line, hosts folded into ranges.
 *
 * @param s The summary.
 * @returns E.g. `48 succeeded; 1 failed: fan49; 1 timed out: fan50`.
 *
 * @example
 * ```ts
 * import { summaryLine } from "./summary.ts";
 * const line = summaryLine({ succeeded: ["a1", "a2"], failed: [], timedOut: ["b"], exitCode: 124 });
 * console.log(line); // "2 succeeded: a[1-2]; 1 timed out: b"
 * ```
 */
export function summaryLine(s: FleetSummary): string {
  const parts: string[] = [];
  const part = (hosts: string[], what: string) => {
    if (hosts.length > 0) {
      parts.push(`${hosts.length} ${what}: ${foldHosts(hosts)}`);
    }
  };
  part(s.succeeded, "succeeded");
  part(s.failed, "failed");
  part(s.timedOut, "timed out");
  return parts.join("; ");
}
