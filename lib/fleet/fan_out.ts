/**
 * Runs one piece of work per host, at most `parallel` at a time, each held
 * to its own deadline, and hands back each host's result the moment it is
 * known. A host that hangs costs its own deadline and its slot, never the
 * others' time: when its deadline passes, its result is a timeout, its work
 * is aborted and the next host takes the slot.
 *
 * @module
 */
import { SesshError } from "../errors.ts";
import { startTimer } from "../timer.ts";

/**
 * The hosts in flight at once unless told otherwise: as pdsh's and clush's
 * fan-out default of 32, and within OpenSSH's `MaxStartups` of 10:30:100
 * when every host is one server behind many names.
 */
export const DEFAULT_PARALLEL = 32;

/** One host's result: its value, or the error that ended its work. */
export type HostResult<T> =
  & {
    /** The host, as given. */
    host: string;
    /** Milliseconds from the start of its work to its result. */
    durationMs: number;
  }
  & ({ ok: true; value: T } | { ok: false; error: SesshError });

/** Options of {@linkcode fanOut}. */
export interface FanOutOptions {
  /**
   * Hosts in flight at once.
   * @default {32}
   */
  parallel?: number;
  /** Each host's deadline, in milliseconds from the start of its work. */
  deadlineMs: number;
  /** Stops everything: hosts not started are not started, the rest aborted. */
  signal?: AbortSignal;
}

/** An error of a host's work as a {@linkcode SesshError}, whatever it was. */
function asSesshError(error: unknown, host: string): SesshError {
  if (error instanceof SesshError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SesshError("internal", `${host}: ${message}`, 1, {
    destination: host,
  });
}

function deadlineError(host: string, ms: number): SesshError {
  return new SesshError(
    "timeout",
    `No result from "${host}" within its ${
      ms / 1000
    } s deadline; whether the work reached it is unknown: check with sessh status`,
    124,
    { destination: host, delivery: "unknown", timeoutMs: ms },
  );
}

/**
 * Runs `work` for every host, as {@linkcode FanOutOptions} bound it, and
 * yields each host's result as it comes, in the order they finish. Breaking
 * out of the loop aborts the hosts still in flight.
 *
 * @param hosts The hosts; each is handed to `work` once.
 * @param work One host's work; it should give up when `signal` aborts.
 * @param options The bounds: `parallel`, `deadlineMs`, `signal`.
 * @returns The results, one per host.
 *
 * @example
 * ```ts
 * import { fanOut } from "./fan_out.ts";
 * const work = async (host: string) => host.length;
 * for await (const r of fanOut(["a", "bb"], work, { deadlineMs: 1000 })) {
 *   console.log(r.host, r.ok ? r.value : r.error.code);
 * }
 * ```
 */
export async function* fanOut<T>(
  hosts: readonly string[],
  work: (host: string, signal: AbortSignal) => Promise<T>,
  options: FanOutOptions,
): AsyncGenerator<HostResult<T>, void, undefined> {
  const parallel = options.parallel ?? DEFAULT_PARALLEL;
  if (!Number.isInteger(parallel) || parallel < 1) {
    throw new RangeError(
      `parallel must be a whole number from 1, not ${parallel}`,
    );
  }
  const { deadlineMs, signal } = options;
  const ready: HostResult<T>[] = [];
  const inFlight = new Set<AbortController>();
  let wake: (() => void) | null = null;
  let next = 0;

  const one = (host: string): Promise<HostResult<T>> => {
    const controller = new AbortController();
    inFlight.add(controller);
    const started = performance.now();
    return new Promise<HostResult<T>>((resolve) => {
      let settled = false;
      const settle = (
        r: { ok: true; value: T } | { ok: false; error: SesshError },
      ) => {
        if (settled) return;
        settled = true;
        cancel();
        inFlight.delete(controller);
        resolve({
          host,
          durationMs: Math.round(performance.now() - started),
          ...r,
        });
      };
      const cancel = startTimer(deadlineMs, () => {
        settle({ ok: false, error: deadlineError(host, deadlineMs) });
        controller.abort(deadlineError(host, deadlineMs));
      });
      Promise.try(work, host, controller.signal).then(
        (value) => settle({ ok: true, value }),
        (error) => settle({ ok: false, error: asSesshError(error, host) }),
      );
    });
  };

  const fill = () => {
    while (
      inFlight.size < parallel && next < hosts.length && !signal?.aborted
    ) {
      one(hosts[next++]).then((result) => {
        ready.push(result);
        fill();
        wake?.();
      });
    }
  };
  const stopAll = () => {
    for (const c of inFlight) c.abort(signal?.reason);
  };
  signal?.addEventListener("abort", stopAll, { once: true });
  try {
    fill();
    for (let given = 0; given < hosts.length;) {
      if (ready.length === 0) {
        if (signal?.aborted && inFlight.size === 0) break;
        await new Promise<void>((resolve) => wake = resolve);
        wake = null;
        continue;
      }
      given++;
      yield ready.shift()!;
    }
  } finally {
    signal?.removeEventListener("abort", stopAll);
    next = hosts.length;
    for (const c of inFlight) {
      c.abort(new DOMException("Fan-out ended", "AbortError"));
    }
  }
}
