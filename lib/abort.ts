/**
 * The one rule for a cancelled call, as `fetch` and `Deno.Command` have
 * it: an aborted signal, before or during the call, rejects it with
 * `signal.reason` (an `AbortError` `DOMException` unless the caller gave
 * another reason). Running out of time is not this: a timeout returns its
 * result.
 *
 * @module
 */

/**
 * Settles as `promise` does, or rejects with `signal.reason` as soon as the
 * signal aborts (at once when it already has). What `promise` stands for
 * is not stopped: the caller does that.
 *
 * @param promise The call's work.
 * @param signal The caller's signal.
 * @returns The work's result.
 *
 * @example
 * ```ts
 * import { abortable } from "./abort.ts";
 * const controller = new AbortController();
 * const slow = new Promise((resolve) => setTimeout(resolve, 50));
 * const call = abortable(slow, controller.signal);
 * controller.abort();
 * await call.catch((error) => console.log(error.name)); // "AbortError"
 * ```
 */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      promise.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", abort, { once: true });
    promise.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", abort)
    );
  });
}
