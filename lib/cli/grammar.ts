/**
 * The pieces of grammar verbs share: the ssh flags every verb takes
 * (`COMMON`), a new session's (`OPEN`), the positionals NAME DEST [PORT],
 * and {@linkcode targetCommand}, which declares a verb on them. Each verb's
 * own grammar is in `verbs/VERB_command.ts`.
 *
 * This module is loaded on every call, for `--help` too: it imports only
 * the value parsers, never the library.
 *
 * @module
 */
import {
  buildCommand,
  type Command,
  type TypedFlagParameter,
  type TypedPositionalParameters,
} from "@stricli/core";
import type { CommonFlags } from "./call.ts";
import type { OpenFlags } from "./verbs/run.ts";
import type { ProgramContext, VerbFunction } from "./context.ts";
import {
  parseCount,
  parseCursor,
  parsePort,
  parseSeconds,
  parseSize,
  parseSizeIn,
  parseTimeout,
} from "./args.ts";
import { validateName } from "../session/name.ts";
import { parseForwardFlag } from "../ssh/forward_spec.ts";
import { wellFormed } from "../well_formed.ts";
import { configuredHosts } from "./ssh_config.ts";
import { MAX_BUFFER, PAGER_ENV } from "../contract/spec.ts";
import { expandHosts } from "../fleet/host_set.ts";
import type { FleetFlags } from "./hosts.ts";

// Flag specifications. Each parser throws a UsageError naming the flag and
// what it accepts; the command line reports it as is.

/**
 * A flag that takes text. One that names a file, a host or a program gives
 * its name as `field`: NUL or invalid UTF-8 (U+FFFD) in it is then refused.
 */
export const textFlag = (
  brief: string,
  placeholder: string,
  field?: string,
) => ({
  kind: "parsed" as const,
  parse: field === undefined ? String : (v: string) => wellFormed(v, field),
  brief,
  optional: true as const,
  placeholder,
});

export const switchFlag = (brief: string) => ({
  kind: "boolean" as const,
  brief,
  optional: true as const,
  withNegated: false,
});

export const MAX_OUTPUT = {
  kind: "parsed" as const,
  parse: (v: string) => parseSize(v, "--max-output"),
  brief: "bound on the text printed (default 100k)",
  optional: true as const,
  placeholder: "bytes",
};

export const TIMEOUT = {
  kind: "parsed" as const,
  parse: (v: string) => parseTimeout(v, "--timeout"),
  brief: "how long to wait, e.g. 90, 2m (default 60, SESSH_TIMEOUT)",
  optional: true as const,
  placeholder: "seconds",
};

export const SINCE = {
  kind: "parsed" as const,
  parse: parseCursor,
  brief: "only output after this cursor (printed by run, logs, wait)",
  optional: true as const,
  placeholder: "cursor",
};

export type FlagSpecs<T> = {
  readonly [K in keyof T]-?: TypedFlagParameter<T[K]>;
};

export const COMMON: FlagSpecs<CommonFlags> = {
  json: switchFlag("print one JSON object (also SESSH_JSON=1)"),
  port: textFlag("ssh port", "port"),
  identity: textFlag(
    "ssh identity file (also SESSH_IDENTITY)",
    "key",
    "--identity",
  ),
  jump: textFlag("ssh jump host (also SESSH_PROXYJUMP)", "host", "--jump"),
  config: textFlag("ssh config file", "file", "--config"),
  forwardAgent: switchFlag("forward the ssh agent, as ssh -A"),
  option: {
    kind: "parsed",
    parse: String,
    brief: "ssh -o option, repeatable",
    optional: true,
    variadic: true,
    placeholder: "key=value",
  },
};

export const COMMON_ALIASES = {
  p: "port",
  i: "identity",
  J: "jump",
  F: "config",
  A: "forwardAgent",
  o: "option",
} as const;

export const OPEN: FlagSpecs<Omit<OpenFlags, keyof CommonFlags>> = {
  shell: textFlag(
    "shell to start instead of the login shell: one in the host's /etc/shells",
    "shell",
    "--shell",
  ),
  // Named as the README names it: Stricli would show a negatable boolean
  // as --agent-env/--no-agent-env, and complete the name nobody types.
  noAgentEnv: switchFlag(
    `leave out ${Object.keys(PAGER_ENV).join(", ")} (set to cat or empty)`,
  ),
  forward: {
    kind: "parsed",
    parse: parseForwardFlag,
    brief:
      "a forward through the master: L:port:host:hostport, R:…, D:port; repeatable",
    optional: true,
    variadic: true,
    placeholder: "kind:spec",
  },
  idleTimeout: {
    kind: "parsed",
    parse: (v) => parseSeconds(v, "--idle-timeout"),
    brief:
      "close a new session after this long without input or output, e.g. 30m, 8h",
    optional: true,
    placeholder: "duration",
  },
  bufferSize: {
    kind: "parsed",
    parse: (v) =>
      parseSizeIn(v, "--buffer-size", { min: 4096, max: MAX_BUFFER }),
    brief: "output buffer of a new session, 4k to 256M (default 1M)",
    optional: true,
    placeholder: "bytes",
  },
  cols: {
    kind: "parsed",
    parse: (v) => parseCount(v, "--cols", { min: 2, max: 1000 }),
    brief: "terminal width of a new session, 2 to 1000 (default 160)",
    optional: true,
    placeholder: "n",
  },
  rows: {
    kind: "parsed",
    parse: (v) => parseCount(v, "--rows", { min: 2, max: 1000 }),
    brief: "terminal height of a new session, 2 to 1000 (default 48)",
    optional: true,
    placeholder: "n",
  },
  term: textFlag("TERM of a new session (default xterm-256color)", "term"),
};

// Positionals.

export const NAME = {
  brief: "session name: 1 to 64 letters, digits, ., _ or -",
  parse: validateName,
  placeholder: "NAME",
};
export const DEST = {
  brief: "user@host, ssh://user@host:port or an ssh config alias",
  parse: String,
  placeholder: "DEST",
  proposeCompletions(this: ProgramContext): string[] {
    return configuredHosts(this.env.HOME);
  },
};
export const PORT = {
  brief: "ssh port (as -p)",
  parse: parsePort,
  placeholder: "PORT",
  optional: true as const,
};

/** DEST where `--hosts` may stand in for it. */
export const DEST_OR_HOSTS = {
  ...DEST,
  brief: "as DEST; leave it out with --hosts or --hosts-file",
  optional: true as const,
};

/** The flags of a verb that runs on a set of hosts (`lib/cli/hosts.ts`). */
export const FLEET: FlagSpecs<FleetFlags> = {
  hosts: {
    kind: "parsed",
    parse: expandHosts,
    brief: "run on these hosts instead of DEST: h1,h2 or ranges as gpu[01-08]",
    optional: true,
    placeholder: "hosts",
  },
  hostsFile: textFlag(
    "run on the hosts of this file (one a line, # comments)",
    "file",
    "--hosts-file",
  ),
  parallel: {
    kind: "parsed",
    parse: (v) => parseCount(v, "--parallel", { min: 1, max: 4096 }),
    brief: "hosts in flight at once with --hosts (default 32)",
    optional: true,
    placeholder: "n",
  },
  group: switchFlag("with --hosts: group hosts with identical output"),
};

export const TARGET = {
  kind: "tuple" as const,
  parameters: [NAME, DEST, PORT] as [typeof NAME, typeof DEST, typeof PORT],
};

/**
 * Declares a verb that takes the common flags, its own `flags` and the
 * `positional`s, its implementation loaded once the verb is parsed.
 *
 * @param spec The verb's grammar, help text and loader.
 * @returns The command, for the route map.
 *
 * @example
 * ```ts ignore
 * export const list = verbCommand<CommonFlags, [string, string | undefined]>({
 *   brief: "every session of this user on the host",
 *   flags: {},
 *   positional: { kind: "tuple", parameters: [DEST, PORT] },
 *   loader: async () => (await import("./manage.ts")).list,
 * });
 * ```
 */
export function verbCommand<F extends CommonFlags, A extends unknown[]>(
  spec: {
    /** The line `--help` shows. */
    brief: string;
    /** The verb's own flags. */
    flags: FlagSpecs<Omit<F, keyof CommonFlags>>;
    /** One-letter names of its own flags, besides the common ones. */
    aliases?: Readonly<Record<string, string>>;
    /** Its positionals. */
    positional: TypedPositionalParameters<A, ProgramContext>;
    /** Imports the implementation. */
    loader: () => Promise<VerbFunction<F, A>>;
    /** A longer description, for `--help`. */
    description?: string;
    /** The payload it takes after `--` (`COMMAND…`), for its usage line. */
    payload?: string;
    /** Usage lines in place of the one made from the positionals. */
    usage?: string[];
  },
): Command<ProgramContext> {
  const usage = spec.usage ?? [usageLine(spec.positional, spec.payload)];
  return withUsage(
    buildCommand<F, A, ProgramContext>({
      loader: spec.loader,
      parameters: {
        flags: { ...COMMON, ...spec.flags } as unknown as FlagSpecs<F>,
        aliases: { ...COMMON_ALIASES, ...spec.aliases },
        positional: spec.positional,
      },
      docs: {
        brief: spec.brief,
        fullDescription: spec.description,
        customUsage: usage,
      },
    }),
    usage[0],
  );
}

/**
 * The command with `line` as its usage line in `sessh --help`, the same
 * one its own `--help` shows (Stricli's `customUsage` reaches only the
 * latter), so that both help pages speak alike.
 *
 * @param command A command built by Stricli.
 * @param line What follows `sessh VERB`, e.g. `NAME DEST [PORT] [options]`.
 * @returns The command, listed with that line.
 */
export function withUsage(
  command: Command<ProgramContext>,
  line: string,
): Command<ProgramContext> {
  return {
    ...command,
    formatUsageLine: (args) => `${args.prefix.join(" ")} ${line}`,
  };
}

/** The positionals of a verb on one session: NAME DEST [PORT]. */
export type TargetArgs = [string, string, string | undefined];

/**
 * Declares a verb on one session (NAME DEST [PORT]) with
 * {@linkcode verbCommand}.
 *
 * @param brief The line `--help` shows.
 * @param flags The verb's own flags.
 * @param loader Imports the implementation.
 * @param more The payload after `--` it takes, and a longer description.
 * @returns The command, for the route map.
 *
 * @example
 * ```ts ignore
 * export const screen = targetCommand<CommonFlags>(
 *   "the visible screen as text, with the cursor",
 *   {},
 *   async () => (await import("./read.ts")).screen,
 * );
 * ```
 */
export function targetCommand<F extends CommonFlags>(
  brief: string,
  flags: FlagSpecs<Omit<F, keyof CommonFlags>>,
  loader: () => Promise<VerbFunction<F, TargetArgs>>,
  more: { payload?: string; description?: string } = {},
): Command<ProgramContext> {
  return verbCommand<F, TargetArgs>({
    brief,
    flags,
    positional: TARGET,
    loader,
    description: more.description,
    payload: more.payload,
  });
}

/**
 * A verb's usage line after `sessh VERB`: its positionals, `[options]` and
 * the payload. Stricli's own line lists every flag (300 characters for
 * `run`); `--help` lists them below, one a line.
 *
 * @param positional The verb's positionals.
 * @param payload What it takes after `--`, if anything.
 * @returns The line, e.g. `NAME DEST [PORT] [options] -- COMMAND…`.
 */
export function usageLine(
  positional: { kind: string; parameters?: unknown },
  payload?: string,
): string {
  const parameters = positional.kind === "tuple"
    ? positional.parameters as { placeholder?: string; optional?: boolean }[]
    : [];
  const words = parameters.map((p) =>
    p.optional ? `[${p.placeholder}]` : `${p.placeholder}`
  );
  words.push("[options]");
  if (payload) words.push(`-- ${payload}`);
  return words.join(" ");
}

/** The positionals of a verb on one session or a set: NAME [DEST] [PORT]. */
export type FleetTargetArgs = [string, string | undefined, string | undefined];

/**
 * {@linkcode targetCommand} for a verb that may also run on a set of hosts
 * (`--hosts`, `--hosts-file`, `--parallel`, `--group`) in DEST's place.
 *
 * @param brief The line `--help` shows.
 * @param flags The verb's own flags.
 * @param loader Imports the implementation (made with `hostsVerb`).
 * @param more The payload after `--` it takes, and a longer description.
 * @returns The command, for the route map.
 */
export function fleetTargetCommand<F extends CommonFlags & FleetFlags>(
  brief: string,
  flags: FlagSpecs<Omit<F, keyof CommonFlags | keyof typeof FLEET>>,
  loader: () => Promise<VerbFunction<F, FleetTargetArgs>>,
  more: { payload?: string; description?: string } = {},
): Command<ProgramContext> {
  const tail = more.payload ? ` -- ${more.payload}` : "";
  return verbCommand<F, FleetTargetArgs>({
    brief,
    flags: { ...FLEET, ...flags } as FlagSpecs<Omit<F, keyof CommonFlags>>,
    positional: {
      kind: "tuple",
      parameters: [NAME, DEST_OR_HOSTS, PORT],
    },
    loader,
    description: more.description,
    usage: [
      `NAME DEST [PORT] [options]${tail}`,
      `NAME --hosts h1,h2[01-08] [options]${tail}`,
    ],
  });
}
