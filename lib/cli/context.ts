/**
 * What the command line hands each verb: the {@linkcode ProgramContext}
 * Stricli calls a command with, and {@linkcode verb}, which makes a handler
 * into the function a command's `loader` returns.
 *
 * Both sides of a verb import this module: its grammar (loaded on every
 * call) and its implementation (loaded once the verb is parsed). So it
 * imports nothing at run time.
 *
 * @module
 */
import type { Application, CommandContext } from "@stricli/core";
import type { Outcome, StreamSink, Target } from "./call.ts";

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
  /**
   * The command line itself, for `__complete` to ask. The full parser
   * gives it; the fast path (`fast_path.ts`), which never calls
   * `__complete`, has none.
   */
  readonly program?: Application<ProgramContext>;
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
  /** Receives work to do once the result is printed (see `CallContext`). */
  afterOutput?(task: () => Promise<void>): void;
  /** Aborted when the caller has gone (see `CallContext`). */
  readonly cancel?: AbortSignal;
  /** The caller's directory, when the call runs in the agent (see `CallIO`). */
  readonly cwd?: string;
  /** Stops a copy the agent runs (see `CallIO`). */
  readonly stop?: AbortSignal;
  /**
   * Where a copy's progress bar goes when the call runs for a client whose
   * stderr is a terminal (the agent's thin client): its stderr, and its
   * width.
   */
  readonly bar?: { write(text: string): Promise<void>; columns: number };
}

/**
 * A verb's implementation as Stricli calls it: the parsed flags, then the
 * positionals. It hands its outcome to the command line and returns at
 * once, so that `cli.ts` can hold the call to its deadline.
 */
export type VerbFunction<F, A extends unknown[]> = (
  this: ProgramContext,
  flags: F,
  ...args: A
) => void;

/**
 * Makes a handler into the function a command's `loader` returns.
 *
 * @param handler Does the verb's work, given what the parser read.
 * @returns The command function.
 *
 * @example
 * ```ts ignore
 * import { verb } from "../context.ts";
 * export const list = verb(
 *   (_, flags: CommonFlags, dest: string, port?: string) =>
 *     listCommand({ dest, port }, flags),
 * );
 * ```
 */
export function verb<F, A extends unknown[]>(
  handler: (context: ProgramContext, flags: F, ...args: A) => Promise<Outcome>,
): VerbFunction<F, A> {
  return function (this: ProgramContext, flags: F, ...args: A): void {
    // What the handler throws, even before its first await, is the call's
    // error for `cli.ts` to report, not Stricli's to print.
    this.done(Promise.try(handler, this, flags, ...args));
  };
}

/**
 * {@linkcode verb} for the many verbs whose positionals are NAME DEST
 * [PORT]: the handler gets them as one {@linkcode Target}.
 *
 * @param handler Does the verb's work.
 * @returns The command function.
 */
export function targetVerb<F>(
  handler: (
    target: Target,
    flags: F,
    context: ProgramContext,
  ) => Promise<Outcome>,
): VerbFunction<F, [string, string, string | undefined]> {
  return verb((context, flags: F, name: string, dest: string, port?: string) =>
    handler({ name, dest, port, env: context.env }, flags, context)
  );
}
