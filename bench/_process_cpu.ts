/**
 * The CPU time of a process, to the nanosecond, from /proc: measured around
 * a case, what each of its calls costs the remote daemon (issue 21: the
 * parallel runs are bound by CPU on two cores).
 *
 * @module
 */

/**
 * The time a process's threads have run so far, in milliseconds: the sum of
 * the first field of each `/proc/PID/task/TID/schedstat` (stat's ticks are
 * 10 ms, coarser than a run). A thread that ended takes its time with it.
 *
 * @param pid The process.
 * @returns Its CPU time so far, or NaN without /proc or once it is gone.
 *
 * @example
 * ```ts ignore
 * import { processCpuMs } from "./_process_cpu.ts";
 * const before = processCpuMs(Deno.pid);
 * ```
 */
export function processCpuMs(pid: number): number {
  let ns = 0;
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const text = Deno.readTextFileSync(
        `/proc/${pid}/task/${task.name}/schedstat`,
      );
      ns += Number(text.split(" ")[0]);
    }
  } catch {
    return NaN;
  }
  return ns / 1e6;
}

/** CPU time a process spent in the calls of a case, for a per-call mean. */
export class CpuTally {
  #ms = 0;
  #calls = 0;

  /**
   * Runs `body`, adding what `pid` spent meanwhile and `calls` to the tally.
   *
   * @param pid The process whose time counts.
   * @param calls How many calls `body` makes.
   * @param body The measured work.
   *
   * @example
   * ```ts ignore
   * import { CpuTally } from "./_process_cpu.ts";
   * const tally = new CpuTally();
   * await tally.around(Deno.pid, 1, () => Promise.resolve());
   * console.log(tally.perCall());
   * ```
   */
  async around(
    pid: number,
    calls: number,
    body: () => Promise<void>,
  ): Promise<void> {
    const before = processCpuMs(pid);
    await body();
    this.#ms += processCpuMs(pid) - before;
    this.#calls += calls;
  }

  /** Milliseconds of CPU per call so far (NaN before any). */
  perCall(): number {
    return this.#ms / this.#calls;
  }
}
