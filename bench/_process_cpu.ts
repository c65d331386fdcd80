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

/**
 * The CPU time of a set of processes so far, in milliseconds: the sum of
 * {@linkcode processCpuMs} over them.
 *
 * @param pids The processes.
 * @returns Their CPU time so far, or NaN when one of them is gone.
 *
 * @example
 * ```ts ignore
 * import { processesCpuMs } from "./_process_cpu.ts";
 * const before = processesCpuMs([Deno.pid]);
 * ```
 */
export function processesCpuMs(pids: readonly number[]): number {
  let ms = 0;
  for (const pid of pids) ms += processCpuMs(pid);
  return ms;
}

/**
 * CPU time that groups of processes (the ssh master, sshd, the daemon, the
 * shells) spent in the calls of a case, for a per-call mean of each: where
 * a call's time goes, process by process (issue 21).
 */
export class CpuTally<Group extends string = string> {
  #ms = new Map<Group, number>();
  #calls = 0;

  /**
   * Runs `body`, adding what each group spent meanwhile and `calls` to the
   * tally.
   *
   * @param groups Each group's processes, by the group's name.
   * @param calls How many calls `body` makes.
   * @param body The measured work.
   *
   * @example
   * ```ts ignore
   * import { CpuTally } from "./_process_cpu.ts";
   * const tally = new CpuTally();
   * await tally.around({ self: [Deno.pid] }, 1, () => Promise.resolve());
   * console.log(tally.perCall("self"));
   * ```
   */
  async around(
    groups: Readonly<Record<Group, readonly number[]>>,
    calls: number,
    body: () => Promise<void>,
  ): Promise<void> {
    const names = Object.keys(groups) as Group[];
    const before = names.map((name) => processesCpuMs(groups[name]));
    await body();
    names.forEach((name, i) => {
      const spent = processesCpuMs(groups[name]) - before[i];
      this.#ms.set(name, (this.#ms.get(name) ?? 0) + spent);
    });
    this.#calls += calls;
  }

  /**
   * Milliseconds of CPU per call so far that a group spent.
   *
   * @param group The group's name.
   * @returns The mean, NaN before any call.
   */
  perCall(group: Group): number {
    return (this.#ms.get(group) ?? NaN) / this.#calls;
  }
}
