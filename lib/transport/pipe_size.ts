/**
 * A wider pipe from a bridge's ssh. A pipe holds 64 KiB unless resized, and
 * ssh passes a channel on in packets of 32 KiB: a flood through the local
 * agent then cost it a read, a write and a wake-up per packet, which made
 * the agent the costliest hop of a follow. With room for 1 MiB, a reader
 * that was busy finds many packets at once. Deno cannot resize a pipe, so
 * this calls `fcntl(F_SETPIPE_SZ)` in the C library (Linux only, and only
 * when the process may use FFI; anywhere else pipes keep their size).
 *
 * @module
 */
import { openLibc } from "../libc.ts";

/** What a pipe is widened to: the most Linux lets a user ask for. */
export const PIPE_SIZE = 1 << 20;

/**
 * Children of this process whose output pipe is widened at once. A user's
 * pipes share a soft limit (`pipe-user-pages-soft`, 64 MiB by default), past
 * which the kernel gives every new pipe of theirs two pages: an agent bridged
 * to fifty hosts must not shrink the pipes of the user's other programs.
 */
export const WIDE_PIPES_MAX = 16;

const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;

type Fcntl = (fd: number, command: number, value: number) => Promise<number>;

// Loaded on the first bridge: a call that opens none never pays for it.
let fcntl: Fcntl | null | undefined;
let widePipes = 0;

/** Where a `/proc` descriptor link points, or null without one. */
function linkTarget(path: string): string | null {
  try {
    return Deno.readLinkSync(path);
  } catch {
    return null;
  }
}

function loadFcntl(): Fcntl | null {
  if (fcntl !== undefined) return fcntl;
  fcntl = openLibc({
    fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  })?.fcntl ?? null;
  return fcntl;
}

/**
 * Widens the pipe this process reads a child's stdout from to
 * {@linkcode PIPE_SIZE}, where it can and while fewer than
 * {@linkcode WIDE_PIPES_MAX} of its children hold one; the child's share
 * is given back when it exits. The pipe is found as the one the child
 * holds as its descriptor 1.
 *
 * @param child The child, its stdout piped (by its first flood, or just
 *   spawned).
 * @returns Whether the pipe was widened.
 *
 * @example
 * ```ts
 * import { widenChildOutput } from "./pipe_size.ts";
 * const child = new Deno.Command("cat", { stdin: "piped", stdout: "piped" })
 *   .spawn();
 * console.log(await widenChildOutput(child)); // true on Linux
 * await child.stdin.close();
 * await child.output();
 * ```
 */
export async function widenChildOutput(
  child: Deno.ChildProcess,
): Promise<boolean> {
  const call = loadFcntl();
  if (!call || widePipes >= WIDE_PIPES_MAX) return false;
  const pipe = linkTarget(`/proc/${child.pid}/fd/1`);
  if (!pipe?.startsWith("pipe:")) return false;
  let fd = -1;
  try {
    for (const entry of Deno.readDirSync("/proc/self/fd")) {
      if (linkTarget(`/proc/self/fd/${entry.name}`) === pipe) {
        fd = Number(entry.name);
      }
    }
  } catch {
    // No /proc: the pipe keeps its size.
  }
  if (fd < 0) return false;
  widePipes++;
  if (await call(fd, F_SETPIPE_SZ, PIPE_SIZE).catch(() => -1) < PIPE_SIZE) {
    widePipes--;
    return false;
  }
  child.status.finally(() => widePipes--).catch(() => {});
  return true;
}

/**
 * Widens this process's stdout to {@linkcode PIPE_SIZE} when it is a pipe
 * narrower than that. The command line writes a flood there (a follow's)
 * as the agent sends it, a MiB at a time: through a pipe of 64 KiB each
 * write waited on the reader sixteen times, and the command line read
 * nothing from the agent meanwhile. It is one pipe, the process's own, so
 * it takes no share of {@linkcode WIDE_PIPES_MAX}; a pipe already wider
 * (or a terminal, a file) is left as it is.
 *
 * @returns Whether the pipe was widened.
 *
 * @example
 * ```ts ignore
 * import { widenStdout } from "./pipe_size.ts";
 * await widenStdout(); // true when stdout is a pipe of 64 KiB, on Linux
 * ```
 */
export async function widenStdout(): Promise<boolean> {
  const call = linkTarget("/proc/self/fd/1")?.startsWith("pipe:")
    ? loadFcntl()
    : null;
  if (!call) return false;
  const size = await call(1, F_GETPIPE_SZ, 0).catch(() => -1);
  if (size < 0 || size >= PIPE_SIZE) return false;
  return await call(1, F_SETPIPE_SZ, PIPE_SIZE).catch(() => -1) >= PIPE_SIZE;
}
