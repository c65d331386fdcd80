/**
 * The commonest warm call, `run NAME DEST [PORT] [flags] -- COMMAND…`,
 * read without the full parser: recognising it takes a few string tests,
 * while loading Stricli and every verb's grammar costs a warm call about a
 * third of its own time (issue 21).
 *
 * It accepts a strict subset of what the full parser accepts, and for that
 * subset gives what the full parser gives (`fast_path_test.ts` runs a
 * corpus through both). Anything else, or any doubt (a value that looks
 * like a flag, a flag given twice, a value its parser refuses, `--help`),
 * is declined, and the full parser reads the call: its errors and its help
 * stay the only ones.
 *
 * @module
 */
import type { FleetFlags } from "./hosts.ts";
import type { RunFlags } from "./verbs/run.ts";
import { parsePort, parseTimeout } from "./args.ts";
import { validateName } from "../session/name.ts";
import { wellFormed } from "../well_formed.ts";

/** A `run` the fast path read: what the parser would hand its handler. */
export interface FastRun {
  /** Every flag of `run`, unset ones `undefined`, as the parser gives them. */
  flags: RunFlags & FleetFlags;
  /** NAME, DEST and PORT (`undefined` when not given). */
  args: [string, string, string | undefined];
}

// Every flag of `run`'s grammar, so that the flags come out with the same
// keys as the parser's; fast_path_test.ts fails when the grammar changes.
const RUN_FLAGS = [
  "json",
  "port",
  "identity",
  "jump",
  "config",
  "forwardAgent",
  "option",
  "hosts",
  "hostsFile",
  "parallel",
  "group",
  "shell",
  "noAgentEnv",
  "forward",
  "idleTimeout",
  "bufferSize",
  "cols",
  "rows",
  "term",
  "timeout",
  "noWait",
  "force",
  "maxOutput",
] as const;

type Key = typeof RUN_FLAGS[number];

/** The flags it reads that take a value, by spelling, with their parsers. */
const VALUED: Record<string, [Key, (value: string) => unknown]> = {
  "--timeout": ["timeout", (v) => parseTimeout(v, "--timeout")],
  "-F": ["config", (v) => wellFormed(v, "--config")],
  "--config": ["config", (v) => wellFormed(v, "--config")],
  "-p": ["port", String],
  "--port": ["port", String],
  "-i": ["identity", (v) => wellFormed(v, "--identity")],
  "--identity": ["identity", (v) => wellFormed(v, "--identity")],
  "-J": ["jump", (v) => wellFormed(v, "--jump")],
  "--jump": ["jump", (v) => wellFormed(v, "--jump")],
};

/** `-o`, the one repeatable flag it reads. */
const OPTION = new Set(["-o", "--option"]);

/**
 * Reads `words` as a `run` call, or declines.
 *
 * @param words The arguments before `--`, without a leading `--json`.
 * @param payload The words after `--`, or `null` without `--`.
 * @returns What the full parser would hand `run`, or `null` to let it read the call.
 *
 * @example
 * ```ts
 * import { fastRun } from "./fast_path.ts";
 * const call = fastRun(["run", "work", "box", "--timeout", "5"], ["make"]);
 * console.log(call?.args, call?.flags.timeout); // [ "work", "box", undefined ] 5000
 * console.log(fastRun(["run", "work", "box", "--help"], ["make"])); // null
 * ```
 */
export function fastRun(
  words: readonly string[],
  payload: readonly string[] | null,
): FastRun | null {
  if (words[0] !== "run" || payload === null) return null;
  const flags: Record<string, unknown> = {};
  for (const key of RUN_FLAGS) flags[key] = undefined;
  const positionals: string[] = [];
  const seen = new Set<Key>();
  try {
    for (let i = 1; i < words.length; i++) {
      const word = words[i];
      if (!word.startsWith("-")) {
        positionals.push(word);
        continue;
      }
      if (word === "--json") {
        if (seen.has("json")) return null;
        seen.add("json");
        flags.json = true;
        continue;
      }
      const value = words[i + 1];
      if (value === undefined || value.startsWith("-")) return null;
      i++;
      if (OPTION.has(word)) {
        flags.option = [...(flags.option as string[] ?? []), value];
        continue;
      }
      const valued = VALUED[word];
      if (valued === undefined) return null;
      const [key, parse] = valued;
      if (seen.has(key)) return null;
      seen.add(key);
      flags[key] = parse(value);
    }
    if (positionals.length < 2 || positionals.length > 3) return null;
    const [name, dest, port] = positionals;
    return {
      flags: flags as unknown as RunFlags & FleetFlags,
      args: [
        validateName(name),
        dest,
        port === undefined ? undefined : parsePort(port),
      ],
    };
  } catch {
    // A value its parser refuses: the full parser reports it.
    return null;
  }
}
