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

/** A timer in the shared queue. */
interface Entry {
  /** `performance.now()` when it is due. */
  at: number;
  fire: () => void;
  live: boolean;
}

// Every timer of the process waits in one queue (a binary heap by due time)
// behind one runtime timer, armed for the earliest: Deno's setTimeout and
// clearTimeout cost over a microsecond a pair (a Timeout object, an async
// id, two ops) and its garbage, and a `run` starts three timers, which
// almost never fire. A cancelled timer stays in the queue until it comes
// due or the queue is compacted. With none left live, the runtime timer is
// unreferenced, not cancelled: a script's process can end, and the next
// timer due later (a sequential `run`'s, which starts and ends every live
// timer) takes it back instead of paying a setTimeout and a clearTimeout;
// it fires early at worst, and `due` arms for what is then first.
const queue: Entry[] = [];
let liveCount = 0;
let armed: RuntimeTimer | null = null;

/** The one runtime timer, armed for `at`. */
interface RuntimeTimer {
  at: number;
  cancel: () => void;
  /** Keeps the process alive again (after `rest`). */
  hold: () => void;
  /** Lets the process end while it waits. */
  rest: () => void;
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
  const entry: Entry = {
    at: performance.now() + Math.max(0, ms),
    fire,
    live: true,
  };
  push(entry);
  if (entry.at < armedAt()) arm(entry.at);
  else if (liveCount === 0) armed?.hold();
  liveCount++;
  return () => {
    if (!entry.live) return;
    entry.live = false;
    liveCount--;
    if (liveCount === 0) {
      armed?.rest();
      queue.length = 0;
    } else if (queue.length > 64 && queue.length > 4 * liveCount) compact();
  };
}

/**
 * Timers in the queue, cancelled ones not yet dropped included: what it
 * holds stays within a few times the live timers.
 *
 * @returns The count.
 *
 * @example
 * ```ts
 * import { queuedTimers } from "./timer.ts";
 * console.log(queuedTimers()); // 0
 * ```
 */
export function queuedTimers(): number {
  return queue.length;
}

/** When the runtime timer is armed for; Infinity when it is not. */
function armedAt(): number {
  return armed?.at ?? Infinity;
}

/** Arms the runtime timer for `at`, in place of the one armed. */
function arm(at: number): void {
  armed?.cancel();
  const delay = Math.max(0, Math.ceil(at - performance.now()));
  if (!exitBound) {
    const id = setTimeout(due, delay);
    armed = {
      at,
      cancel: () => clearTimeout(id),
      hold: () => Deno.refTimer(id),
      rest: () => Deno.unrefTimer(id),
    };
    return;
  }
  // Kept alive until it fires whatever is done: nothing to hold or rest.
  const mine = { at, cancel: () => {}, hold: () => {}, rest: () => {} };
  AbortSignal.timeout(delay).addEventListener("abort", () => {
    if (armed === mine) due();
  }, { once: true });
  armed = mine;
}

/** Fires what is due, then arms for the next. */
function due(): void {
  armed = null;
  try {
    while (queue.length) {
      const next = queue[0];
      if (next.live && next.at > performance.now()) break;
      pop();
      if (!next.live) continue;
      next.live = false;
      liveCount--;
      next.fire();
    }
  } finally {
    // A timer that fired may have started (and armed) another.
    if (queue.length && queue[0].at < armedAt()) arm(queue[0].at);
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at;
}

function push(entry: Entry): void {
  let i = queue.push(entry) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(entry, queue[parent])) break;
    queue[i] = queue[parent];
    i = parent;
  }
  queue[i] = entry;
}

function pop(): void {
  const last = queue.pop()!;
  if (queue.length === 0) return;
  let i = 0;
  while (true) {
    const left = 2 * i + 1;
    if (left >= queue.length) break;
    const child =
      left + 1 < queue.length && before(queue[left + 1], queue[left])
        ? left + 1
        : left;
    if (!before(queue[child], last)) break;
    queue[i] = queue[child];
    i = child;
  }
  queue[i] = last;
}

/** Drops the cancelled timers and rebuilds the heap from the live ones. */
function compact(): void {
  const keep = queue.filter((entry) => entry.live);
  queue.length = 0;
  for (const entry of keep) push(entry);
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

/**
 * `promise`'s value, or null when `ms` milliseconds pass first; a value
 * that comes after that is handed to `discard` (a connection made too
 * late is closed, not leaked). Keeps nothing alive, as
 * {@linkcode startDeadline}: what it waits on does, or nothing is waited
 * on.
 *
 * @param promise What to wait for; its rejection is passed on.
 * @param ms How long to wait, in milliseconds.
 * @param discard Takes a value that came too late.
 * @returns The value, or null once the time is up.
 *
 * @example
 * ```ts
 * import { settleBy } from "./timer.ts";
 * const never = new Promise<string>(() => {});
 * // settleBy keeps the process alive no more than startDeadline does.
 * const alive = setTimeout(() => {}, 1000);
 * console.log(await settleBy(never, 10, () => {})); // null
 * clearTimeout(alive);
 * console.log(await settleBy(Promise.resolve("ok"), 10, () => {})); // "ok"
 * ```
 */
export function settleBy<T>(
  promise: Promise<T>,
  ms: number,
  discard: (value: T) => void,
): Promise<T | null> {
  return new Promise((resolve, reject) => {
    let late = false;
    const cancel = startDeadline(ms, () => {
      late = true;
      resolve(null);
    });
    promise.then((value) => {
      cancel();
      if (late) discard(value);
      else resolve(value);
    }, (error) => {
      cancel();
      if (!late) reject(error);
    });
  });
}
