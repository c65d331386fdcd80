/**
 * The command line's body: everything a call does once `cli.ts` has seen
 * that it is more than `--version`. It is loaded by dynamic import, so that
 * the answers that need none of it come at the cost of Deno's own start.
 * The commonest calls (a plain `run`, `logs`, `status`, …) are read by the
 * fast path (`fast_path.ts`); every other call loads the full parser
 * (`parse.ts`).
 *
 * @module
 */
import { helpWords, refuseGluedSshFlags, splitPayload } from "./args.ts";
import type { ProgramContext } from "./context.ts";
import { fastCall } from "./fast_path.ts";
import type { Outcome } from "./call.ts";
import { SesshError } from "../errors.ts";
import { markPhase } from "../phases.ts";
import { killChildren, liveChildPids } from "../process.ts";
import {
  armWith,
  runCleanups,
  STOP_SIGNALS,
  type StopSignal,
} from "../interrupt.ts";
import { type CancelTimer, startTimer, useExitBoundTimers } from "../timer.ts";
import { loadXtermAlone } from "../render/_terminal.ts";

const encoder = new TextEncoder();

/**
 * This process's own output (stdout or stderr) was closed by its reader
 * (`| head -1`). Only this ends a call with 141: a broken pipe to ssh or to
 * the agent is a failure of the call, reported as one.
 */
class OutputClosed extends Error {
  constructor(cause: unknown) {
    super("The reader of sessh's output went away", { cause });
  }
}

function brokenPipe(error: unknown): unknown {
  return error instanceof Deno.errors.BrokenPipe
    ? new OutputClosed(error)
    : error;
}

// Help is written synchronously: the process may exit right after parsing.
function writeSync(stream: typeof Deno.stdout, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  try {
    while (written < bytes.length) {
      written += stream.writeSync(bytes.subarray(written));
    }
  } catch (error) {
    throw brokenPipe(error);
  }
}

/**
 * Writes all of `data` to `stream`.
 *
 * @param stream Where to write.
 * @param data Text or bytes.
 */
export async function write(
  stream: typeof Deno.stdout,
  data: string | Uint8Array,
): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  let written = 0;
  try {
    while (written < bytes.length) {
      written += await stream.write(bytes.subarray(written));
    }
  } catch (error) {
    throw brokenPipe(error);
  }
}

/**
 * How far past its deadline a call may run before it is stopped from
 * outside. The library ends calls by their deadline itself; this is the
 * guarantee that no wait on ssh, a frozen master or a dead link can outlast
 * the deadline by more than 2 s.
 */
const OVERRUN_MS = 1800;

function overrunError(deadlineMs: number): SesshError {
  const error = new SesshError(
    "timeout",
    `The call did not end within its ${
      deadlineMs / 1000
    } s deadline; everything it started was stopped. Whether the command reached the host is unknown: check with sessh status`,
    124,
    { delivery: "unknown" },
  );
  return error;
}

/** Set once a signal stops the command: nothing else reports or exits. */
let stopping: Promise<never> | null = null;

/**
 * A signal ends the command: the steps work in progress registered (sftp
 * stopped, parts removed), then every child still running, then one line
 * of what was left, and exit 128 + the signal's number.
 */
function stopOn(name: StopSignal): Promise<never> {
  stopping ??= (async () => {
    const notes = await runCleanups(4000);
    const pids = liveChildPids();
    killChildren();
    if (pids.length > 0) {
      notes.push(
        `ended ${pids.length} child process${
          pids.length === 1 ? "" : "es"
        } (pid ${pids.join(", ")})`,
      );
    }
    const left = notes.length > 0 ? notes.join("; ") : "nothing was left";
    await write(Deno.stderr, `sessh: stopped by ${name}: ${left}\n`)
      .catch(() => {});
    Deno.exit(STOP_SIGNALS[name]);
  })();
  return stopping;
}

function printJson(value: unknown): Promise<void> {
  return write(Deno.stdout, JSON.stringify(value) + "\n");
}

/**
 * Runs the command line and returns the exit code.
 *
 * @param args Arguments after the program name.
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  markPhase("loaded");
  // A call ends with Deno.exit (below), so its timers may be the cheap ones
  // that cannot be cancelled; the long-lived roles (`agent`, `mcp`) switch
  // back before they start one.
  useExitBoundTimers();
  const env = Deno.env.toObject();
  const { head, payload } = splitPayload(args);
  const json = head.includes("--json") || env.SESSH_JSON === "1";
  // --json may also come before the verb, as a global option.
  const words = helpWords(head[0] === "--json" ? head.slice(1) : head);
  const verb = words.find((a) => !a.startsWith("-")) ?? "";
  const abort = new AbortController();
  let listening = false;
  let armed = false;
  // Only `logs --follow` is stopped by Ctrl-C rather than ended by it.
  const onInterrupt = () => listening ? abort.abort() : stopOn("SIGINT");
  const stoppers = {
    SIGHUP: () => stopOn("SIGHUP"),
    SIGTERM: () => stopOn("SIGTERM"),
  };
  armWith(() => {
    armed = true;
    for (const [name, stop] of Object.entries(stoppers)) {
      Deno.addSignalListener(name as StopSignal, stop);
    }
    if (!listening) Deno.addSignalListener("SIGINT", onInterrupt);
  });
  let outcome: Promise<Outcome> | null = null;
  let overrun: Promise<never> | null = null;
  let cancelOverrun: CancelTimer | undefined;
  let argumentError: unknown = null;
  const afterOutput: (() => Promise<void>)[] = [];
  const context: ProgramContext = {
    process: {
      stdout: { write: (text) => writeSync(Deno.stdout, text) },
      // Argument errors arrive through onArgumentError and are reported
      // below; Stricli's empty line for them is dropped.
      stderr: {
        write: (text) => {
          if (argumentError === null) writeSync(Deno.stderr, text);
        },
      },
    },
    env,
    payload,
    sink: {
      write: (data) => write(Deno.stdout, data),
      json,
      notice: (line) =>
        json ? Promise.resolve() : write(Deno.stderr, line + "\n"),
      // Only `logs --follow` is stopped by Ctrl-C rather than killed by it;
      // the listener costs 3 ms of start-up, so it is added on first use.
      get signal() {
        if (!listening) {
          if (!armed) Deno.addSignalListener("SIGINT", onInterrupt);
          listening = true;
        }
        return abort.signal;
      },
    },
    done: (p) => outcome = p,
    afterOutput: (task) => afterOutput.push(task),
    endBy: (ms) => {
      overrun = new Promise<never>((_, reject) => {
        cancelOverrun = startTimer(ms + OVERRUN_MS, () => {
          killChildren();
          reject(overrunError(ms));
        });
      });
    },
  };
  try {
    refuseGluedSshFlags(words);
    const fast = fastCall(words, payload);
    if (fast) {
      // A verb the fast path reads runs no code but sessh's until it exits
      // (the MCP server, which does, is never one): xterm.js may load
      // without Node's `process` (`screen`, rendered `logs` and `wait`).
      loadXtermAlone();
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
          await write(Deno.stderr, `sessh: ${error.message}${hint}\n`);
          return error.exitCode;
        }
        throw error;
      }
    }
    if (!outcome) return context.process.exitCode ? 2 : 0;
    const result: Outcome =
      await (overrun ? Promise.race([outcome, overrun]) : outcome);
    if (stopping) await stopping;
    markPhase("outcome");
    if (json) {
      await printJson({ ok: true, op: result.op, ...result.fields });
    } else {
      await write(Deno.stdout, result.text);
      if (result.notice) await write(Deno.stderr, result.notice + "\n");
    }
    markPhase("printed");
    return result.exitCode;
  } catch (error) {
    // A child a signal ended fails its call: the stop reports instead.
    if (stopping) await stopping;
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
    if (json) {
      await printJson({ ok: false, op: verb, error: failure });
    } else await write(Deno.stderr, `sessh: ${failure.message}\n`);
    return known ? error.exitCode : 1;
  } finally {
    // What the handler left for after its output (closing its connection,
    // starting the agent), still held to the call's deadline.
    if (afterOutput.length > 0) {
      const left = Promise.allSettled(afterOutput.map((task) => task()));
      await (overrun ? Promise.race([left, overrun]) : left).catch(() => {});
    }
    cancelOverrun?.();
    armWith(undefined);
    if (listening || armed) Deno.removeSignalListener("SIGINT", onInterrupt);
    if (armed) {
      for (const [name, stop] of Object.entries(stoppers)) {
        Deno.removeSignalListener(name as StopSignal, stop);
      }
    }
  }
}

/** Whether `error` is a write to our closed output, or was caused by one. */
function isOutputClosed(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof OutputClosed) return true;
  }
  return false;
}
