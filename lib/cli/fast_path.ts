/**
 * The commonest warm calls, read without the full parser: `run`, `send`,
 * `keys`, `logs`, `screen`, `wait`, `status`, `list` and `cp` on one host,
 * and those that may run on a set of hosts also on `--hosts`, with the ssh
 * flags and the few of each verb's own flags that are a plain
 * value or a switch. Recognising them takes a few string tests, while
 * loading Stricli and every verb's grammar costs a warm call about a third
 * of its own time (issue 21).
 *
 * Each verb is one row of {@linkcode VERBS}: every flag of its grammar (so
 * that the flags come out with the same keys as the parser's), the flags
 * it reads, its positionals and whether it takes a payload after `--`.
 * It accepts a strict subset of what the full parser accepts, and for that
 * subset gives what the full parser gives (`fast_path_test.ts` runs a
 * corpus through both, and fails when a verb's grammar gains a flag its
 * row does not list). Anything else, or any doubt (a value that looks like
 * a flag, a flag given twice, a value its parser refuses, `--help`,
 * `--hosts-file`), is declined, and the full parser reads the call: its
 * errors and its help stay the only ones.
 *
 * @module
 */
import type { VerbFunction } from "./context.ts";
import {
  parseCount,
  parseCursor,
  parseLines,
  parseMillis,
  parsePattern,
  parsePort,
  parseSize,
  parseTimeout,
} from "./args.ts";
import { expandHosts } from "../fleet/host_set.ts";
import { validateName } from "../session/name.ts";
import { wellFormed } from "../well_formed.ts";

/** A call the fast path read: what the parser would hand the verb's handler. */
export interface FastCall {
  /** The verb, as the route map names it (`pane` reads as `screen`). */
  verb: string;
  /** Every flag of the verb, unset ones `undefined`, as the parser gives them. */
  flags: Record<string, unknown>;
  /** The positionals, unset ones `undefined`, as the parser gives them. */
  args: unknown[];
  /** Imports the verb's handler, the one its grammar's loader imports. */
  load(): Promise<VerbFunction<never, never[]>>;
}

/** How a flag it reads is read: a switch, or a value and its parser. */
type Reader = "switch" | ((value: string) => unknown);

/** One verb: its grammar's flags, the ones read here, its positionals. */
interface VerbRow {
  /** Every flag of the verb's grammar, by the name its handler sees. */
  flags: readonly string[];
  /** The flags read here beyond {@linkcode COMMON_READ}, by name. */
  read: Readonly<Record<string, Reader>>;
  /** The positionals' parsers, in order; the first `required` must be given. */
  positionals: readonly ((value: string) => unknown)[];
  /** How many positionals must be given. */
  required: number;
  /** Whether it needs the words after `--` (else it declines them). */
  payload: boolean;
  /** Its grammar's own short flags (`cp -r`), beyond {@linkcode ALIASES}. */
  aliases?: Readonly<Record<string, string>>;
  /** Imports its handler. */
  load(): Promise<unknown>;
}

const COMMON = [
  "json",
  "port",
  "identity",
  "jump",
  "config",
  "forwardAgent",
  "option",
] as const;
const FLEET = ["hosts", "hostsFile", "parallel", "group"] as const;

/**
 * A set of hosts in DEST's place, as the grammar's `FLEET` reads it: a
 * fan-out read here runs whole in the local agent, each host through a
 * bridge the agent lends itself, instead of a lease over its socket per
 * host from a command line that loaded the full parser. `--hosts-file` is
 * not read: the agent would read the file from its own directory.
 */
const FLEET_READ: Readonly<Record<string, Reader>> = {
  hosts: expandHosts,
  parallel: (v) => parseCount(v, "--parallel", { min: 1, max: 4096 }),
  group: "switch",
};
const OPEN = [
  "shell",
  "noAgentEnv",
  "forward",
  "idleTimeout",
  "bufferSize",
  "cols",
  "rows",
  "term",
] as const;

/** The ssh flags every verb takes that are read here; `option` repeats. */
const COMMON_READ: Readonly<Record<string, Reader>> = {
  json: "switch",
  config: (v) => wellFormed(v, "--config"),
  port: String,
  identity: (v) => wellFormed(v, "--identity"),
  jump: (v) => wellFormed(v, "--jump"),
  option: String,
};

/** The one-letter spellings of the common flags read here. */
const ALIASES: Readonly<Record<string, string>> = {
  "-F": "config",
  "-p": "port",
  "-i": "identity",
  "-J": "jump",
  "-o": "option",
};

const REPEATABLE = new Set(["option"]);

const NAME = validateName;
const DEST = String;

// The verbs' rows. Their handlers are imported by the same literal
// specifiers as their grammars' loaders, so the bundle holds them alike.
const VERBS: Readonly<Record<string, VerbRow>> = {
  run: {
    flags: [
      ...COMMON,
      ...FLEET,
      ...OPEN,
      "timeout",
      "noWait",
      "force",
      "maxOutput",
    ],
    read: { ...FLEET_READ, timeout: (v) => parseTimeout(v, "--timeout") },
    positionals: [NAME, DEST, parsePort],
    required: 2,
    payload: true,
    load: async () => (await import("./verbs/run.ts")).run,
  },
  send: {
    flags: [...COMMON, "enter", "file"],
    read: { enter: "switch" },
    positionals: [NAME, DEST, parsePort],
    required: 2,
    payload: true,
    load: async () => (await import("./verbs/input.ts")).send,
  },
  keys: {
    flags: [...COMMON, "literal"],
    read: { literal: "switch" },
    positionals: [NAME, DEST, parsePort],
    required: 2,
    payload: true,
    load: async () => (await import("./verbs/input.ts")).keys,
  },
  logs: {
    flags: [...COMMON, ...FLEET, "since", "raw", "follow", "maxOutput"],
    read: {
      ...FLEET_READ,
      since: parseCursor,
      raw: "switch",
      follow: "switch",
      maxOutput: (v) => parseSize(v, "--max-output"),
    },
    positionals: [NAME, DEST, parseLines, parsePort],
    required: 2,
    payload: false,
    load: async () => (await import("./verbs/read.ts")).logs,
  },
  screen: {
    flags: COMMON,
    read: {},
    positionals: [NAME, DEST, parseLines, parsePort],
    required: 2,
    payload: false,
    load: async () => (await import("./verbs/read.ts")).screen,
  },
  wait: {
    flags: [
      ...COMMON,
      ...FLEET,
      "for",
      "idle",
      "done",
      "since",
      "timeout",
      "maxOutput",
    ],
    read: {
      ...FLEET_READ,
      for: parsePattern,
      idle: (v) => parseMillis(v, "--idle"),
      done: "switch",
      since: parseCursor,
      timeout: (v) => parseTimeout(v, "--timeout"),
      maxOutput: (v) => parseSize(v, "--max-output"),
    },
    positionals: [NAME, DEST, parsePort],
    required: 2,
    payload: false,
    load: async () => (await import("./verbs/read.ts")).wait,
  },
  status: {
    flags: [...COMMON, ...FLEET],
    read: FLEET_READ,
    positionals: [NAME, DEST, parsePort],
    required: 2,
    payload: false,
    load: async () => (await import("./verbs/manage.ts")).status,
  },
  list: {
    flags: [...COMMON, ...FLEET],
    read: FLEET_READ,
    positionals: [DEST, parsePort],
    required: 1,
    payload: false,
    load: async () => (await import("./verbs/manage.ts")).list,
  },
  // A copy's own time is the transfer's; the parser it skips is most of
  // what a 100 MB `cp` spends beyond scp's (issue 21).
  cp: {
    flags: [...COMMON, "resume", "recursive", "via"],
    read: { resume: "switch", recursive: "switch", via: parseVia },
    positionals: [String, String, String],
    required: 2,
    payload: false,
    aliases: { "-r": "recursive" },
    load: async () => (await import("./verbs/cp.ts")).cp,
  },
};

/** `cp --via`'s value, as its grammar's enum takes it. */
function parseVia(value: string): "sftp" | "helper" {
  if (value !== "sftp" && value !== "helper") {
    throw new RangeError(`--via takes sftp or helper, not ${value}`);
  }
  return value;
}

/** The route map's aliases of the verbs above. */
const VERB_ALIASES: Readonly<Record<string, string>> = { pane: "screen" };

/** `maxOutput` as `--max-output`, the spelling `--help` shows. */
function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Every flag name of every row, for the test that compares with the grammars. */
export const FAST_VERBS: Readonly<Record<string, readonly string[]>> = Object
  .fromEntries(Object.entries(VERBS).map(([verb, row]) => [verb, row.flags]));

/**
 * Reads `words` as one of the commonest calls, or declines.
 *
 * @param words The arguments before `--`, without a leading `--json`.
 * @param payload The words after `--`, or `null` without `--`.
 * @returns What the full parser would hand the verb, or `null` to let it read the call.
 *
 * @example
 * ```ts
 * import { fastCall } from "./fast_path.ts";
 * const call = fastCall(["run", "work", "box", "--timeout", "5"], ["make"]);
 * console.log(call?.args, call?.flags.timeout); // [ "work", "box", undefined ] 5000
 * console.log(fastCall(["screen", "work", "box", "--help"], null)); // null
 * ```
 */
export function fastCall(
  words: readonly string[],
  payload: readonly string[] | null,
): FastCall | null {
  const first = words[0];
  const verb = Object.hasOwn(VERB_ALIASES, first) ? VERB_ALIASES[first] : first;
  if (!Object.hasOwn(VERBS, verb)) return null;
  const row = VERBS[verb];
  if ((payload !== null) !== row.payload) return null;
  const flags: Record<string, unknown> = {};
  for (const key of row.flags) flags[key] = undefined;
  const given: string[] = [];
  const seen = new Set<string>();
  try {
    for (let i = 1; i < words.length; i++) {
      const word = words[i];
      if (!word.startsWith("-")) {
        given.push(word);
        continue;
      }
      const key = Object.hasOwn(ALIASES, word)
        ? ALIASES[word]
        : row.aliases && Object.hasOwn(row.aliases, word)
        ? row.aliases[word]
        : spelled(word, row);
      if (key === undefined) return null;
      const reader = row.read[key] ?? COMMON_READ[key];
      if (reader === "switch") {
        if (seen.has(key)) return null;
        seen.add(key);
        flags[key] = true;
        continue;
      }
      const value = words[i + 1];
      if (value === undefined || value.startsWith("-")) return null;
      i++;
      if (REPEATABLE.has(key)) {
        flags[key] = [...(flags[key] as unknown[] ?? []), reader(value)];
        continue;
      }
      if (seen.has(key)) return null;
      seen.add(key);
      flags[key] = reader(value);
    }
    const { positionals } = row;
    // With --hosts, DEST (the last required positional) is left out, and
    // anything after NAME is the full path's to refuse.
    const [least, most] = flags.hosts === undefined
      ? [row.required, positionals.length]
      : [row.required - 1, row.required - 1];
    if (given.length < least || given.length > most) return null;
    const args = positionals.map((parse, i) =>
      i < given.length ? parse(given[i]) : undefined
    );
    return {
      verb,
      flags,
      args,
      load: row.load as FastCall["load"],
    };
  } catch {
    // A value its parser refuses: the full parser reports it.
    return null;
  }
}

/** The flag `--NAME` names among those `row` reads, or undefined. */
function spelled(word: string, row: VerbRow): string | undefined {
  if (!word.startsWith("--")) return undefined;
  for (const key of [...Object.keys(COMMON_READ), ...Object.keys(row.read)]) {
    if (`--${kebab(key)}` === word) return key;
  }
  return undefined;
}
