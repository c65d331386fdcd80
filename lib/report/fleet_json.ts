/**
 * The JSON of a fan-out's summary, for the command line's last `--json`
 * line and the MCP `run` tool's `summary`.
 *
 * @module
 */
import type { FLEET_SUMMARY, JsonOf } from "./shapes.ts";

/** How the hosts of a fan-out ended (as `lib/fleet/summary.ts` sorts them). */
export interface FleetSummaryLike {
  /** Hosts whose status was 0. */
  succeeded: string[];
  /** Hosts that failed. */
  failed: string[];
  /** Hosts that ran out of time. */
  timedOut: string[];
  /** The exit status for the whole. */
  exitCode: number;
}

/**
 * Maps a fan-out's summary to its JSON line.
 *
 * @param op The verb.
 * @param s The summary.
 * @returns The `FLEET_SUMMARY` record; `ok` only when every host succeeded.
 *
 * @example
 * ```ts
 * import { fleetSummaryJson } from "./fleet_json.ts";
 * const s = { succeeded: ["a"], failed: ["b"], timedOut: [], exitCode: 255 };
 * console.log(fleetSummaryJson("run", s).ok); // false
 * ```
 */
export function fleetSummaryJson(
  op: string,
  s: FleetSummaryLike,
): JsonOf<typeof FLEET_SUMMARY> {
  return {
    ok: s.exitCode === 0,
    op,
    hosts: s.succeeded.length + s.failed.length + s.timedOut.length,
    succeeded: s.succeeded,
    failed: s.failed,
    timed_out: s.timedOut,
    exit_code: s.exitCode,
  };
}
