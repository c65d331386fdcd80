/**
 * Asking about local processes (is this pid still running, is it stopped,
 * which process is our ssh master) through one of two backends: Linux's
 * procfs (see `procfs.ts`), or `ps` plus `kill -0` everywhere else and
 * when `SESSH_NO_PROCFS=1` asks for it (see `ps.ts`), e.g. on a Linux that
 * mounts procfs with `hidepid`.
 *
 * @module
 */

import { procfsBackend } from "./procfs.ts";
import { psBackend } from "./ps.ts";

/**
 * A process's command line: its exact argv (from procfs), or the text
 * `ps` prints, which is the argv joined by spaces and so cannot tell
 * `["a b"]` from `["a", "b"]`. Match it with {@linkcode hasArgument}.
 */
export type CommandLine = readonly string[] | string;

/** One process as a backend sees it. */
export interface ProcessEntry {
  /** Process id. */
  pid: number;
  /** Parent's process id. */
  ppid: number;
  /**
   * The state as reported: a letter first (`R`, `S`, `T`, `Z`, …), then,
   * from `ps`, modifiers such as `s` or `+`.
   */
  stat: string;
  /** The command line. */
  command: CommandLine;
}

/** What a backend answers; {@linkcode LocalProcesses} builds on it. */
export interface ProcessBackend {
  /** Which backend this is. */
  readonly name: BackendName;
  /** How its answers were got, for messages, e.g. `"checked with ps"`. */
  readonly checked: string;
  /** Every process the backend can see. */
  list(): Promise<ProcessEntry[]>;
  /** Those of `pids` that exist (zombies included), in no particular order. */
  lookup(pids: readonly number[]): Promise<ProcessEntry[]>;
}

/** The two ways of asking: Linux's procfs, or `ps` and `kill -0`. */
export type BackendName = "procfs" | "ps";

/** Whether a process can still run, is stopped, or is gone (a zombie counts as gone). */
export type ProcessState = "running" | "stopped" | "gone";

/** Options for {@linkcode localProcesses}. */
export interface LocalProcessesOptions {
  /**
   * Use `ps` even where procfs exists (`SESSH_NO_PROCFS=1`, read into
   * `SshSettings.noProcfs`).
   * @default {false}
   */
  noProcfs?: boolean;
  /**
   * The operating system, as `Deno.build.os` names it.
   * @default {Deno.build.os}
   */
  os?: typeof Deno.build.os;
}

/**
 * Picks the backend: procfs on Linux unless told not to, `ps` on every
 * other system. Windows has neither; it has no ControlMaster either, so
 * nothing there asks (a call would fail with "Cannot run ps").
 *
 * @param os The operating system, as `Deno.build.os` names it.
 * @param noProcfs Whether `SESSH_NO_PROCFS=1` forces `ps`.
 * @returns The backend's name.
 *
 * @example
 * ```ts
 * import { chooseBackend } from "./processes.ts";
 * console.log(chooseBackend("linux", false), chooseBackend("darwin", false)); // "procfs" "ps"
 * ```
 */
export function chooseBackend(
  os: typeof Deno.build.os,
  noProcfs: boolean,
): BackendName {
  return os === "linux" && !noProcfs ? "procfs" : "ps";
}

/**
 * The local processes, asked through the backend that fits the system.
 *
 * @param options The system and `SESSH_NO_PROCFS`; an `SshSettings` fits.
 * @returns The processes.
 *
 * @example
 * ```ts
 * import { localProcesses } from "./processes.ts";
 * const processes = localProcesses({ noProcfs: true });
 * console.log(processes.source, await processes.state(Deno.pid)); // "ps" "running"
 * ```
 */
export function localProcesses(
  options: LocalProcessesOptions = {},
): LocalProcesses {
  const name = chooseBackend(
    options.os ?? Deno.build.os,
    options.noProcfs ?? false,
  );
  return new LocalProcesses(name === "procfs" ? procfsBackend : psBackend);
}

/** Questions about local processes, answered by one backend. */
export class LocalProcesses {
  #backend: ProcessBackend;

  /**
   * Wraps a backend; {@linkcode localProcesses} picks one.
   *
   * @param backend The backend that answers.
   */
  constructor(backend: ProcessBackend) {
    this.#backend = backend;
  }

  /** The backend's name, `"procfs"` or `"ps"`. */
  get source(): BackendName {
    return this.#backend.name;
  }

  /**
   * How the answers were got, for messages: each backend says its own, so
   * no message names procfs when `ps` answered.
   */
  get checked(): string {
    return this.#backend.checked;
  }

  /**
   * Lists every visible process.
   *
   * @returns The processes, in no particular order.
   */
  list(): Promise<ProcessEntry[]> {
    return this.#backend.list();
  }

  /**
   * Looks processes up.
   *
   * @param pids Process ids.
   * @returns Those that exist (zombies included), in no particular order.
   */
  lookup(pids: readonly number[]): Promise<ProcessEntry[]> {
    return this.#backend.lookup(pids);
  }

  /**
   * Looks one process up.
   *
   * @param pid Process id.
   * @returns The process, or `undefined` when there is none.
   */
  async get(pid: number): Promise<ProcessEntry | undefined> {
    return (await this.#backend.lookup([pid])).find((entry) =>
      entry.pid === pid
    );
  }

  /**
   * Tells whether a process runs, is stopped (SIGSTOP, or a tracer: it
   * answers nothing until continued), or is gone. A killed process whose
   * parent does not reap it stays a zombie; it counts as gone.
   *
   * @param pid Process id.
   * @returns Its state.
   */
  async state(pid: number): Promise<ProcessState> {
    return stateOf((await this.get(pid))?.stat);
  }

  /**
   * Waits until none of the processes is running.
   *
   * @param pids Process ids to wait for.
   * @param timeoutMs How long to wait at most.
   * @returns `true` when all are gone, `false` when the time ran out.
   */
  async waitForExit(
    pids: Iterable<number>,
    timeoutMs: number,
  ): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let left = [...pids];
    while (true) {
      const entries = await this.#backend.lookup(left);
      left = entries.filter((entry) => stateOf(entry.stat) !== "gone")
        .map((entry) => entry.pid);
      if (left.length === 0) return true;
      if (Date.now() >= deadline) return false;
      // Each look through ps starts a process: poll less often than procfs.
      const pause = this.source === "procfs" ? 25 : 50;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/**
 * Reads a state from the state field of procfs's `stat` or `ps`: the first
 * letter counts, `ps`'s modifiers (`s`, `+`, `<`, …) do not. `Z` (zombie)
 * and `X` (dead) are gone; `T` (stopped) and `t` (traced) are stopped.
 *
 * @param stat The field, or `undefined` for a process that does not exist.
 * @returns The state.
 *
 * @example
 * ```ts
 * import { stateOf } from "./processes.ts";
 * console.log(stateOf("S+"), stateOf("T"), stateOf("Z"), stateOf(undefined));
 * // "running" "stopped" "gone" "gone"
 * ```
 */
export function stateOf(stat: string | undefined): ProcessState {
  const letter = stat?.[0];
  if (letter === undefined || letter === "Z" || letter === "X") return "gone";
  return letter === "T" || letter === "t" ? "stopped" : "running";
}

/**
 * The program's name: the last part of the first argument. From `ps`
 * text that is everything before the first space, so a program whose
 * path holds a space is not recognised (never matched, never killed).
 *
 * @param command A command line.
 * @returns The name, e.g. `"ssh"`.
 *
 * @example
 * ```ts
 * import { programOf } from "./processes.ts";
 * console.log(programOf("/usr/bin/ssh -N box"), programOf(["ssh", "-N"])); // "ssh" "ssh"
 * ```
 */
export function programOf(command: CommandLine): string {
  const first = typeof command === "string"
    ? command.split(" ", 1)[0]
    : command[0] ?? "";
  return first.split("/").at(-1) ?? "";
}

/**
 * Tells whether the command line holds `argument` as one whole argument.
 * In `ps` text it must stand between spaces (or the ends), so an argument
 * that itself holds spaces is still found; only an argv that splits the
 * same text differently would match too, which for the long, specific
 * arguments sessh checks (a log path under the control directory) means
 * a process written to imitate ours.
 *
 * @param command A command line.
 * @param argument The argument to find.
 * @returns Whether it is there.
 *
 * @example
 * ```ts
 * import { hasArgument } from "./processes.ts";
 * console.log(hasArgument("ssh -E /c/a b.log box", "/c/a b.log")); // true
 * console.log(hasArgument("ssh -E /c/ab.log.old box", "/c/ab.log")); // false
 * ```
 */
export function hasArgument(command: CommandLine, argument: string): boolean {
  if (typeof command !== "string") return command.includes(argument);
  return ` ${command} `.includes(` ${argument} `);
}
