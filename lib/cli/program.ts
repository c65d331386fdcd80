/**
 * The command-line grammar: verbs, their positionals and options, built
 * with Stricli. Every value is parsed here, once, into the typed flags the
 * handlers in `commands.ts` take; nothing here prints or exits.
 *
 * Stricli was chosen because it imports no `node:` module and needs no
 * start-up work: a parser is on the path of every call (see the README's
 * Performance section). For the same reason the handlers are imported only
 * once a verb has been parsed: `--version`, `--help` and argument errors
 * load none of the library.
 *
 * @module
 */
import {
  type Application,
  type ApplicationText,
  buildApplication,
  buildCommand,
  buildRouteMap,
  type CommandContext,
  proposeCompletions,
  type TypedFlagParameter,
} from "@stricli/core";
import type { AttachFlags } from "./attach_command.ts";
import type {
  CloseFlags,
  CommonFlags,
  CpFlags,
  EventsFlags,
  ForwardFlags,
  LogsFlags,
  OpenFlags,
  Outcome,
  RecordFlags,
  ResultFlags,
  RunFlags,
  SecretFlags,
  SendFlags,
  StreamSink,
  Target,
  WaitFlags,
} from "./commands.ts";
import {
  parseCount,
  parseCursor,
  parseMillis,
  parsePort,
  parseSeconds,
  parseSize,
  parseSizeIn,
  parseTimeout,
} from "./args.ts";
import { validateName } from "../session/name.ts";
import { parseForwardFlag } from "../ssh/forward_spec.ts";
import { UsageError } from "../errors.ts";
import { wellFormed } from "../well_formed.ts";
import {
  COMPLETION_SHELLS,
  completionScript,
  configuredHosts,
} from "./completion.ts";
import { MAX_BUFFER, PAGER_ENV } from "../protocol/spec.ts";

/**
 * Where the MCP server's module is: beside this one in the sources (or a
 * compiled binary), `lib/mcp/server.js` in the bundle's directory. Not a literal on purpose:
 * Deno loads every literal dynamic import when a program starts, and the
 * MCP SDK would add 780 KB to every call of the bundle.
 */
function mcpModule(): string {
  const bundled = !import.meta.url.endsWith(".ts");
  return new URL(
    bundled ? "./lib/mcp/server.js" : "../mcp/server.ts",
    import.meta.url,
  )
    .href;
}

/** Options of `mcp`. */
interface McpFlags {
  allowHost?: readonly string[];
  readOnly?: boolean;
  allowSecretEnv?: readonly string[];
  allowSecretFile?: readonly string[];
  allowLocalDir?: readonly string[];
  config?: string;
}

/** The package version `--version` prints. */
export const VERSION = "0.1.0";

/** What the handlers need from the command line around them. */
export interface ProgramContext extends CommandContext {
  /** Where Stricli writes help (stdout) and usage errors (stderr). */
  readonly process: {
    readonly stdout: { write(text: string): void };
    readonly stderr: { write(text: string): void };
    /** Set by Stricli: non-zero when the arguments were refused. */
    exitCode?: number | string | null;
  };
  /** Environment (`SESSH_*`). */
  readonly env: Record<string, string | undefined>;
  /** The words after `--`, already split off argv. */
  readonly payload: string[] | null;
  /** Streaming output for `logs --follow`. */
  readonly sink: StreamSink;
  /** Receives the handler's result. */
  done(outcome: Promise<Outcome>): void;
  /** Receives the deadline of a verb that has one (milliseconds from now). */
  endBy(ms: number): void;
}

// Flag specifications. Each parser throws a UsageError naming the flag and
// what it accepts; the command line reports it as is.

/**
 * A flag that takes text. One that names a file, a host or a program gives
 * its name as `field`: NUL or invalid UTF-8 (U+FFFD) in it is then refused.
 */
const textFlag = (brief: string, placeholder: string, field?: string) => ({
  kind: "parsed" as const,
  parse: field === undefined ? String : (v: string) => wellFormed(v, field),
  brief,
  optional: true as const,
  placeholder,
});

const switchFlag = (brief: string) => ({
  kind: "boolean" as const,
  brief,
  optional: true as const,
  withNegated: false,
});

/** The flags `attach` and `watch` share: leaving, and surviving a cut. */
const ATTACH_LINK = {
  detachKeys: textFlag(
    'local detach keys (default "C-b d"; "none" turns them off)',
    "keys",
  ),
  retries: textFlag(
    'reconnect attempts after a lost link (default 10, or "forever")',
    "n",
  ),
};

const MAX_OUTPUT = {
  kind: "parsed" as const,
  parse: (v: string) => parseSize(v, "--max-output"),
  brief: "bound on the text printed (default 100k)",
  optional: true as const,
  placeholder: "bytes",
};

const TIMEOUT = {
  kind: "parsed" as const,
  parse: (v: string) => parseTimeout(v, "--timeout"),
  brief: "how long to wait, e.g. 90, 2m (default 60, SESSH_TIMEOUT)",
  optional: true as const,
  placeholder: "seconds",
};

const SINCE = {
  kind: "parsed" as const,
  parse: parseCursor,
  brief: "only output after this cursor (printed by run, logs, wait)",
  optional: true as const,
  placeholder: "cursor",
};

type FlagSpecs<T> = { readonly [K in keyof T]-?: TypedFlagParameter<T[K]> };

const COMMON: FlagSpecs<CommonFlags> = {
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

const COMMON_ALIASES = {
  p: "port",
  i: "identity",
  J: "jump",
  F: "config",
  A: "forwardAgent",
  o: "option",
} as const;

const OPEN: FlagSpecs<Omit<OpenFlags, keyof CommonFlags>> = {
  shell: textFlag(
    "shell to start instead of the login shell: one in the host's /etc/shells",
    "shell",
    "--shell",
  ),
  agentEnv: {
    kind: "boolean",
    brief: `set ${
      Object.entries(PAGER_ENV).map(([k, v]) => `${k}=${v}`).join(", ")
    }`,
    optional: true,
  },
  forward: {
    kind: "parsed",
    parse: parseForwardFlag,
    brief:
      "forward a port through the master: L:port:host:hostport, R:…, D:port (repeatable)",
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

const NAME = {
  brief: "session name: 1 to 64 letters, digits, ., _ or -",
  parse: validateName,
  placeholder: "NAME",
};
const DEST = {
  brief: "user@host, ssh://user@host:port or an ssh config alias",
  parse: String,
  placeholder: "DEST",
  proposeCompletions(this: ProgramContext): string[] {
    return configuredHosts(this.env.HOME);
  },
};
const PORT = {
  brief: "ssh port (as -p)",
  parse: parsePort,
  placeholder: "PORT",
  optional: true as const,
};
const LINES = {
  brief: "how many lines (default 300, SESSH_LOG_LINES_DEFAULT)",
  parse: (v: string) => parseCount(v, "LINES", { min: 1, max: 100_000_000 }),
  placeholder: "LINES",
  optional: true as const,
};

/** `logs` without LINES: `SESSH_LOG_LINES_DEFAULT`, as the bash sessh read it, else 300. */
function defaultLines(env: Record<string, string | undefined>): number {
  const value = env.SESSH_LOG_LINES_DEFAULT;
  return value
    ? parseCount(value, "SESSH_LOG_LINES_DEFAULT", {
      min: 1,
      max: 100_000_000,
    })
    : 300;
}

const TARGET = {
  kind: "tuple" as const,
  parameters: [NAME, DEST, PORT] as [typeof NAME, typeof DEST, typeof PORT],
};

type Handlers = typeof import("./commands.ts");
type AttachHandlers = typeof import("./attach_command.ts");

/** Runs a handler of `commands.ts`, imported on first use. */
function handle(
  ctx: ProgramContext,
  call: (handlers: Handlers) => Promise<Outcome>,
): void {
  ctx.done(import("./commands.ts").then(call));
}

/** Runs a handler of `attach_command.ts`, imported on first use. */
function handleAttach(
  ctx: ProgramContext,
  call: (handlers: AttachHandlers) => Promise<Outcome>,
): void {
  ctx.done(import("./attach_command.ts").then(call));
}

function targetCommand<F extends CommonFlags>(
  brief: string,
  flags: FlagSpecs<Omit<F, keyof CommonFlags>>,
  handler: (
    handlers: Handlers,
    ctx: ProgramContext,
    target: Target,
    flags: F,
  ) => Promise<Outcome>,
  more: { payload?: string; description?: string } = {},
) {
  return buildCommand<F, [string, string, string | undefined], ProgramContext>({
    func(this: ProgramContext, parsed: F, name, dest, port) {
      handle(this, (h) => handler(h, this, { name, dest, port }, parsed));
    },
    parameters: {
      flags: { ...COMMON, ...flags } as unknown as FlagSpecs<F>,
      aliases: COMMON_ALIASES,
      positional: TARGET,
    },
    docs: {
      brief,
      fullDescription: more.description,
      customUsage: more.payload
        ? [`NAME DEST [PORT] [options] -- ${more.payload}`]
        : undefined,
    },
  });
}

/**
 * Builds the sessh command line.
 *
 * @param text Stricli's text, with sessh's argument errors (`usage_text.ts`).
 * @returns The Stricli application; run it with a {@linkcode ProgramContext}.
 *
 * @example
 * ```ts ignore
 * import { run } from "@stricli/core";
 * import { buildProgram } from "./program.ts";
 * await run(buildProgram(usageText(onError)), ["list", "host"], context);
 * ```
 */
export function buildProgram(
  text: ApplicationText,
): Application<ProgramContext> {
  const open = targetCommand<OpenFlags>(
    "create a session, or reuse it",
    OPEN,
    (c, _, t, f) => c.openCommand(t, f),
  );
  const run = targetCommand<RunFlags>(
    "type a command, wait for it, print its output",
    {
      ...OPEN,
      timeout: TIMEOUT,
      wait: {
        kind: "boolean",
        brief: "wait for the command (--no-wait: type it and return)",
        optional: true,
      },
      force: switchFlag("interrupt a running command and run this one instead"),
      maxOutput: MAX_OUTPUT,
    },
    (c, ctx, t, f) => c.runCommand(t, ctx.payload, f, ctx),
    {
      payload: "COMMAND…",
      description:
        "The command goes after --, as one or more words joined by spaces.",
    },
  );
  const send = targetCommand<SendFlags>(
    "type literal text",
    {
      enter: switchFlag("press Enter after the text"),
      file: textFlag(
        "send this file's bytes instead (- for stdin), of any size",
        "path",
        "--file",
      ),
    },
    (c, ctx, t, f) => c.sendCommand(t, ctx.payload, f),
    {
      payload: "TEXT…",
      description:
        "The text goes after --, or comes from --file PATH (- for stdin).",
    },
  );
  const keys = targetCommand<CommonFlags>(
    "press keys by tmux name (Enter, C-c, Up, F5, M-x, …)",
    {},
    (c, ctx, t, f) => c.keysCommand(t, ctx.payload, f),
    { payload: "KEY…", description: "The key names go after --." },
  );
  const logs = buildCommand<
    LogsFlags,
    [string, string, number | undefined, string | undefined],
    ProgramContext
  >({
    func(this: ProgramContext, flags, name, dest, lines, port) {
      handle(
        this,
        (c) =>
          c.logsCommand(
            { name, dest, port },
            lines ?? defaultLines(this.env),
            flags,
            this.sink,
          ),
      );
    },
    parameters: {
      flags: {
        ...COMMON,
        since: SINCE,
        raw: switchFlag("the bytes as the terminal received them"),
        follow: switchFlag("keep streaming new output until interrupted"),
        maxOutput: MAX_OUTPUT,
      },
      aliases: COMMON_ALIASES,
      positional: { kind: "tuple", parameters: [NAME, DEST, LINES, PORT] },
    },
    docs: { brief: "recent output as text: the last LINES (default 300)" },
  });
  const screen = targetCommand<CommonFlags>(
    "the visible screen as text, with the cursor",
    {},
    (c, _, t, f) => c.screenCommand(t, f),
  );
  const wait = targetCommand<WaitFlags>(
    "wait for output, idleness or the command's end",
    {
      for: {
        kind: "parsed",
        parse: parsePattern,
        brief: "until output matches this regular expression",
        optional: true,
        placeholder: "regex",
      },
      idle: {
        kind: "parsed",
        parse: (v) => parseMillis(v, "--idle"),
        brief: "until no output came for this many milliseconds",
        optional: true,
        placeholder: "ms",
      },
      done: switchFlag("until the running command finishes"),
      since: {
        ...SINCE,
        brief:
          "consider output from this cursor on (default: --for from the last input sent, --idle from now)",
      },
      timeout: TIMEOUT,
      maxOutput: MAX_OUTPUT,
    },
    (c, ctx, t, f) => c.waitCommand(t, f, ctx),
  );
  const status = targetCommand<CommonFlags>(
    "master, shell, running command, cwd, buffer",
    {},
    (c, _, t, f) => c.statusCommand(t, f),
  );
  const events = targetCommand<EventsFlags>(
    "output and events as JSON lines: commands started and done, prompts, exit",
    { since: SINCE },
    (c, ctx, t, f) => c.eventsCommand(t, f, ctx.sink),
  );
  const secret = targetCommand<SecretFlags>(
    "type a secret and Enter at a prompt with echo off (password, token)",
    {
      fromEnv: textFlag("the environment variable that holds it", "var"),
      fromFile: textFlag("the file that holds it", "path", "--from-file"),
      prompt: switchFlag("read it from this terminal, without echo"),
    },
    (c, ctx, t, f) => c.secretCommand(t, f, ctx.env),
    {
      description:
        "Never give the secret itself: it would show in the process list. It is refused (exit 3) while the terminal echoes, and redacted from output that repeats it.",
    },
  );
  const forward = buildCommand<
    ForwardFlags,
    [string, string | undefined],
    ProgramContext
  >({
    func(this: ProgramContext, flags, dest, port) {
      handle(this, (c) => c.forwardCommand({ dest, port }, flags));
    },
    parameters: {
      flags: {
        ...COMMON,
        local: textFlag(
          "a local port reaching the host's side: [bind:]port:host:hostport",
          "spec",
        ),
        remote: textFlag(
          "a port on the host reaching this side: [bind:]port:host:hostport",
          "spec",
        ),
        dynamic: textFlag(
          "a SOCKS proxy through the host: [bind:]port",
          "spec",
        ),
        cancel: switchFlag("cancel the forward instead"),
      },
      aliases: { ...COMMON_ALIASES, L: "local", R: "remote", D: "dynamic" },
      positional: { kind: "tuple", parameters: [DEST, PORT] },
    },
    docs: {
      brief:
        "forward a port through the master (-L, -R, -D); kept when the master is replaced",
    },
  });
  const record = targetCommand<RecordFlags>(
    "the output with its timing, as an asciicast v2 file (asciinema)",
    {
      since: SINCE,
      command: {
        kind: "parsed",
        parse: (v: string) =>
          parseCount(v, "--command", { min: 1, max: Number.MAX_SAFE_INTEGER }),
        brief: "one command's output, by the id run printed",
        optional: true,
        placeholder: "id",
      },
      output: textFlag("the file to write (- for stdout)", "file", "--output"),
    },
    (c, _, t, f) => c.recordCommand(t, f),
  );
  const cp = buildCommand<
    CpFlags,
    [string, string, string | undefined],
    ProgramContext
  >({
    func(this: ProgramContext, flags, first, second, third) {
      const words = [first, second, third].filter((w) => w !== undefined);
      // A progress line on a terminal, for a person watching.
      const progress = !this.sink.json && Deno.stderr.isTerminal()
        ? async (line: string) => {
          await Deno.stderr.write(new TextEncoder().encode(line));
        }
        : null;
      const fields = words.length === 3
        ? ["NAME", "SRC", "DEST"]
        : ["SRC", "DEST"];
      handle(this, (c) => {
        words.forEach((word, i) => wellFormed(word, fields[i]));
        return c.cpCommand(words, flags, progress);
      });
    },
    parameters: {
      flags: {
        ...COMMON,
        resume: switchFlag(
          "continue a cut copy, if the destination holds the source's start (checked by SHA-256)",
        ),
        recursive: switchFlag(
          "copy a directory and everything in it, as scp -r (links are left out)",
        ),
        via: {
          kind: "enum",
          values: ["sftp", "helper"],
          brief:
            "sftp (the default; the daemon where the host has none), or helper: the sessh daemon",
          optional: true,
        },
      },
      aliases: { ...COMMON_ALIASES, r: "recursive" },
      positional: {
        kind: "tuple",
        parameters: [
          { brief: "NAME, or SRC", parse: String, placeholder: "NAME" },
          { brief: "SRC, or DEST", parse: String, placeholder: "SRC" },
          {
            brief: "DEST ([user@]host:path on one side)",
            parse: String,
            placeholder: "DEST",
            optional: true,
          },
        ],
      },
    },
    docs: {
      brief:
        "copy a file to or from the host through the master (sftp, or the daemon)",
      customUsage: ["[NAME] SRC DEST [options]"],
    },
  });
  const history = targetCommand<CommonFlags>(
    "the last commands run typed, with their ids and exit statuses",
    {},
    (c, _, t, f) => c.historyCommand(t, f),
  );
  const result = buildCommand<
    ResultFlags,
    [string, string, number | undefined, string | undefined],
    ProgramContext
  >({
    func(this: ProgramContext, flags, name, dest, id, port) {
      handle(this, (c) => c.resultCommand({ name, dest, port }, id, flags));
    },
    parameters: {
      flags: { ...COMMON, maxOutput: MAX_OUTPUT },
      aliases: COMMON_ALIASES,
      positional: {
        kind: "tuple",
        parameters: [NAME, DEST, {
          brief: "the command's id (run --json prints it; default: the latest)",
          parse: (v: string) =>
            parseCount(v, "ID", { min: 1, max: Number.MAX_SAFE_INTEGER }),
          placeholder: "ID",
          optional: true as const,
        }, PORT],
      },
    },
    docs: {
      brief:
        "a command's exit status and output by id, or that it still runs (exit 124)",
    },
  });
  const list = buildCommand<
    CommonFlags,
    [string, string | undefined],
    ProgramContext
  >({
    func(this: ProgramContext, flags, dest, port) {
      handle(this, (c) => c.listCommand({ dest, port }, flags));
    },
    parameters: {
      flags: COMMON,
      aliases: COMMON_ALIASES,
      positional: { kind: "tuple", parameters: [DEST, PORT] },
    },
    docs: { brief: "every session of this user on the host" },
  });
  const close = targetCommand<CloseFlags>(
    "end the session (and the master when none is left)",
    {
      keepMaster: switchFlag("leave the ssh master running"),
      grace: {
        kind: "parsed",
        parse: (v) => parseSeconds(v, "--grace"),
        brief: "time between SIGHUP and SIGKILL (default 2)",
        optional: true,
        placeholder: "seconds",
      },
    },
    (c, _, t, f) => c.closeCommand(t, f),
  );
  const watch = buildCommand<
    CommonFlags & { detachKeys?: string; retries?: string },
    [string, string, string | undefined],
    ProgramContext
  >({
    func(this: ProgramContext, flags, name, dest, port) {
      const words = [name, dest, port].filter((w) => w !== undefined);
      handleAttach(
        this,
        (a) => a.attachCommand(words, { ...flags, readOnly: true }, this.env),
      );
    },
    parameters: {
      flags: {
        ...COMMON,
        ...ATTACH_LINK,
      },
      aliases: COMMON_ALIASES,
      positional: { kind: "tuple", parameters: [NAME, DEST, PORT] },
    },
    docs: {
      brief:
        "watch a session read-only beside its interactive client (attach --read-only)",
    },
  });
  const attach = buildCommand<
    AttachFlags,
    [string, string | undefined, string | undefined],
    ProgramContext
  >({
    func(this: ProgramContext, flags, first, second, third) {
      const words = [first, second, third].filter((w) => w !== undefined);
      handleAttach(this, (a) => a.attachCommand(words, flags, this.env));
    },
    parameters: {
      flags: {
        ...COMMON,
        new: switchFlag("always start a new session"),
        session: {
          kind: "parsed",
          parse: validateName,
          brief: "attach this existing session",
          optional: true,
          placeholder: "name",
        },
        list: switchFlag("print the sessions (busy ones marked) and exit"),
        readOnly: switchFlag(
          "watch beside the interactive client: keys go nowhere (also: sessh watch)",
        ),
        ...ATTACH_LINK,
        shell: OPEN.shell,
        forward: OPEN.forward,
      },
      aliases: COMMON_ALIASES,
      positional: {
        kind: "tuple",
        parameters: [
          {
            brief: "NAME DEST, or DEST alone",
            parse: String,
            placeholder: "NAME",
          },
          { ...DEST, optional: true },
          { ...PORT, parse: String },
        ],
      },
    },
    docs: {
      brief: "attach this terminal to a session",
      customUsage: ["[NAME] DEST [PORT] [options]"],
    },
  });
  const detach = targetCommand<CommonFlags>(
    "make the session's attached client exit (the shell keeps running)",
    {},
    (_, _ctx, t, f) =>
      import("./attach_command.ts").then((a) => a.detachCommand(t, f)),
  );
  const repeatable = (brief: string, placeholder: string, field: string) => ({
    kind: "parsed" as const,
    parse: (v: string) => wellFormed(v, field),
    brief,
    optional: true as const,
    variadic: true as const,
    placeholder,
  });
  const mcp = buildCommand<McpFlags, [], ProgramContext>({
    func(this: ProgramContext, flags) {
      this.done(
        (import(mcpModule()) as Promise<typeof import("../mcp/server.ts")>)
          .then(
            async ({ serveMcp }) => {
              await serveMcp({
                allowHosts: [...(flags.allowHost ?? [])],
                readOnly: flags.readOnly ?? false,
                secretEnv: [...(flags.allowSecretEnv ?? [])],
                secretFiles: [...(flags.allowSecretFile ?? [])],
                localDirs: [...(flags.allowLocalDir ?? [])],
                env: this.env,
                configFile: flags.config,
                version: VERSION,
              });
              return { op: "mcp", fields: {}, text: "", exitCode: 0 };
            },
          ),
      );
    },
    parameters: {
      flags: {
        allowHost: repeatable(
          "only hosts matching this pattern (* matches anything; user@host with @), repeatable",
          "pattern",
          "--allow-host",
        ),
        readOnly: switchFlag(
          "offer only the tools that observe: logs, screen, wait, status, list, result, history",
        ),
        allowLocalDir: repeatable(
          "a local directory upload and download may use (default: the working directory), repeatable",
          "dir",
          "--allow-local-dir",
        ),
        allowSecretEnv: repeatable(
          "an environment variable type_secret may type, repeatable",
          "var",
          "--allow-secret-env",
        ),
        allowSecretFile: repeatable(
          "a file type_secret may type, repeatable",
          "path",
          "--allow-secret-file",
        ),
        config: COMMON.config,
      },
      aliases: { F: "config" },
    },
    docs: {
      brief: "serve the sessions as MCP tools on stdin and stdout",
      fullDescription:
        "For MCP clients: claude mcp add sessh -- sessh mcp. Tools: open, run, send, keys, logs, screen, wait, status, list, close, result, history, upload, download, and type_secret when a secret is allowed.",
    },
  });
  const completions = buildCommand<
    Record<never, never>,
    [string],
    ProgramContext
  >({
    func(this: ProgramContext, _flags, shell) {
      this.done(
        Promise.resolve().then(() => ({
          op: "completions",
          fields: { shell },
          text: completionScript(shell),
          exitCode: 0,
        })),
      );
    },
    parameters: {
      positional: {
        kind: "tuple",
        parameters: [{
          brief: COMPLETION_SHELLS.join(", "),
          parse: String,
          placeholder: "SHELL",
          proposeCompletions: () => [...COMPLETION_SHELLS],
        }],
      },
    },
    docs: {
      brief: "print the completion script of bash, zsh or fish",
      fullDescription:
        'bash: eval "$(sessh completions bash)" in ~/.bashrc; zsh: the same with zsh, after compinit; fish: sessh completions fish | source',
    },
  });
  // What the completion scripts ask: the words that may follow WORDS… (the
  // last one the partial word), one per line with its description.
  const complete = buildCommand<Record<never, never>, [], ProgramContext>({
    func(this: ProgramContext) {
      const words = this.payload?.length ? this.payload : [""];
      this.done(
        proposeCompletions(app, words, this).then((proposals) => ({
          op: "__complete",
          fields: {},
          text: proposals.map((p) => `${p.completion}\t${p.brief}\n`).join(""),
          exitCode: 0,
        })),
      );
    },
    parameters: { positional: { kind: "tuple", parameters: [] } },
    docs: { brief: "complete the words after --, for the shell scripts" },
  });
  const app = buildApplication(
    buildRouteMap({
      routes: {
        open,
        run,
        send,
        keys,
        logs,
        screen,
        wait,
        status,
        history,
        result,
        events,
        forward,
        record,
        cp,
        secret,
        list,
        close,
        attach,
        watch,
        detach,
        completions,
        mcp,
        __complete: complete,
      },
      aliases: { pane: "screen" },
      docs: {
        hideRoute: { __complete: true },
        brief: "Persistent remote shells over ssh, for agents and humans",
        fullDescription:
          "Put --json anywhere before -- for one JSON object on stdout.",
      },
    }),
    {
      name: "sessh",
      versionInfo: { currentVersion: VERSION },
      scanner: {
        caseStyle: "allow-kebab-for-camel",
        // Suggest only near misses (a typo, not any short word).
        distanceOptions: {
          threshold: 4,
          weights: {
            insertion: 1,
            deletion: 3,
            substitution: 2,
            transposition: 0,
          },
        },
      },
      documentation: {
        caseStyle: "convert-camel-to-kebab",
        disableAnsiColor: true,
      },
      localization: { loadText: () => text },
    },
  );
  return app;
}

function parsePattern(pattern: string): RegExp {
  try {
    return new RegExp(pattern, "m");
  } catch (error) {
    throw new UsageError(`Invalid --for pattern: ${(error as Error).message}`);
  }
}
