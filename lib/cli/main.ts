/**
 * The command line's body: everything a call does once `cli.ts` has seen
 * that it is more than `--version`. It is loaded by dynamic import, so that
 * the answers that need none of it come at the cost of Deno's own start.
 * The call itself (parsing, the handler, printing its outcome) is
 * `run_call.ts`, which the local agent runs too; this module adds what
 * belongs to the process: the terminal's streams, signals, and stopping
 * its children when a call overruns its deadline.
 *
 * @module
 */
import { OutputClosed, OVERRUN_MS, overrunError, runCall } from "./run_call.ts";
import { markPhase } from "../phases.ts";
import { killChildren, liveChildPids } from "../process.ts";
import {
  armWith,
  runCleanups,
  STOP_SIGNALS,
  type StopSignal,
} from "../interrupt.ts";
import { startTimer, useExitBoundTimers } from "../timer.ts";

const encoder = new TextEncoder();

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
  try {
    const code = await runCall(args, {
      env: Deno.env.toObject(),
      stdout: {
        write: (data) => write(Deno.stdout, data),
        writeSync: (text) => writeSync(Deno.stdout, text),
      },
      stderr: {
        write: (data) => write(Deno.stderr, data),
        writeSync: (text) => writeSync(Deno.stderr, text),
      },
      // The listener costs 3 ms of start-up, so it is added on first use.
      signal: () => {
        if (!listening) {
          if (!armed) Deno.addSignalListener("SIGINT", onInterrupt);
          listening = true;
        }
        return abort.signal;
      },
      holdTo: (ms) => {
        let cancel = () => {};
        const late = new Promise<never>((_, reject) => {
          cancel = startTimer(ms + OVERRUN_MS, () => {
            killChildren();
            reject(overrunError(ms));
          });
        });
        return { late, cancel };
      },
      stopped: () => stopping,
      ownsProcess: true,
    });
    return code === "decline" ? 1 : code;
  } finally {
    armWith(undefined);
    if (listening || armed) Deno.removeSignalListener("SIGINT", onInterrupt);
    if (armed) {
      for (const [name, stop] of Object.entries(stoppers)) {
        Deno.removeSignalListener(name as StopSignal, stop);
      }
    }
  }
}
