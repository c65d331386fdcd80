/**
 * Summary statistics of timing samples.
 *
 * @module
 */

/** The figures reported for one measured case, in milliseconds. */
export interface Summary {
  /** 50th percentile. */
  median: number;
  /** 90th percentile. */
  p90: number;
}

/**
 * The `p`-th percentile of the samples, interpolating linearly between the
 * two nearest ranks (the method of numpy's default and of spreadsheets), so
 * that the median of an even count is the mean of the middle two.
 *
 * @param samples The samples, in any order; at least one.
 * @param p The percentile, 0 to 100.
 * @returns The percentile.
 *
 * @example
 * ```ts
 * import { percentile } from "./_stats.ts";
 * console.log(percentile([4, 1, 3, 2], 50)); // 2.5
 * ```
 */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) throw new RangeError("No samples to summarize");
  const sorted = samples.toSorted((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const below = Math.floor(rank);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (rank - below);
}

/**
 * Median and 90th percentile of the samples.
 *
 * @param samples The samples; at least one.
 * @returns The summary.
 *
 * @example
 * ```ts
 * import { summarize } from "./_stats.ts";
 * console.log(summarize([10, 20, 30])); // { median: 20, p90: 28 }
 * ```
 */
export function summarize(samples: number[]): Summary {
  return { median: percentile(samples, 50), p90: percentile(samples, 90) };
}
