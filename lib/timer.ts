/**
 * One-shot timers for the command line's hot path.
 *
 * Deno's global `setTimeout` costs about 10 ms the first time it (or even
 * `clearTimeout`) is touched in a process, a tenth of a warm `sessh run`
 * (measured with Deno 2.9: `clearTimeout(undefined)` alone takes 10 ms).
 * `AbortSignal.timeout()` uses the runtime's timers directly and costs
 * under 1 ms, but its timer cannot be cancelled: a cancelled one still keeps
 * the process alive until it would have fired. So the cheap timers are only
 * for a process that ends with `Deno.exit` (the command line, which calls
 * {@linkcode useExitBoundTimers}); the agent and scripts that import the
 * library get `setTimeout`.
 *
 * @module
 */

/** Cancels a timer; calling it after the timer fired does nothing. */
export type CancelTimer = () => void;

let exitBound = false;

/**
 * Switches this process to timers that cost nothing to start but keep the
 * process alive until they would fire, cancelled or not. Call it only from
 * a process that ends with `Deno.exit`.
 *
 * @param on `false` switches back, for a role that outlives its first call
 * (the agent, the MCP server), before it starts a timer.
 *
 * @example
 * ```ts ignore
 * import { useExitBoundTimers } from "./timer.ts";
 * useExitBoundTimers();
 * ```
 */
export function useExitBoundTimers(on = true): void {
  exitBound = on;
}

/**
 * Calls `fire` once after `ms` milliseconds unless cancelled first.
 *
 * @param ms Delay in milliseconds (negative counts as 0).
 * @param fire What to do when it fires.
 * @returns A function that cancels it.
 *
 * @example
 * ```ts
 * import { startTimer } from "./timer.ts";
 * const cancel = startTimer(1000, () => console.log("too late"));
 * cancel();
 * ```
 */
export function startTimer(ms: number, fire: () => void): CancelTimer {
  const delay = Math.max(0, ms);
  if (!exitBound) {
    const id = setTimeout(fire, delay);
    return () => clearTimeout(id);
  }
  let live = true;
  AbortSignal.timeout(delay).addEventListener("abort", () => {
    if (live) {
      live = false;
      fire();
    }
  }, { once: true });
  return () => {
    live = false;
  };
}

/**
 * Calls `fire` once after `ms` milliseconds unless cancelled first, like
 * {@linkcode startTimer}, but keeps nothing alive, neither the process
 * nor, once cancelled, itself: a deadline on a wait that keeps the process
 * alive by itself (a socket's read). It waits on a cell of its own with
 * `Atomics.waitAsync`, whose first use in a process costs about 0.03 ms
 * where `AbortSignal.timeout` costs 0.4 ms, on the path of every warm
 * call (issue 21); cancelling wakes the wait.
 *
 * @param ms Delay in milliseconds (negative counts as 0).
 * @param fire What to do when it fires.
 * @returns A function that cancels it.
 *
 * @example
 * ```ts
 * import { startDeadline } from "./timer.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const { port } = listener.addr;
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port });
 * const peer = await listener.accept();
 * // The peer says nothing: the deadline ends the read.
 * startDeadline(50, () => conn.close());
 * console.log(await conn.read(new Uint8Array(1)).catch(() => null)); // null
 * peer.close();
 * listener.close();
 * ```
 */
export function startDeadline(ms: number, fire: () => void): CancelTimer {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const wait = Atomics.waitAsync(cell, 0, 0, Math.max(0, ms));
  let live = true;
  const expire = () => {
    if (live) {
      live = false;
      fire();
    }
  };
  // A delay of 0 is over at once: it still fires later, as a timer does.
  if (!wait.async) queueMicrotask(expire);
  else {
    wait.value.then((result) => {
      if (result === "timed-out") expire();
    });
  }
  return () => {
    live = false;
    Atomics.notify(cell, 0);
  };
}
