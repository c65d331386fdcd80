/**
 * What sessh undoes when a signal stops it (SIGINT, SIGTERM, SIGHUP): work
 * in progress registers how to end itself (a child to stop, a temporary
 * file to remove), and the command line runs those steps, newest first,
 * before it exits 128 + the signal's number. A call the local agent runs
 * for a thin client is stopped alone, among others: its steps go to a list
 * of its own, found by the `AbortSignal` that stops it
 * ({@linkcode stepsOfCall}).
 *
 * @module
 */

/**
 * One step of undoing: it ends or removes what it guards and returns a
 * phrase that says what was left ("removed .a.bin.sessh-part"), or nothing.
 */
export type Cleanup = () => Promise<string | undefined> | string | undefined;

/** The exit code of each signal the command line stops on, as shells report it. */
export const STOP_SIGNALS = {
  SIGHUP: 129,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

/** A signal the command line stops on. */
export type StopSignal = keyof typeof STOP_SIGNALS;

const pending: Cleanup[] = [];
let armer: (() => void) | undefined;

/**
 * Sets what installs the signal handlers (the command line's). It runs
 * once, when there is first something to end or remove: a command that
 * starts no child and writes no file keeps the signals' default action,
 * and saves the listeners' start-up time.
 *
 * @param install Adds the listeners.
 *
 * @example
 * ```ts
 * import { armWith } from "./interrupt.ts";
 * armWith(() => Deno.addSignalListener("SIGTERM", () => Deno.exit(143)));
 * ```
 */
export function armWith(install: (() => void) | undefined): void {
  armer = install;
}

/**
 * Installs the signal handlers set with {@linkcode armWith}, once: called
 * when a child starts and when a step is registered.
 *
 * @example
 * ```ts
 * import { arm } from "./interrupt.ts";
 * arm();
 * ```
 */
export function arm(): void {
  const install = armer;
  armer = undefined;
  install?.();
}

/**
 * Registers a step to run if a signal stops sessh before the returned
 * handle is disposed (the work finished or failed on its own).
 *
 * @param cleanup The step.
 * @param stop The signal that stops the call the work is for, when the
 *   call has steps of its own ({@linkcode stepsOfCall}); else, or without
 *   it, the step is the process's.
 * @returns A handle that unregisters the step.
 *
 * @example
 * ```ts
 * import { onInterrupt } from "./interrupt.ts";
 * using _ = onInterrupt(() => "removed nothing");
 * ```
 */
export function onInterrupt(cleanup: Cleanup, stop?: AbortSignal): Disposable {
  const own = stop === undefined ? undefined : callSteps.get(stop);
  const list = own ?? pending;
  if (own === undefined) arm();
  list.push(cleanup);
  return {
    [Symbol.dispose]() {
      const at = list.lastIndexOf(cleanup);
      if (at >= 0) list.splice(at, 1);
    },
  };
}

/** The step lists of calls stopped one by one, by the signal that stops each. */
const callSteps = new WeakMap<AbortSignal, Cleanup[]>();

/**
 * Gives the call that `stop` stops a list of steps of its own: work that
 * registers with {@linkcode onInterrupt} under `stop` goes there, not to
 * the process's list, and the returned function runs them (newest first,
 * as {@linkcode runCleanups} does) when the call is stopped. The local
 * agent runs many calls at once: one client's Ctrl-C ends its own copy,
 * and says what that copy left.
 *
 * @param stop The signal that stops the call.
 * @returns Runs the call's steps within `deadlineMs` and says what each left.
 *
 * @example
 * ```ts
 * import { onInterrupt, stepsOfCall } from "./interrupt.ts";
 * const stop = new AbortController();
 * const run = stepsOfCall(stop.signal);
 * onInterrupt(() => "removed .a.sessh-part", stop.signal);
 * console.log(await run(1000)); // ["removed .a.sessh-part"]
 * ```
 */
export function stepsOfCall(
  stop: AbortSignal,
): (deadlineMs: number) => Promise<string[]> {
  const steps: Cleanup[] = [];
  callSteps.set(stop, steps);
  return (deadlineMs) => {
    const ran = runSteps(steps, deadlineMs);
    stepsRun.set(stop, ran);
    return ran;
  };
}

/** The steps a stopped call is running, by the signal that stopped it. */
const stepsRun = new WeakMap<AbortSignal, Promise<string[]>>();

/**
 * Waits until the steps of the call that `stop` stopped have run, if they
 * run: a copy stopped in the agent fails at once, and must not close the
 * connection its steps still use (a part's removal on the host) before
 * they are done.
 *
 * @param stop The call's stop signal, or none.
 *
 * @example
 * ```ts
 * import { stepsDone } from "./interrupt.ts";
 * await stepsDone(undefined); // nothing to wait for
 * ```
 */
export async function stepsDone(stop: AbortSignal | undefined): Promise<void> {
  if (stop !== undefined) await stepsRun.get(stop)?.catch(() => {});
}

/**
 * Runs every registered step, newest first (a child is stopped before the
 * file it writes is removed), each within what is left of `deadlineMs`.
 *
 * @param deadlineMs How long all steps may take together.
 * @returns What each step reported.
 *
 * @example
 * ```ts
 * import { onInterrupt, runCleanups } from "./interrupt.ts";
 * onInterrupt(() => "removed .a.sessh-part");
 * console.log(await runCleanups(1000)); // ["removed .a.sessh-part"]
 * ```
 */
export function runCleanups(deadlineMs: number): Promise<string[]> {
  return runSteps(pending, deadlineMs);
}

async function runSteps(
  steps: Cleanup[],
  deadlineMs: number,
): Promise<string[]> {
  const notes: string[] = [];
  const end = Date.now() + deadlineMs;
  while (steps.length > 0) {
    const step = steps.pop()!;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(
        () => resolve("a clean-up step did not finish in time"),
        Math.max(0, end - Date.now()),
      );
    });
    const note = await Promise.race([
      Promise.resolve().then(step).catch((error) =>
        `a clean-up step failed (${(error as Error)?.message ?? error})`
      ),
      late,
    ]);
    clearTimeout(timer);
    if (note) notes.push(note);
  }
  return notes;
}
