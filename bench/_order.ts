/**
 * The order the bench runs its cases in each round. Every case runs once a
 * round, and the order is shuffled afresh each round, so no case always
 * follows the same neighbour: a case that leaves work behind (a cold start
 * whose agent, master and daemon are still settling, say) taxes a different
 * case each round instead of one case's every sample.
 *
 * @module
 */

/**
 * The order of one round: a permutation of `0 … count - 1`, shuffled with a
 * generator seeded by the round, so that a run can be repeated exactly.
 *
 * @param count How many cases there are.
 * @param round The round, from 0.
 * @returns The cases' indexes in the order to run them.
 *
 * @example
 * ```ts
 * import { roundOrder } from "./_order.ts";
 * console.log(roundOrder(4, 0).toSorted()); // [0, 1, 2, 3]
 * ```
 */
export function roundOrder(count: number, round: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  const next = mulberry32(0x5e55 + round);
  // Fisher–Yates.
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** A small seeded generator of numbers in [0, 1): mulberry32. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
