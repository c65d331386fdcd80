/**
 * Which calls `cli.ts` offers the local agent to run (`thin_client.ts`), by
 * a look at their words. Imported by `cli.ts` itself, so it imports nothing.
 *
 * @module
 */

/** The verbs the agent may run; a call of any other is not sent. */
const VERBS = new Set([
  "run",
  "send",
  "keys",
  "logs",
  "screen",
  "pane",
  "wait",
  "status",
  "list",
]);

/** Flags of those verbs that the agent never runs: not worth asking. */
const NEVER = new Set([
  "--help",
  "-h",
  "--follow",
  "--file",
  "--hosts",
  "--hosts-file",
]);

/**
 * Whether `args` may be a call the agent runs, by a look at its words: the
 * agent decides, this only saves asking it about the calls it never runs.
 *
 * @param args Arguments after the program name.
 * @returns Whether to ask.
 *
 * @example
 * ```ts
 * import { mayBeThin } from "./thin_words.ts";
 * console.log(mayBeThin(["run", "work", "box", "--", "make"])); // true
 * console.log(mayBeThin(["cp", "a", "box:b"])); // false
 * ```
 */
export function mayBeThin(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  const head = end < 0 ? args : args.slice(0, end);
  const verb = head[head[0] === "--json" ? 1 : 0];
  return VERBS.has(verb) && !head.some((word) => NEVER.has(word));
}
