/**
 * The agent's side of a thin call (`thin_client.ts`): the call's words run
 * here, in the local agent, through the same {@linkcode runCall} as the
 * command line's, with the caller's environment, its output sent back as
 * records. Only the calls the fast path reads are taken; anything else is
 * declined, and the client runs it itself.
 *
 * A `cp` is taken too, as the caller would run it: its local path from the
 * caller's directory, under the caller's umask (or declined), stopped by
 * the caller's signal with steps of its own that say what it left, its
 * progress bar drawn on the caller's terminal through its stderr records.
 *
 * @module
 */
import { OutputClosed, OVERRUN_MS, overrunError, runCall } from "./run_call.ts";
import { startTimer } from "../timer.ts";
import { stepsOfCall, STOP_SIGNALS } from "../interrupt.ts";
import { anchoredPath } from "../transport/lease.ts";
import { RECORD, type ThinCall } from "../transport/thin_wire.ts";
import type { ThinIO } from "../agent/server.ts";

/** How long a stopped copy's steps (sftp ended, its part removed) may take. */
const STOP_STEPS_MS = 4000;

/** The flags whose value is a local file that ssh reads. */
const PATH_FLAGS = new Set(["-i", "--identity", "-F", "--config"]);

const encoder = new TextEncoder();

/**
 * Runs `call` for its client, or declines it.
 *
 * @param call What the client sent.
 * @param io Its way back.
 * @returns The exit code, or `"decline"` (nothing was written).
 *
 * @example
 * ```ts ignore
 * import { runThinCall } from "./agent_call.ts";
 * await runAgent({ controlDir, runCall: runThinCall });
 * ```
 */
export async function runThinCall(
  call: ThinCall,
  io: ThinIO,
): Promise<number | "decline"> {
  const argv = absolutePaths(call.argv, call.cwd);
  // A copy's clean-up steps, run when its client is stopped or leaves.
  const runSteps = stepsOfCall(io.interrupted);
  let steps: Promise<string[]> | null = null;
  io.interrupted.addEventListener("abort", () => {
    steps = runSteps(STOP_STEPS_MS);
  }, { once: true });
  let copying = false;
  const out = (kind: typeof RECORD.stdout | typeof RECORD.stderr) => {
    const write = async (data: string | Uint8Array) => {
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      // Nothing to write (the empty output of `true`) is no record: the
      // client would wake for it while the exit code is on its way.
      if (bytes.length === 0) return;
      try {
        await io.send(kind, bytes);
      } catch (error) {
        // The client went away: as a reader that left the command line.
        throw new OutputClosed(error);
      }
    };
    return {
      write,
      // Only help and usage errors are written at once, and the fast path
      // reads neither.
      writeSync: (text: string) => void write(text).catch(() => {}),
    };
  };
  return await runCall(argv, {
    env: call.env,
    stdout: out(RECORD.stdout),
    stderr: out(RECORD.stderr),
    signal: () => io.interrupted,
    holdTo: (ms) => {
      // The client holds itself to the same deadline, a little later.
      const deadline = new Uint8Array(4);
      new DataView(deadline.buffer).setUint32(0, ms);
      io.send(RECORD.deadline, deadline).catch(() => {});
      let cancel = () => {};
      const late = new Promise<never>((_, reject) => {
        // Unlike the command line, the agent kills no child here: its
        // children are other calls' bridges. What this call holds is the
        // connection it leased, released when its handler ends by the
        // library's own deadline.
        cancel = startTimer(ms + OVERRUN_MS, () => reject(overrunError(ms)));
      });
      return { late, cancel };
    },
    // A follow stopped by Ctrl-C ends as usual; a copy says what it left.
    stopped: () => {
      const name = io.stoppedBy();
      if (name === null || !copying) return null;
      return (async () => {
        const notes = await (steps ?? runSteps(STOP_STEPS_MS));
        const left = notes.length > 0 ? notes.join("; ") : "nothing was left";
        await io.send(
          RECORD.stderr,
          encoder.encode(`sessh: stopped by ${name}: ${left}\n`),
        ).catch(() => {});
        return STOP_SIGNALS[name];
      })();
    },
    only: (fast) => fast.verb !== "cp" || (copying = takesCopy(call)),
    releaseLater: true,
    cancel: io.left,
    cwd: call.cwd,
    stop: io.interrupted,
    barColumns: call.stderrTerminal ? call.barColumns : undefined,
  });
}

/**
 * Whether the agent runs this `cp` for its client: under the client's
 * umask (a download's files are made here), and, when its progress bar
 * would show on the client's terminal, told that terminal's width.
 *
 * @param call The client's call.
 * @returns Whether to take it.
 */
export function takesCopy(call: ThinCall): boolean {
  const end = call.argv.indexOf("--");
  const head = end < 0 ? call.argv : call.argv.slice(0, end);
  const json = head.includes("--json") || call.env.SESSH_JSON === "1";
  return call.umask !== undefined && call.umask === ownUmask() &&
    (json || !call.stderrTerminal || call.barColumns !== undefined);
}

let umask: number | null | undefined;

/**
 * This process's umask, or null where the system has none (Windows). Read
 * from /proc where there is one: `Deno.umask()` sets the mask to read it,
 * for a moment in which another call's file could be made under another.
 */
function ownUmask(): number | null {
  if (umask !== undefined) return umask;
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const found = /^Umask:\s*([0-7]+)$/m.exec(status);
    if (found) return umask = parseInt(found[1], 8);
  } catch { /* no /proc: below */ }
  try {
    return umask = Deno.umask();
  } catch {
    return umask = null;
  }
}

/**
 * `argv` with the values of `-i` and `-F` made absolute against the
 * caller's directory: ssh, started by the agent, would read them from the
 * agent's. `~` is left for ssh to expand, as it does.
 *
 * @param argv The call's arguments.
 * @param cwd The caller's working directory.
 * @returns The arguments to run.
 */
export function absolutePaths(argv: string[], cwd: string): string[] {
  const end = argv.indexOf("--");
  return argv.map((word, i) => {
    const flag = argv[i - 1];
    if (i === 0 || (end >= 0 && i > end) || !PATH_FLAGS.has(flag)) return word;
    return word.startsWith("-") ? word : anchoredPath(word, () => cwd);
  });
}
