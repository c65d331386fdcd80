/**
 * Finding and killing the ssh (or autossh) process behind a control
 * socket, for masters that no longer answer `ssh -O`. A pid is only ever
 * signalled after its command line (from procfs or `ps`, see
 * `processes.ts`) shows it is one of our masters for this destination, so
 * a recycled pid is never killed by mistake.
 *
 * Files kept next to the socket `<controlPath>`: `.pid` (the ssh master),
 * `.autossh.pid` (autossh, written by autossh itself), `.log` (ssh's `-E`).
 *
 * @module
 */

import type { Destination } from "./destination.ts";
import { destinationArg } from "./options.ts";
import {
  type CommandLine,
  hasArgument,
  type LocalProcesses,
  localProcesses,
  type ProcessEntry,
  programOf,
  stateOf,
} from "./processes.ts";

/** The files that belong to the master behind `controlPath`. */
export interface MasterFiles {
  /** The control socket. */
  socket: string;
  /** Pid of the ssh master, written by sessh once it answers. */
  pidFile: string;
  /** Pid of autossh, written by autossh (`AUTOSSH_PIDFILE`). */
  autosshPidFile: string;
  /** ssh's log (`-E`), which also identifies the master's command line. */
  logFile: string;
}

/**
 * Names the files kept next to a control socket.
 *
 * @param controlPath The expanded control socket path.
 * @returns The socket, pid, autossh pid and log file paths.
 *
 * @example
 * ```ts
 * import { masterFiles } from "./master_pid.ts";
 * console.log(masterFiles("/tmp/ctl/ab12").pidFile); // "/tmp/ctl/ab12.pid"
 * ```
 */
export function masterFiles(controlPath: string): MasterFiles {
  return {
    socket: controlPath,
    pidFile: `${controlPath}.pid`,
    autosshPidFile: `${controlPath}.autossh.pid`,
    logFile: `${controlPath}.log`,
  };
}

/** Options for {@linkcode findMaster} and {@linkcode killMaster}. */
export interface FindMasterOptions {
  /**
   * Where to look: `localProcesses(settings)` honours `SESSH_NO_PROCFS`.
   * @default {localProcesses()}
   */
  processes?: LocalProcesses;
  /**
   * Whether every process is searched when the pid files name none.
   * @default {true}
   */
  search?: boolean;
}

/**
 * Tells whether a command line is a sessh-started master (ssh or autossh)
 * for this destination and socket: `ControlMaster=yes`, the destination
 * argument, and this socket's log file. From `ps` the command line is
 * argv joined by spaces; each of these must still stand there as a whole
 * argument, and the log file's path (the control directory and the
 * socket's `%C` hash) is what no other process's command line holds.
 *
 * @param command A process's command line: argv, or `ps`'s text.
 * @param dest The destination.
 * @param controlPath The expanded control socket path.
 * @returns Whether the process is that master.
 *
 * @example
 * ```ts
 * import { isMasterCommand } from "./master_pid.ts";
 * const argv = ["ssh", "-o", "ControlMaster=yes", "-E", "/c/ab.log", "-f", "-N", "--", "db1"];
 * console.log(isMasterCommand(argv, { host: "db1", display: "db1" }, "/c/ab")); // true
 * ```
 */
export function isMasterCommand(
  command: CommandLine,
  dest: Destination,
  controlPath: string,
): boolean {
  const program = programOf(command);
  if (program !== "ssh" && program !== "autossh") return false;
  // The log file is named after the expanded socket path, which differs per
  // port and user: matching on "ControlPath=DIR/%C" would also hit the master
  // of the same host alias on another port.
  return hasArgument(command, "ControlMaster=yes") &&
    hasArgument(command, destinationArg(dest)) &&
    hasArgument(command, masterFiles(controlPath).logFile);
}

/**
 * Records the master's pid next to its socket (mode 0600).
 *
 * @param controlPath The expanded control socket path.
 * @param pid The ssh master's pid, as `ssh -O check` reports it.
 *
 * @example
 * ```ts
 * import { writeMasterPid } from "./master_pid.ts";
 * const dir = await Deno.makeTempDir();
 * await writeMasterPid(`${dir}/ab12`, 4242);
 * console.log(await Deno.readTextFile(`${dir}/ab12.pid`)); // "4242\n"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeMasterPid(
  controlPath: string,
  pid: number,
): Promise<void> {
  await Deno.writeTextFile(masterFiles(controlPath).pidFile, `${pid}\n`, {
    mode: 0o600,
  });
}

/**
 * Finds the processes of the master behind `controlPath`: autossh first
 * (so it cannot restart ssh), then ssh. Uses the pid files when they name
 * a matching process, else searches every process.
 *
 * @param dest The destination.
 * @param controlPath The expanded control socket path.
 * @param options Where to look.
 * @returns Matching running process ids, autossh before ssh.
 *
 * @example
 * ```ts
 * import { findMaster } from "./master_pid.ts";
 * console.log(await findMaster({ host: "db1", display: "db1" }, "/nonexistent/ab12")); // []
 * ```
 */
export async function findMaster(
  dest: Destination,
  controlPath: string,
  options: FindMasterOptions = {},
): Promise<number[]> {
  const processes = options.processes ?? localProcesses();
  const files = masterFiles(controlPath);
  const matches = (entry: ProcessEntry) =>
    stateOf(entry.stat) !== "gone" &&
    isMasterCommand(entry.command, dest, controlPath);
  const recordedPids = [
    await readPid(files.autosshPidFile),
    await readPid(files.pidFile),
  ].filter((pid): pid is number => pid !== undefined);
  const looked = recordedPids.length === 0
    ? []
    : await processes.lookup(recordedPids);
  // The pid files' order: autossh first, so it cannot restart ssh.
  const recorded = recordedPids.filter((pid) =>
    looked.some((entry) => entry.pid === pid && matches(entry))
  );
  if (recorded.length > 0 || options.search === false) return recorded;
  const found = (await processes.list()).filter(matches);
  const isAutossh = (entry: ProcessEntry) =>
    programOf(entry.command) === "autossh";
  return [
    ...found.filter(isAutossh),
    ...found.filter((entry) => !isAutossh(entry)),
  ].map((entry) => entry.pid);
}

/**
 * SIGKILLs the master behind `controlPath` (a SIGSTOPped process dies
 * too), waits briefly for it to go, and removes its socket and pid files.
 *
 * @param dest The destination.
 * @param controlPath The expanded control socket path.
 * @param options Where to look.
 * @returns The pids that were killed.
 *
 * @example
 * ```ts
 * import { killMaster } from "./master_pid.ts";
 * console.log(await killMaster({ host: "db1", display: "db1" }, "/nonexistent/ab12")); // []
 * ```
 */
export async function killMaster(
  dest: Destination,
  controlPath: string,
  options: FindMasterOptions = {},
): Promise<number[]> {
  const processes = options.processes ?? localProcesses();
  const pids = await findMaster(dest, controlPath, {
    processes,
    search: options.search,
  });
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }
  await processes.waitForExit(pids, 2000);
  await removeMasterFiles(controlPath);
  return pids;
}

/**
 * SIGKILLs every other master of `controlPath` than `keep`: one that lost
 * its socket (and pid file), which no client can reach any more. Its
 * files are left alone: they are `keep`'s now.
 *
 * @param dest The destination.
 * @param controlPath The expanded control socket path.
 * @param keep The pid of the master that answers on the socket.
 * @param options Where to look.
 * @returns The pids that were killed.
 *
 * @example
 * ```ts
 * import { killStrayMasters } from "./master_pid.ts";
 * console.log(await killStrayMasters({ host: "db1", display: "db1" }, "/nonexistent/ab12", 1)); // []
 * ```
 */
export async function killStrayMasters(
  dest: Destination,
  controlPath: string,
  keep: number,
  options: FindMasterOptions = {},
): Promise<number[]> {
  const processes = options.processes ?? localProcesses();
  const strays = (await processes.list()).filter((entry) =>
    entry.pid !== keep && stateOf(entry.stat) !== "gone" &&
    isMasterCommand(entry.command, dest, controlPath)
  ).map((entry) => entry.pid);
  for (const pid of strays) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Exited meanwhile.
    }
  }
  return strays;
}

/**
 * Removes a stale socket and the pid files; keeps the log for diagnosis.
 *
 * @param controlPath The expanded control socket path.
 *
 * @example
 * ```ts
 * import { removeMasterFiles } from "./master_pid.ts";
 * await removeMasterFiles("/nonexistent/ab12");
 * ```
 */
export async function removeMasterFiles(controlPath: string): Promise<void> {
  const files = masterFiles(controlPath);
  for (const path of [files.socket, files.pidFile, files.autosshPidFile]) {
    await Deno.remove(path).catch(() => {});
  }
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}
