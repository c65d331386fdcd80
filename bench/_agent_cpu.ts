/**
 * The CPU time a local agent has used so far, read from /proc: measured
 * before and after a call that relays through it, the agent's cost per
 * megabyte (issue 21).
 *
 * @module
 */

/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

/**
 * The user and system time of the agent that serves `controlDir`, in
 * milliseconds, or null when none runs (or there is no /proc).
 *
 * @param controlDir The agent's control directory.
 * @returns Its CPU time so far.
 *
 * @example
 * ```ts ignore
 * import { agentCpuMs } from "./_agent_cpu.ts";
 * const before = agentCpuMs("/tmp/ctl");
 * ```
 */
export function agentCpuMs(controlDir: string): number | null {
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return null;
  }
  for (const { name } of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${name}/cmdline`).split("\0");
      // "… agent DIR" and the trailing empty string of the NUL list.
      if (argv.at(-3) !== "agent" || argv.at(-2) !== controlDir) continue;
      const stat = Deno.readTextFileSync(`/proc/${name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // utime and stime: fields 14 and 15 of stat, 12 and 13 after ") ".
      return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_S;
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return null;
}
