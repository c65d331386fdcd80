/**
 * Wider pipes to a bridge's ssh. A pipe holds 64 KiB unless resized, and
 * ssh passes a channel on in packets of 32 KiB: a flood through the local
 * agent then cost it a read, a write and a wake-up per packet, which made
 * the agent the costliest hop of a follow. With room for 1 MiB, a reader
 * that was busy finds many packets at once, and a write of an upload's
 * part goes in one piece. Deno cannot resize a pipe, so this calls
 * `fcntl(F_SETPIPE_SZ)` in the C library (Linux only, and only when the
 * process may use FFI; anywhere else pipes keep their size).
 *
 * @module
 */

/** What the pipes are widened to: Linux's default limit for a user. */
export const PIPE_SIZE = 1 << 20;

const F_SETPIPE_SZ = 1031;

type Fcntl = (fd: number, command: number, value: number) => number;

// Loaded on the first bridge: a call that opens none never pays for it.
let fcntl: Fcntl | null | undefined;

function loadFcntl(): Fcntl | null {
  if (fcntl !== undefined) return fcntl;
  fcntl = null;
  if (Deno.build.os !== "linux") return null;
  try {
    // Queried, not asked for: a prompt would stop a script in its tracks.
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return null;
    }
    const libc = Deno.dlopen("libc.so.6", {
      fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
    });
    fcntl = libc.symbols.fcntl;
  } catch {
    // Another C library (musl), or no FFI in this runtime.
  }
  return fcntl;
}

/**
 * Widens this process's pipes to a child's stdin and stdout to
 * {@linkcode PIPE_SIZE}, where it can: they are found by the pipes the
 * child holds as its descriptors 0 and 1.
 *
 * @param pid The child, just spawned with both piped.
 * @returns How many pipes were widened (0 where it cannot).
 *
 * @example
 * ```ts
 * import { widenChildPipes } from "./pipe_size.ts";
 * const child = new Deno.Command("cat", { stdin: "piped", stdout: "piped" })
 *   .spawn();
 * console.log(widenChildPipes(child.pid)); // 2 on Linux
 * await child.stdin.close();
 * await child.output();
 * ```
 */
export function widenChildPipes(pid: number): number {
  const call = loadFcntl();
  if (!call) return 0;
  const link = (path: string) => {
    try {
      return Deno.readLinkSync(path);
    } catch {
      return null;
    }
  };
  const pipes = new Set(
    [link(`/proc/${pid}/fd/0`), link(`/proc/${pid}/fd/1`)]
      .filter((name) => name?.startsWith("pipe:")),
  );
  let widened = 0;
  try {
    for (const entry of Deno.readDirSync("/proc/self/fd")) {
      if (!pipes.has(link(`/proc/self/fd/${entry.name}`))) continue;
      if (call(Number(entry.name), F_SETPIPE_SZ, PIPE_SIZE) >= PIPE_SIZE) {
        widened++;
      }
    }
  } catch {
    // No /proc: the pipes keep their size.
  }
  return widened;
}
