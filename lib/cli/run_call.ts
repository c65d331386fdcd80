/**
 * One call of the command line, from its words to its output and exit
 * code, written through the streams it is given: the terminal's, when the
 * command line runs it (`main.ts`), or a socket's, when the local agent
 * runs it for a thin client (`thin_client.ts`). Both print the same bytes
 * and return the same code: outcome, `--json` errors and hints are here
 * alone. What belongs to a process (signals, `Deno.exit`, killing its
 * children) stays with the process that runs the call.
 *
 * @module
 */
import { helpWords, refuseGluedSshFlags, splitPayload } from "./args.ts";
import type { ProgramContext } from "./context.ts";
import { type FastCall, fastCall } from "./fast_path.ts";
import type { Outcome } from "./call.ts";
import { SesshError } from "../errors.ts";
import { markPhase } from "../phases.ts";
import { loadXtermAlone } from "../render/_terminal.ts";

/**
 * The reader of the call's own output (stdout or stderr) went away
 * (`| head -1`). Only this ends a call with 141: a broken pipe to ssh or to
 * the agent is a failure of the call, reported as one.
 */
export class OutputClosed extends Error {
  /** @param cause What the write failed with. */
  constructor(cause: unknown) {
    super("The reader of sessh's output went away", { cause });
  }
}

/** One of the call's output streams. */
export interface CallStream {
  /** Writes all of `data`; throws {@linkcode OutputClosed} when its reader left. */
  write(data: string | Uint8Array): Promise<void>;
  /** The same at once, for help and usage text, which may end the call. */
  writeSync(text: string): void;
}

/** What a call runs with: the process's streams and hooks, or the agent's. */
export interface CallIO {
  /** The call's environment (`SESSH_*`, `HOME`, …). */
  env: Record<string, string | undefined>;
  /** The call's stdout. */
  stdout: CallStream;
  /** The call's stderr. */
  stderr: CallStream;
  /** Aborted when the user stops a streaming call (`logs --follow`). */
  signal(): AbortSignal;
  /**
   * Holds the call to its deadline: the returned promise rejects with
   * `late()`'s error some time past `ms` from now, having stopped what the
   * call started.
   */
  holdTo(ms: number): { late: Promise<never>; cancel: () => void };
  /**
   * Set once a signal stops the call: nothing else reports then. The
   * command line's never settles (it exits); the agent's says what the
   * call left and settles with its exit code.
   */
  stopped(): Promise<number> | null;
  /**
   * Only calls the fast path reads, of the verbs this takes: `"decline"`
   * for any other (the agent's thin calls).
   */
  only?: (call: FastCall) => boolean;
  /**
   * Whether the process runs this call alone, and nothing but sessh's code
   * (the command line): then xterm.js may load with a stand-in `process`
   * ({@linkcode loadXtermAlone}). Never in the agent, where another call
   * could meet the stand-in while it loads.
   */
  ownsProcess?: boolean;
  /** Aborted when the caller has gone (the agent's thin client). */
  cancel?: AbortSignal;
  /**
   * The caller's working directory, when the call runs in another process
   * (the agent's thin client): local paths are taken from there.
   */
  cwd?: string;
  /**
   * Aborted when a signal stops the caller or the caller has gone, for a
   * call that then ends its own work, with steps of its own (a copy the
   * agent runs: `stepsOfCall` in `interrupt.ts`). The command line stops a
   * call by ending its process instead.
   */
  stop?: AbortSignal;
  /**
   * The width of the caller's terminal on its stderr, when the call runs
   * in another process (the agent's thin client) and a copy's progress bar
   * is to be drawn there, through {@linkcode CallIO.stderr}.
   */
  barColumns?: number;
  /**
   * Whether what the handler left for after its output (releasing its
   * connection) may still run when the call returns its code, held to the
   * same deadline: the agent then sends a thin client its exit code at
   * once, and the bridge is reset while the client exits. The command
   * line waits for it, as its process ends when the call returns.
   */
  releaseLater?: boolean;
}

/**
 * How far past its deadline a call may run before it is stopped from
 * outside. The library ends calls by their deadline itself; this is the
 * guarantee that no wait on ssh, a frozen master or a dead link can outlast
 * the deadline by more than 2 s.
 */
export const OVERRUN_MS = 1800;

/**
 * What a pipe holds on Linux: an output larger than this may wait on its
 * reader. A smaller one is written before the connection is released,
 * which after a cold call starts the agent too (10-30 ms).
 */
const PIPE_BYTES = 64 * 1024;

/**
 * The error of a call stopped from outside past its deadline.
 *
 * @param deadlineMs The call's deadline.
 * @returns The error the call reports.
 */
export function overrunError(deadlineMs: number): SesshError {
  return new SesshError(
    "timeout",
    `The call did not end within its ${
      deadlineMs / 1000
    } s deadline; everything it started was stopped. Whether the command reached the host is unknown: check with sessh status`,
    124,
    { delivery: "unknown" },
  );
}

/**
 * Runs one call and returns its exit code.
 *
 * @param args Arguments after the program name.
 * @param io Its streams and the process's hooks.
 * @returns The exit code, or `"decline"` when `io.only` does not take the
 *   call, or the fast path does not read it (nothing was written then).
 *
 * @example
 * ```ts ignore
 * import { runCall } from "./run_call.ts";
 * const code = await runCall(["status", "work", "box"], io);
 * ```
 */
export async function runCall(
  args: string[],
  io: CallIO,
): Promise<number | "decline"> {
  const { env } = io;
  const { head, payload } = splitPayload(args);
  const json = head.includes("--json") || env.SESSH_JSON === "1";
  // --json may also come before the verb, as a global option.
  const words = helpWords(head[0] === "--json" ? head.slice(1) : head);
  const verb = words.find((a) => !a.startsWith("-")) ?? "";
  let outcome: Promise<Outcome> | null = null;
  let overrun: Promise<never> | null = null;
  let cancelOverrun: (() => void) | undefined;
  let argumentError: unknown = null;
  const afterOutput: (() => Promise<void>)[] = [];
  let released: Promise<void> | null = null;
  const printJson = (value: unknown) =>
    io.stdout.write(JSON.stringify(value) + "\n");
  const context: ProgramContext = {
    process: {
      stdout: { write: (text) => io.stdout.writeSync(text) },
      // Argument errors arrive through onArgumentError and are reported
      // below; Stricli's empty line for them is dropped.
      stderr: {
        write: (text) => {
          if (argumentError === null) io.stderr.writeSync(text);
        },
      },
    },
    env,
    payload,
    sink: {
      write: (data) => io.stdout.write(data),
      json,
      notice: (line) => json ? Promise.resolve() : io.stderr.write(line + "\n"),
      get signal() {
        return io.signal();
      },
    },
    cancel: io.cancel,
    cwd: io.cwd,
    stop: io.stop,
    bar: io.barColumns === undefined ? undefined : {
      write: (text) => io.stderr.write(text),
      columns: io.barColumns,
    },
    done: (p) => outcome = p,
    afterOutput: (task) => afterOutput.push(task),
    endBy: (ms) => {
      const held = io.holdTo(ms);
      overrun = held.late;
      cancelOverrun = held.cancel;
    },
  };
  const fast = (() => {
    try {
      refuseGluedSshFlags(words);
    } catch {
      return null;
    }
    try {
      return fastCall(words, payload);
    } catch (error) {
      // A value the fast path refuses is the full path's to report.
      if (io.only) return null;
      throw error;
    }
  })();
  if (io.only && !(fast && io.only(fast))) return "decline";
  try {
    refuseGluedSshFlags(words);
    if (fast) {
      // A verb the fast path reads runs no code but sessh's until it exits
      // (the MCP server, which does, is never one): xterm.js may load
      // without Node's `process` (`screen`, rendered `logs` and `wait`).
      if (io.ownsProcess) loadXtermAlone();
      const handler = await fast.load();
      handler.call(context, fast.flags as never, ...fast.args as never[]);
    } else {
      const parser = await import("./parse.ts");
      await parser.parseAndRun(words, head, verb, {
        ...context,
        onArgumentError: (error) => argumentError ??= error,
      });
      if (argumentError !== null) {
        const error = parser.usageError(argumentError, verb);
        if (!json) {
          // One line: the message, and where to read the grammar when the
          // parser (not a value check that says what to do) refused it.
          const help = error instanceof parser.ArgumentError && error.verb
            ? `sessh ${error.verb} --help`
            : "sessh --help";
          const hint = error instanceof parser.ArgumentError
            ? ` (see ${help})`
            : "";
          await io.stderr.write(`sessh: ${error.message}${hint}\n`);
          return error.exitCode;
        }
        throw error;
      }
    }
    if (!outcome) return context.process.exitCode ? 2 : 0;
    const result: Outcome =
      await (overrun ? Promise.race([outcome, overrun]) : outcome);
    const stopped = io.stopped();
    if (stopped) return await stopped;
    markPhase("outcome");
    const text = json
      ? JSON.stringify({ ok: true, op: result.op, ...result.fields }) + "\n"
      : result.text;
    // An output more than a pipe holds may wait on its reader as long as
    // the reader likes (`| less`, a reader that stopped): the connection,
    // a bridge the agent lends, goes back first, not once it is read.
    if (text.length > PIPE_BYTES) {
      released = settleAfterOutput(afterOutput, overrun, cancelOverrun);
    }
    await io.stdout.write(text);
    if (!json && result.notice) await io.stderr.write(result.notice + "\n");
    markPhase("printed");
    return result.exitCode;
  } catch (error) {
    // A child a signal ended fails its call: the stop reports instead.
    const stopped = io.stopped();
    if (stopped) return await stopped;
    // A reader that stopped reading (`| head -1`): its end is not an error
    // of ours to report, and stdout cannot take it. 141 is what a shell
    // reports for a command ended by SIGPIPE, as `cat` would be.
    if (isOutputClosed(error)) return 141;
    const known = error instanceof SesshError;
    // Loaded here: its hints (and the ssh advice they quote) are for
    // failures only.
    const failure = known
      ? (await import("./error_out.ts")).errorJson(error)
      : {
        code: "internal",
        message: `Internal error: ${(error as Error)?.stack ?? error}`,
      };
    try {
      if (json) {
        await printJson({ ok: false, op: verb, error: failure });
      } else await io.stderr.write(`sessh: ${failure.message}\n`);
    } catch (error) {
      if (isOutputClosed(error)) return 141;
      throw error;
    }
    return known ? error.exitCode : 1;
  } finally {
    // What the handler left for after its output (closing its connection,
    // starting the agent), still held to the call's deadline.
    released ??= settleAfterOutput(afterOutput, overrun, cancelOverrun);
    if (!io.releaseLater) await released;
  }
}

/**
 * Runs what a handler left for after its output, held to the call's
 * deadline, and cancels the deadline once that is done: the call's code
 * may be returned before (`CallIO.releaseLater`), the deadline still holds.
 *
 * @param tasks What the handler left.
 * @param overrun Rejects when the call's deadline has passed, if it has one.
 * @param cancelOverrun Cancels that deadline's timer.
 * @returns Resolves once the tasks are done or the deadline has passed.
 *
 * @example
 * ```ts
 * import { settleAfterOutput } from "./run_call.ts";
 * await settleAfterOutput([() => Promise.resolve()], null, undefined);
 * ```
 */
export function settleAfterOutput(
  tasks: (() => Promise<void>)[],
  overrun: Promise<never> | null,
  cancelOverrun: (() => void) | undefined,
): Promise<void> {
  const left = Promise.allSettled(tasks.map((task) => task()));
  return (overrun ? Promise.race([left, overrun]) : left)
    .catch(() => {})
    .then(() => cancelOverrun?.());
}

/** Whether `error` is a write to our closed output, or was caused by one. */
function isOutputClosed(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof OutputClosed) return true;
  }
  return false;
}
