/**
 * The thin client's side of a handover (`RECORD.handover`): the local
 * agent sends, for `logs --follow --raw`, the `ssh` command of a raw follow
 * (`lib/session/raw_follow.ts`), and the client runs it with its own stdout
 * as ssh's. The session's output then goes from the daemon through ssh's
 * master into that stdout, copied by no sessh process on the way, as
 * `ssh DEST cat` goes (issue 21). What the helper tells on stderr becomes
 * the notices the command line's follow prints.
 *
 * Loaded by the thin client only when a handover comes: a leaf, as the
 * thin client is.
 *
 * @module
 */
import type { Handover } from "../transport/thin_wire.ts";

/**
 * How long the helper may take to say that it follows: the follow itself
 * has no end, but its start does. Past it (a frozen master or host) the
 * command is killed and the call goes on the command line's own path,
 * which has its deadlines and says what was wrong.
 */
const START_MS = 15_000;

/** The prefix of each line the helper's follow tells (`bridge.follow`). */
export const FOLLOW_LINE = "SESSH-FOLLOW ";

/** What a line of the helper's follow says. */
export type FollowLine =
  | { kind: "start"; cursor: number }
  | { kind: "gap"; start: number; end: number }
  | { kind: "exit"; status: number }
  | { kind: "error"; code: string; message: string };

/**
 * Reads one line of a raw follow's stderr: what the helper told, or null
 * for any other line (ssh's own).
 *
 * @param line The line, without its newline.
 * @returns What it says, or null.
 *
 * @example
 * ```ts
 * import { parseFollowLine } from "./handover.ts";
 * console.log(parseFollowLine("SESSH-FOLLOW gap 10 20")); // { kind: "gap", start: 10, end: 20 }
 * console.log(parseFollowLine("Connection closed")); // null
 * ```
 */
export function parseFollowLine(line: string): FollowLine | null {
  if (!line.startsWith(FOLLOW_LINE)) return null;
  const [kind, ...rest] = line.slice(FOLLOW_LINE.length).split(" ");
  const ints = rest.map((word) => /^\d+$/.test(word) ? Number(word) : NaN);
  const whole = !ints.some(Number.isNaN);
  if (kind === "start" && ints.length === 1 && whole) {
    return { kind, cursor: ints[0] };
  }
  if (kind === "gap" && ints.length === 2 && whole) {
    return { kind, start: ints[0], end: ints[1] };
  }
  if (kind === "exit" && ints.length === 1 && whole) {
    return { kind, status: ints[0] };
  }
  if (kind === "error" && rest.length >= 1) {
    return { kind, code: rest[0], message: rest.slice(1).join(" ") };
  }
  return null;
}

/**
 * Runs a handed-over follow with this process's stdout, until the shell
 * exits, the user stops it (Ctrl-C: 0, as the command line's follow), or
 * the link goes.
 *
 * @param handover The command and its request.
 * @returns The exit code; null when the helper did not begin (refused, or
 *   not there): nothing was written, and the command line's own path runs
 *   the call and says why.
 *
 * @example
 * ```ts ignore
 * import { runHandover } from "./handover.ts";
 * const code = await runHandover({ argv: ["ssh", "box", "…"], input });
 * ```
 */
export async function runHandover(handover: Handover): Promise<number | null> {
  const child = new Deno.Command(handover.argv[0], {
    args: handover.argv.slice(1),
    stdin: "piped",
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  // A pipe's reader is woken for each pipeful the master writes: widened
  // (to 1 MiB, on Linux), a flood takes a sixteenth of the wake-ups. Done
  // while ssh starts, not before.
  import("../transport/pipe_size.ts").then((pipes) => pipes.widenStdout())
    .catch(() => {});
  let interrupted = false;
  const kill = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* it has exited */ }
  };
  const interrupt = () => {
    interrupted = true;
    kill();
  };
  Deno.addSignalListener("SIGINT", interrupt);
  let started = false;
  const late = setTimeout(() => started || kill(), START_MS);
  let exit: number | null = null;
  // ssh's own lines wait until the helper follows: before, a call that
  // goes on the command line's path says what went wrong itself.
  const held: string[] = [];
  try {
    const writer = child.stdin.getWriter();
    await writer.write(handover.input).catch(() => {});
    await writer.close().catch(() => {});
    for await (const line of lines(child.stderr)) {
      const said = parseFollowLine(line);
      if (said === null) {
        if (started) notice(line);
        else held.push(line);
      } else if (said.kind === "start") {
        started = true;
        held.splice(0).forEach(notice);
      } else if (said.kind === "gap") {
        notice(
          `sessh: ${
            said.end - said.start
          } bytes of output went by unseen (this reader fell behind the buffer); following from cursor ${said.end}`,
        );
      } else if (said.kind === "exit") {
        exit = said.status;
      }
    }
    const status = await child.status;
    if (!started) return interrupted ? 0 : null;
    if (exit !== null) {
      notice(`sessh: the shell exited with status ${exit}`);
      return 0;
    }
    if (interrupted) return 0;
    // ssh ends with 255 both when its master finds the reader gone
    // (`| head -1`) and when the link is lost: only our stdout tells.
    const gone = await readerGone();
    if (gone === true || status.signal === "SIGPIPE") return 141;
    notice(
      `sessh: the follow ended before the shell exited: ${
        gone === null ? "its reader left, or " : ""
      }the connection to the host or its sessh daemon was lost; follow again with sessh logs --follow`,
    );
    return 255;
  } finally {
    clearTimeout(late);
    Deno.removeSignalListener("SIGINT", interrupt);
  }
}

const POLLOUT = 4;
const POLLERR = 8;

/**
 * Whether this process's stdout is a pipe whose reader has gone, as
 * `poll(2)` tells it (`POLLERR`); null where it cannot be asked (glibc by
 * FFI only, `lib/libc.ts`).
 */
async function readerGone(): Promise<boolean | null> {
  const { openLibc } = await import("../libc.ts");
  const libc = openLibc({
    poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  });
  if (libc === null) return null;
  // struct pollfd { int fd; short events; short revents; }
  const entry = new DataView(new ArrayBuffer(8));
  entry.setInt32(0, 1, true);
  entry.setInt16(4, POLLOUT, true);
  const ready = await libc.poll(new Uint8Array(entry.buffer), 1n, 0);
  return ready > 0 && (entry.getInt16(6, true) & POLLERR) !== 0;
}

/** The lines of a stream, as text. */
async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop() ?? "";
    yield* parts;
  }
  if (rest !== "") yield rest;
}

/** A line on stderr; nothing when nobody reads it. */
function notice(line: string): void {
  const bytes = new TextEncoder().encode(line + "\n");
  try {
    let written = 0;
    while (written < bytes.length) {
      written += Deno.stderr.writeSync(bytes.subarray(written));
    }
  } catch { /* nobody reads it */ }
}
