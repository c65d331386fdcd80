/**
 * The command-line grammar: verbs, their positionals and options, built
 * with commander. Actions hand the parsed values to the handlers in
 * `commands.ts`; nothing here prints or exits.
 *
 * @module
 */
import { Command, Option } from "commander";
import * as commands from "./commands.ts";
import { attachCommand, detachCommand } from "./attach_command.ts";
import type { Outcome, StreamSink } from "./commands.ts";

/** What the program needs from its caller. */
export interface ProgramContext {
  /** Environment (`SESSH_*`). */
  env: Record<string, string | undefined>;
  /** The words after `--`, already split off argv. */
  payload: string[] | null;
  /** Streaming output for `logs --follow`. */
  sink: StreamSink;
  /** Receives the handler's result. */
  done: (outcome: Promise<Outcome>) => void;
  /** Receives the deadline of a verb that has one (milliseconds from now). */
  endBy: (ms: number) => void;
  /** Receives commander's help text. */
  writeOut: (text: string) => void;
  /** Receives commander's error messages. */
  writeErr: (text: string) => void;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function withCommon(command: Command): Command {
  return command
    .option("--json", "print one JSON object (also SESSH_JSON=1)")
    .option("-p, --port <port>", "ssh port")
    .option("-i, --identity <key>", "ssh identity file (also SESSH_IDENTITY)")
    .option("-J, --jump <host>", "ssh jump host (also SESSH_PROXYJUMP)")
    .option("-F, --config <file>", "ssh config file")
    .option("-A, --forward-agent", "forward the ssh agent, as ssh -A")
    .option(
      "-o, --option <option>",
      "ssh -o option, repeatable",
      collect,
      [] as string[],
    );
}

function withOpen(command: Command): Command {
  return command
    .option(
      "--shell <shell>",
      "shell to start instead of the login shell (bash, zsh, sh, …)",
    )
    .option(
      "--no-agent-env",
      "do not set PAGER=cat, GIT_PAGER=cat, MANPAGER=cat, SYSTEMD_PAGER=",
    )
    .option(
      "--buffer-size <bytes>",
      "output buffer of a new session (default 1M)",
    )
    .option("--cols <n>", "terminal width of a new session (default 160)")
    .option("--rows <n>", "terminal height of a new session (default 48)")
    .option("--term <term>", "TERM of a new session (default xterm-256color)");
}

/**
 * Builds the sessh program.
 *
 * @param ctx Environment, payload, sink and result callback.
 * @returns The commander program; call `parseAsync` on it.
 *
 * @example
 * ```ts ignore
 * import { buildProgram } from "./program.ts";
 * const program = buildProgram(ctx);
 * await program.parseAsync(["list", "host"], { from: "user" });
 * ```
 */
export function buildProgram(ctx: ProgramContext): Command {
  const program = new Command("sessh")
    .description("Persistent remote shells over ssh, for agents and humans")
    .option("--json", "print one JSON object (also SESSH_JSON=1)")
    .version("0.1.0")
    .showHelpAfterError("(run sessh --help for usage)")
    .exitOverride()
    .configureOutput({ writeOut: ctx.writeOut, writeErr: ctx.writeErr });

  const add = (spec: string, description: string) => {
    const command = withCommon(program.command(spec).description(description));
    command.exitOverride().configureOutput({
      writeOut: ctx.writeOut,
      writeErr: ctx.writeErr,
    });
    command.showHelpAfterError(
      `(run sessh ${spec.split(" ")[0]} --help for usage)`,
    );
    return command;
  };
  // deno-lint-ignore no-explicit-any
  type Opts = any;

  withOpen(add("open <name> <dest> [port]", "create a session, or reuse it"))
    .action((name, dest, port, opts: Opts) => {
      ctx.done(commands.openCommand(compact([name, dest, port]), opts));
    });

  withOpen(
    add(
      "run <name> <dest> [args...]",
      "type a command, wait for it, print its output",
    ),
  )
    .option(
      "--timeout <seconds>",
      "how long to wait (default 60, SESSH_TIMEOUT)",
    )
    .option("--no-wait", "type the command and return at once")
    .option("--force", "interrupt a running command and run this one instead")
    .option(
      "--max-output <bytes>",
      "bound on the output printed (default 100k)",
    )
    .action((name, dest, args: string[], opts: Opts) => {
      ctx.done(
        commands.runCommand([name, dest, ...args], ctx.payload, opts, ctx),
      );
    });

  add("send <name> <dest> [args...]", "type literal text")
    .option("--enter", "press Enter after the text")
    .action((name, dest, args: string[], opts: Opts) => {
      ctx.done(commands.sendCommand([name, dest, ...args], ctx.payload, opts));
    });

  add(
    "keys <name> <dest> [args...]",
    "press keys by tmux name (Enter, C-c, Up, F5, M-x, …)",
  )
    .action((name, dest, args: string[], opts: Opts) => {
      ctx.done(commands.keysCommand([name, dest, ...args], ctx.payload, opts));
    });

  add(
    "logs <name> <dest> [args...]",
    "recent output as text: [LINES] (default 300)",
  )
    .option("--since <cursor>", "only output after this cursor")
    .option("--raw", "the bytes as the terminal received them")
    .option("--follow", "keep streaming new output until interrupted")
    .option("--max-output <bytes>", "bound on the text printed (default 100k)")
    .action((name, dest, args: string[], opts: Opts) => {
      ctx.done(commands.logsCommand([name, dest, ...args], opts, ctx.sink));
    });

  add(
    "screen <name> <dest> [port]",
    "the visible screen as text, with the cursor",
  )
    .alias("pane")
    .action((name, dest, port, opts: Opts) => {
      ctx.done(commands.screenCommand(compact([name, dest, port]), opts));
    });

  add(
    "wait <name> <dest> [port]",
    "wait for output, idleness or the command's end",
  )
    .option("--for <regex>", "until new output matches this regular expression")
    .option("--idle <ms>", "until no output came for this many milliseconds")
    .option("--done", "until the running command finishes")
    .option(
      "--since <cursor>",
      "consider output from this cursor on, not from now",
    )
    .option(
      "--timeout <seconds>",
      "give up after this long (default 60, SESSH_TIMEOUT)",
    )
    .option(
      "--max-output <bytes>",
      "bound on the output printed (default 100k)",
    )
    .action((name, dest, port, opts: Opts) => {
      ctx.done(
        commands.waitCommand(compact([name, dest, port]), opts, ctx),
      );
    });

  add(
    "status <name> <dest> [port]",
    "master, shell, running command, cwd, buffer",
  )
    .action((name, dest, port, opts: Opts) => {
      ctx.done(commands.statusCommand(compact([name, dest, port]), opts));
    });

  add("list <dest> [port]", "every session of this user on the host")
    .action((dest, port, opts: Opts) => {
      ctx.done(commands.listCommand(compact([dest, port]), opts));
    });

  add(
    "close <name> <dest> [port]",
    "end the session (and the master when none is left)",
  )
    .option("--keep-master", "leave the ssh master running")
    .addOption(
      new Option("--grace <seconds>", "time between SIGHUP and SIGKILL")
        .default("2"),
    )
    .action((name, dest, port, opts: Opts) => {
      ctx.done(commands.closeCommand(compact([name, dest, port]), opts));
    });

  add("attach <args...>", "attach this terminal to a session: [NAME] DEST")
    .option("--new", "always start a new session")
    .option("--session <id>", "attach this existing session")
    .option("--list", "print the sessions (busy ones marked) and exit")
    .option(
      "--detach-keys <keys>",
      'local detach keys (default "C-b d"; "none" turns them off)',
    )
    .option(
      "--retries <n>",
      'reconnect attempts after a lost link (default 10, or "forever")',
    )
    .action((args: string[], opts: Opts) => {
      ctx.done(attachCommand(args, opts, ctx.env));
    });

  add(
    "detach <name> <dest> [port]",
    "make the session's attached client exit (the shell keeps running)",
  )
    .action((name, dest, port, opts: Opts) => {
      ctx.done(detachCommand(compact([name, dest, port]), opts));
    });

  return program;
}

function compact(values: (string | undefined)[]): string[] {
  return values.filter((v): v is string => v !== undefined);
}
