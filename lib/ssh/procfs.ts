/**
 * Reading Linux `/proc` to find and identify processes: the `/proc`
 * backend of `processes.ts` (ssh masters whose pid file went missing, the
 * agent's look at a bridge's master), and everything a test fixture left
 * behind. Every function returns `undefined` or `false` rather than
 * throwing when a process vanished or `/proc` cannot be read.
 *
 * @module
 */

import type { ProcessBackend, ProcessEntry } from "./processes.ts";

/**
 * The `/proc` backend: exact argv, no process started to ask.
 *
 * @example
 * ```ts
 * import { procfsBackend } from "./procfs.ts";
 * const [self] = await procfsBackend.lookup([Deno.pid]);
 * console.log(self.pid === Deno.pid); // true
 * ```
 */
export const procfsBackend: ProcessBackend = {
  name: "procfs",
  checked: "checked in /proc",
  list: () => Promise.resolve(entries(listPids())),
  lookup: (pids) => Promise.resolve(entries(pids)),
};

function entries(pids: readonly number[]): ProcessEntry[] {
  const found: ProcessEntry[] = [];
  for (const pid of pids) {
    const fields = statFields(pid);
    // A kernel thread has no command line: an empty argv matches nothing.
    if (fields !== undefined) {
      found.push({
        pid,
        ppid: Number(fields[1]),
        stat: fields[0],
        command: readCmdline(pid) ?? [],
      });
    }
  }
  return found;
}

/**
 * Lists the ids of all processes visible in `/proc`.
 *
 * @returns Process ids in no particular order; empty without `/proc`.
 *
 * @example
 * ```ts
 * import { listPids } from "./procfs.ts";
 * console.log(listPids().includes(Deno.pid)); // true
 * ```
 */
export function listPids(): number[] {
  const pids: number[] = [];
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      if (/^\d+$/.test(entry.name)) pids.push(Number(entry.name));
    }
  } catch {
    // No /proc (not Linux): nothing can be found.
  }
  return pids;
}

/**
 * Reads a process's argv from `/proc/<pid>/cmdline`.
 *
 * @param pid Process id.
 * @returns The argv, or `undefined` when the process is gone or unreadable.
 *
 * @example
 * ```ts
 * import { readCmdline } from "./procfs.ts";
 * console.log(readCmdline(Deno.pid)?.[0]); // e.g. "deno"
 * ```
 */
export function readCmdline(pid: number): string[] | undefined {
  const text = readText(`/proc/${pid}/cmdline`);
  if (text === undefined || text === "") return undefined;
  return text.replace(/\0$/, "").split("\0");
}

/**
 * Reads a process's initial environment from `/proc/<pid>/environ`.
 *
 * @param pid Process id.
 * @returns The variables, or `undefined` when gone or not ours to read.
 *
 * @example
 * ```ts
 * import { readEnviron } from "./procfs.ts";
 * console.log(typeof readEnviron(Deno.pid)?.PATH); // "string"
 * ```
 */
export function readEnviron(pid: number): Record<string, string> | undefined {
  const text = readText(`/proc/${pid}/environ`);
  if (text === undefined) return undefined;
  const env: Record<string, string> = {};
  for (const pair of text.split("\0")) {
    const eq = pair.indexOf("=");
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/**
 * Reads the parent process id from `/proc/<pid>/stat`.
 *
 * @param pid Process id.
 * @returns The parent's id, or `undefined` when the process is gone.
 *
 * @example
 * ```ts
 * import { parentPid } from "./procfs.ts";
 * console.log(parentPid(Deno.pid) !== undefined); // true
 * ```
 */
export function parentPid(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields === undefined ? undefined : Number(fields[1]);
}

/**
 * Tells whether a process exists and is not a zombie. A killed daemon
 * whose parent is an init that does not reap stays a zombie; it counts as
 * gone.
 *
 * @param pid Process id.
 * @returns `true` while the process can still run.
 *
 * @example
 * ```ts
 * import { isRunning } from "./procfs.ts";
 * console.log(isRunning(Deno.pid)); // true
 * ```
 */
export function isRunning(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== "Z" && state !== "X";
}

/**
 * Tells whether a process is stopped (SIGSTOP, or a tracer): it exists but
 * will answer nothing until continued.
 *
 * @param pid Process id.
 * @returns `true` while it is stopped.
 *
 * @example
 * ```ts
 * import { isStopped } from "./procfs.ts";
 * console.log(isStopped(Deno.pid)); // false
 * ```
 */
export function isStopped(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state === "T" || state === "t";
}

/**
 * Waits until none of the processes is running, polling `/proc`.
 *
 * @param pids Process ids to wait for.
 * @param timeoutMs How long to wait at most.
 * @returns `true` when all are gone, `false` when the time ran out.
 *
 * @example
 * ```ts
 * import { waitForExit } from "./procfs.ts";
 * console.log(await waitForExit([], 100)); // true
 * ```
 */
export async function waitForExit(
  pids: Iterable<number>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let left = [...pids];
  while (true) {
    left = left.filter(isRunning);
    if (left.length === 0) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The fields of `/proc/<pid>/stat` after the command name: state, ppid, … */
function statFields(pid: number): string[] | undefined {
  if (!(Number.isSafeInteger(pid) && pid > 0)) return undefined;
  const text = readText(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  // The command name is in parentheses and may itself contain spaces or ")".
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

function readText(path: string): string | undefined {
  try {
    return new TextDecoder().decode(Deno.readFileSync(path));
  } catch {
    return undefined;
  }
}
