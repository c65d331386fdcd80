/**
 * Where one command line's time goes: with `SESSH_TRACE_PHASES=1`, the
 * command line marks the moments a call passes (its first line ran, the
 * verb's handler is loaded, the connection is lent, the reply is in, the
 * output is written) and prints them on stderr as one line before it exits.
 * `deno task bench` reads that line to split a warm call into phases; the
 * runtime's own start and exit are what is left around the marks.
 *
 * Off, a mark costs one boolean test: nothing is read or allocated.
 *
 * @module
 */

/** The prefix of the line {@linkcode phaseLine} prints. */
export const PHASE_LINE_PREFIX = "sessh-phases ";

let marks: [string, number][] | null | undefined;

function tracing(): [string, number][] | null {
  if (marks === undefined) {
    let on = false;
    try {
      on = Deno.env.get("SESSH_TRACE_PHASES") === "1";
    } catch {
      // No permission to read the environment: a library user's script.
    }
    marks = on ? [] : null;
  }
  return marks;
}

/** Tracing off for good: the agent keeps no marks of the calls it runs. */
export function stopTracing(): void {
  marks = null;
}

/**
 * Records that the call reached `name` now, when tracing is on.
 *
 * @param name The moment, e.g. `"main"` or `"connected"`.
 *
 * @example
 * ```ts
 * import { markPhase } from "./phases.ts";
 * markPhase("main");
 * ```
 */
export function markPhase(name: string): void {
  tracing()?.push([name, performance.now()]);
}

/**
 * The marks so far as one line for stderr, or `undefined` when tracing is
 * off. Times are milliseconds since the runtime's time origin, which the
 * line carries as epoch milliseconds so that a parent can place them on
 * its own clock.
 *
 * @returns `sessh-phases {"origin":…,"marks":{"main":…}}` and a newline.
 *
 * @example
 * ```ts
 * import { markPhase, phaseLine } from "./phases.ts";
 * markPhase("main");
 * console.log(phaseLine() ?? "tracing is off");
 * ```
 */
export function phaseLine(): string | undefined {
  const list = tracing();
  if (list === null) return undefined;
  return PHASE_LINE_PREFIX + JSON.stringify({
    origin: performance.timeOrigin,
    marks: Object.fromEntries(list),
  }) + "\n";
}
