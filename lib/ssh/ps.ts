/**
 * The portable backend of `processes.ts`: `ps -o pid=,ppid=,stat=,command=`
 * (procps on Linux, the BSD `ps` on macOS and the BSDs read these the same
 * way) and `kill -0`, for systems without procfs and for
 * `SESSH_NO_PROCFS=1`.
 *
 * @module
 */

import { SesshError } from "../errors.ts";
import { runCommand } from "../process.ts";
import type { ProcessBackend, ProcessEntry } from "./processes.ts";

/** How long one `ps` may take; it reads a table, so this is generous. */
const PS_TIMEOUT_MS = 5000;

/**
 * The columns asked for; `=` leaves each header empty, so no header line
 * is printed. `-ww` lifts the width limit: without it a long ssh command
 * line would be cut before the arguments that identify our master.
 */
const PS_ARGV = ["ps", "-ww", "-o", "pid=,ppid=,stat=,command="];

/**
 * The `ps` backend. Its command lines are text (argv joined by spaces),
 * not argv: see `hasArgument` in `processes.ts`.
 *
 * @example
 * ```ts
 * import { psBackend } from "./ps.ts";
 * const [self] = await psBackend.lookup([Deno.pid]);
 * console.log(self.pid === Deno.pid); // true
 * ```
 */
export const psBackend: ProcessBackend = {
  name: "ps",
  checked: "checked with ps",
  list: () => ps(["-A"]),
  async lookup(pids) {
    const wanted = new Set(pids.filter(mayExist));
    if (wanted.size === 0) return [];
    const rows = await ps(["-p", [...wanted].join(",")]);
    return rows.filter((row) => wanted.has(row.pid));
  },
};

/**
 * Parses `ps -o pid=,ppid=,stat=,command=` output: one process a line, the
 * three numbers and the state right-aligned in columns, then the command
 * line, which may hold any number of spaces. Lines that do not fit (a
 * stray header, a warning) are skipped.
 *
 * @param text What `ps` printed.
 * @returns One entry a process; `command` is the text as printed.
 *
 * @example
 * ```ts
 * import { parsePs } from "./ps.ts";
 * const [entry] = parsePs("  412     1 Ss   /usr/bin/ssh -N -- box\n");
 * console.log(entry.pid, entry.stat, entry.command); // 412 "Ss" "/usr/bin/ssh -N -- box"
 * ```
 */
export function parsePs(text: string): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const line of text.split("\n")) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\S+)(?: (.*))?$/.exec(
      line.replace(/\r$/, ""),
    );
    if (!match) continue;
    entries.push({
      pid: Number(match[1]),
      ppid: Number(match[2]),
      stat: match[3],
      // ps pads the command column on the left only; the rest is the text.
      command: (match[4] ?? "").replace(/^\s+/, ""),
    });
  }
  return entries;
}

async function ps(selection: string[]): Promise<ProcessEntry[]> {
  const result = await runCommand([...PS_ARGV, ...selection], {
    timeoutMs: PS_TIMEOUT_MS,
  });
  const stderr = new TextDecoder().decode(result.stderr).trim();
  // ps exits 1 without a word when no process matched the selection: an
  // empty answer. With a message (a BSD ps refusing an option) it failed.
  if (result.code === 0 || result.code === 1 && stderr === "") {
    return parsePs(new TextDecoder().decode(result.stdout));
  }
  const why = result.timedOut
    ? `took over ${PS_TIMEOUT_MS / 1000} s`
    : `exited ${result.code} (${stderr || "no message"})`;
  throw new SesshError(
    "internal",
    `Cannot list local processes: ps ${why}; check that ps works here, or on Linux unset SESSH_NO_PROCFS`,
  );
}

/**
 * `kill -0`: a pid that gets ESRCH is gone, with no `ps` started to ask.
 * EPERM (another user's process) and a system where signal 0 is refused
 * say nothing, so `ps` decides. Never pid 0 or below: those name process
 * groups, not one process.
 */
function mayExist(pid: number): boolean {
  if (!(Number.isSafeInteger(pid) && pid > 0)) return false;
  try {
    // Deno's types list signal names only, but it passes 0 through to kill(2).
    Deno.kill(pid, 0 as unknown as Deno.Signal);
    return true;
  } catch (error) {
    return !(error instanceof Deno.errors.NotFound);
  }
}
