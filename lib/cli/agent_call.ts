/**
 * The agent's side of a thin call (`thin_client.ts`): the call's words run
 * here, in the local agent, through the same {@linkcode runCall} as the
 * command line's, with the caller's environment, its output sent back as
 * records. Only the calls the fast path reads are taken, and of those not
 * `cp` (it reads and writes the caller's files): anything else is declined,
 * and the client runs it itself.
 *
 * @module
 */
import { OutputClosed, OVERRUN_MS, overrunError, runCall } from "./run_call.ts";
import { startTimer } from "../timer.ts";
import { anchoredPath } from "../transport/lease.ts";
import { RECORD, type ThinCall } from "../transport/thin_wire.ts";
import type { ThinIO } from "../agent/server.ts";

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
    stopped: () => null,
    // Not `cp`: it reads and writes the caller's files.
    only: (verb) => verb !== "cp",
    releaseLater: true,
    cancel: io.left,
  });
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
