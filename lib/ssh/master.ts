/**
 * The ControlMaster lifecycle for one destination: tell whether it is
 * alive, dead or frozen; start one when needed, retiring a frozen one
 * first; stop it. Every wait on ssh has a timeout, and a lock next to the
 * socket makes concurrent sessh processes start exactly one master.
 *
 * @module
 */

import { ConnectError } from "../errors.ts";
import { markPhase } from "../phases.ts";
import { runCommand } from "../process.ts";
import { ensureControlDir } from "./control_dir.ts";
import { resolveControlPath } from "./control_path.ts";
import type { Destination } from "./destination.ts";
import { acquireLock } from "./lock_file.ts";
import {
  findMaster,
  killMaster,
  killStrayMasters,
  masterFiles,
  removeMasterFiles,
  writeMasterPid,
} from "./master_pid.ts";
import { controlArgv, masterArgv, masterEnv } from "./options.ts";
import type { SshSettings } from "./settings.ts";
import { forgetForwards, restoreForwards } from "./forwards.ts";
import { localProcesses } from "./processes.ts";
import { classifySshFailure } from "./ssh_errors.ts";

/** What `ssh -O check` says about a destination's master. */
export type MasterState =
  | { state: "alive"; pid: number }
  | { state: "dead"; reason: string }
  | { state: "frozen" };

/** Options for {@linkcode masterState}. */
export interface MasterStateOptions {
  /**
   * How long `ssh -O check` may take before the master counts as frozen.
   * @default {2000}
   */
  timeoutMs?: number;
  /** Kills the check when aborted (reported as frozen). */
  signal?: AbortSignal;
}

/** Options for making sure of a ControlMaster. */
export interface EnsureMasterOptions {
  /**
   * Timeout of each `ssh -O check`.
   * @default {2000}
   */
  checkTimeoutMs?: number;
  /**
   * How long to wait for another sessh process that is setting up the
   * same destination.
   * @default {(ConnectTimeout + 20) * 1000}
   */
  lockTimeoutMs?: number;
  /** Gives up when aborted: every ssh it started is killed. */
  signal?: AbortSignal;
  /**
   * Called once a master this call starts listens, before its pid is
   * known: a client may start through `controlPath` beside the check.
   */
  onListening?: (controlPath: string) => void;
  /**
   * The control path, already being resolved (`resolveControlPath`): a
   * caller that starts `ssh -G` early has it run beside its own work.
   */
  controlPath?: Promise<string>;
}

/** A ControlMaster a client goes through: its socket, and whether this call started it. */
export interface MasterInfo {
  /** Expanded control socket path; pass it to `clientArgv`. */
  controlPath: string;
  /** Process id of the ssh master. */
  pid: number;
  /** Whether this call started it. */
  started: boolean;
}

/** Options for {@linkcode stopMaster}. */
export interface StopMasterOptions {
  /**
   * Timeout of `ssh -O exit` before the master is killed instead.
   * @default {2000}
   */
  timeoutMs?: number;
}

const CHECK_TIMEOUT_MS = 2000;
const decoder = new TextDecoder();

/**
 * Asks the destination's master, with a timeout, whether it runs:
 * `"alive"` with its pid, `"dead"` (no socket, or nobody listening), or
 * `"frozen"` (the socket accepts but the master never answers, e.g. it is
 * SIGSTOPped or wedged).
 *
 * @param dest The destination.
 * @param settings The settings.
 * @param options The check's timeout.
 * @returns The state.
 *
 * @example
 * ```ts
 * import { masterState } from "./master.ts";
 * import { settingsFromEnv } from "./settings.ts";
 * const settings = settingsFromEnv({ SESSH_CONTROL_DIR: "/tmp/sessh-doc" });
 * const state = await masterState({ host: "db1", display: "db1" }, settings);
 * console.log(state.state); // "dead"
 * ```
 */
export async function masterState(
  dest: Destination,
  settings: SshSettings,
  options: MasterStateOptions = {},
): Promise<MasterState> {
  const result = await runCommand(controlArgv(dest, settings, "check"), {
    timeoutMs: options.timeoutMs ?? CHECK_TIMEOUT_MS,
    signal: options.signal,
  });
  if (result.timedOut) return { state: "frozen" };
  const stderr = decoder.decode(result.stderr);
  const pid = /Master running \(pid=(\d+)\)/.exec(stderr)?.[1];
  if (result.code === 0 && pid !== undefined) {
    return { state: "alive", pid: Number(pid) };
  }
  const reason = stderr.split(/\r?\n/).map((line) => line.trim()).filter(
    Boolean,
  ).at(-1);
  return {
    state: "dead",
    reason: reason ?? `ssh -O check exited ${result.code}`,
  };
}

/**
 * Makes sure a healthy master runs for the destination and returns it.
 * Alive: reused. Dead or frozen: whatever master process is still behind
 * the socket (a frozen one, or one that lost its socket) is SIGKILLed,
 * found through its pid file or the process table and checked to be our
 * ssh master first; the stale socket is removed and a new master started.
 *
 * @param dest The destination.
 * @param settings The settings.
 * @param options Check and lock timeouts.
 * @returns The socket path, the master's pid, and whether it was started now.
 * @throws {ConnectError} classified from ssh's output when the master cannot start.
 * @throws {TimeoutError} when another sessh process holds the setup lock too long.
 *
 * @example
 * ```ts ignore
 * import { ensureMaster } from "./master.ts";
 * import { clientArgv } from "./options.ts";
 * import { settingsFromEnv } from "./settings.ts";
 * const dest = { host: "db1", display: "db1" };
 * const settings = settingsFromEnv(Deno.env.toObject());
 * const master = await ensureMaster(dest, settings);
 * const argv = clientArgv(dest, settings, "echo ok", { controlPath: master.controlPath });
 * ```
 */
export async function ensureMaster(
  dest: Destination,
  settings: SshSettings,
  options: EnsureMasterOptions = {},
): Promise<MasterInfo> {
  await ensureControlDir(settings.controlDir);
  const controlPath = await (options.controlPath ??
    resolveControlPath(dest, settings));
  await using _lock = await acquireLock(`${controlPath}.lock`, {
    timeoutMs: options.lockTimeoutMs ??
      (settings.connectTimeoutSeconds + 20) * 1000,
    purpose: `connecting to ${JSON.stringify(dest.display)}`,
  });
  const checkTimeoutMs = options.checkTimeoutMs ?? CHECK_TIMEOUT_MS;
  const signal = options.signal;
  // No socket, no master to ask: a first call skips the `ssh -O check`.
  const socket = await Deno.lstat(controlPath).catch(() => null);
  const state: MasterState = socket === null
    ? { state: "dead", reason: "no control socket" }
    : await masterState(dest, settings, { timeoutMs: checkTimeoutMs, signal });
  if (state.state === "alive") {
    await recordPid(controlPath, state.pid);
    return { controlPath, pid: state.pid, started: false };
  }
  // Under the lock nobody else is starting a master, so any process still
  // behind this socket is stuck (frozen) or lost its socket (dead). With
  // no socket, the pid files name it, or it is searched for among all
  // processes once the new master listens, beside the bridge's start: the
  // search is slow, and a master without a socket is in nobody's way.
  // (autossh's new ssh could not be told from an old one: it goes first.)
  const processes = localProcesses(settings);
  const later = socket === null && settings.program !== "autossh";
  await killMaster(dest, controlPath, { processes, search: !later });
  const pid = await startMaster(dest, settings, controlPath, {
    checkTimeoutMs,
    signal,
    onListening: options.onListening,
  });
  if (later) await killStrayMasters(dest, controlPath, pid, { processes });
  // A master that replaced a dead one sets the recorded forwards up again.
  await restoreForwards(dest, settings, controlPath).catch(() => []);
  return { controlPath, pid, started: true };
}

/**
 * Stops the destination's master: `ssh -O exit` with a timeout, then
 * SIGKILL if it did not go (frozen) or lingers. With
 * `settings.controlMaster` false, nothing is run and nothing was stopped.
 *
 * @param dest The destination.
 * @param settings The settings.
 * @param options How long `ssh -O exit` may take.
 * @returns Whether a master was running and is now stopped.
 *
 * @example
 * ```ts ignore
 * import { stopMaster } from "./master.ts";
 * import { settingsFromEnv } from "./settings.ts";
 * console.log(await stopMaster({ host: "db1", display: "db1" }, settingsFromEnv(Deno.env.toObject())));
 * ```
 */
export async function stopMaster(
  dest: Destination,
  settings: SshSettings,
  options: StopMasterOptions = {},
): Promise<boolean> {
  // Without a master, asking one to exit would be an `ssh -O` that a
  // Windows ssh does not know; there is nothing to stop.
  if (!settings.controlMaster) return false;
  try {
    await Deno.lstat(settings.controlDir);
  } catch {
    return false;
  }
  const controlPath = await resolveControlPath(dest, settings);
  await using _lock = await acquireLock(`${controlPath}.lock`, {
    timeoutMs: (settings.connectTimeoutSeconds + 20) * 1000,
    purpose: `disconnecting from ${JSON.stringify(dest.display)}`,
  });
  const processes = localProcesses(settings);
  const pids = await findMaster(dest, controlPath, { processes });
  const result = await runCommand(controlArgv(dest, settings, "exit"), {
    timeoutMs: options.timeoutMs ?? CHECK_TIMEOUT_MS,
  });
  // autossh exits once ssh exits cleanly; ssh needs a moment after "Exit request sent".
  const gone = result.code === 0 && await processes.waitForExit(pids, 2000);
  const killed = gone ? [] : await killMaster(dest, controlPath, { processes });
  await removeMasterFiles(controlPath);
  await forgetForwards(controlPath);
  return result.code === 0 || killed.length > 0;
}

async function startMaster(
  dest: Destination,
  settings: SshSettings,
  controlPath: string,
  options: {
    checkTimeoutMs: number;
    signal?: AbortSignal;
    onListening?: (controlPath: string) => void;
  },
): Promise<number> {
  const { checkTimeoutMs, signal } = options;
  const files = masterFiles(controlPath);
  await Deno.writeTextFile(files.logFile, "", { mode: 0o600 });
  const env = settings.program === "autossh"
    ? { ...masterEnv(settings), AUTOSSH_PIDFILE: files.autosshPidFile }
    : masterEnv(settings);
  const timeoutMs = (settings.connectTimeoutSeconds + 5) * 1000;
  // ssh -f nulls its stdio when it forks (unless -v), and its later
  // messages go to the -E log, so the background master holds no pipe of
  // ours; runCommand would not hang even if it did.
  markPhase("master-start");
  const result = await runCommand(
    masterArgv(dest, settings, { logFile: files.logFile }),
    { timeoutMs, env, signal },
  );
  const output = async () =>
    decoder.decode(result.stderr) + await readLog(files.logFile);
  if (result.code !== 0) {
    await killMaster(dest, controlPath, {
      processes: localProcesses(settings),
    });
    throw classifySshFailure(dest, result.code, await output());
  }
  // ssh -f returns once the socket listens; autossh -f returns before ssh even connects.
  markPhase("listening");
  if (settings.program !== "autossh") options.onListening?.(controlPath);
  const deadline = Date.now() +
    (settings.program === "autossh" ? timeoutMs : checkTimeoutMs * 2);
  while (true) {
    const state = await masterState(dest, settings, {
      timeoutMs: checkTimeoutMs,
      signal,
    });
    if (state.state === "alive") {
      await writeMasterPid(controlPath, state.pid);
      return state.pid;
    }
    if (Date.now() >= deadline || signal?.aborted) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await killMaster(dest, controlPath, { processes: localProcesses(settings) });
  const text = await output();
  if (text.includes("already exists, disabling multiplexing")) {
    throw new ConnectError(
      "ssh_failed",
      `Cannot start a ControlMaster for ${
        JSON.stringify(dest.display)
      }: another process created its socket ` +
        `${controlPath} at the same time; try again`,
    );
  }
  if (text.trim() !== "") throw classifySshFailure(dest, 255, text);
  throw new ConnectError(
    "ssh_failed",
    `Cannot start a ControlMaster for ${
      JSON.stringify(dest.display)
    }: ssh reported success but nothing ` +
      `answers on ${controlPath}; run ssh -v with the same destination to see why`,
  );
}

async function recordPid(controlPath: string, pid: number): Promise<void> {
  const current = await Deno.readTextFile(masterFiles(controlPath).pidFile)
    .catch(() => "");
  if (current.trim() !== String(pid)) await writeMasterPid(controlPath, pid);
}

async function readLog(path: string): Promise<string> {
  return await Deno.readTextFile(path).catch(() => "");
}
