/**
 * The old file at a download's target, held by the agent while the command
 * line renames the part over it. Freeing a 100 MB file took the rename
 * 29–35 ms here (ext4 with `discard`), on the copy's critical path: with
 * the agent holding it, the rename only drops a name, and the agent frees
 * it after the call's connection closes, on a thread of Deno's blocking
 * pool, not on its own event loop (issue 21).
 *
 * The file is held by an `O_PATH` descriptor: opening one never opens the
 * file itself (no device driver, no FIFO that waits for a writer), and with
 * `O_NOFOLLOW` a link there is held as a link, never followed. Only a plain
 * file is held, the one seen by `lstat` before (same device and inode).
 *
 * Linux with glibc and FFI only (as `lib/libc.ts`); anywhere else nothing is
 * held, and the rename frees the file as it does without an agent.
 *
 * @module
 */
import { openLibc } from "../libc.ts";

/** `open`'s flags here: `O_PATH | O_NOFOLLOW | O_CLOEXEC`, by architecture. */
const FLAGS: Record<string, number> = {
  x86_64: 0o10000000 | 0o400000 | 0o2000000,
  aarch64: 0o10000000 | 0o100000 | 0o2000000,
};

/** A file held open; `release()` lets go of it off the event loop. */
export interface HeldFile {
  /** Closes the descriptor on a thread of the blocking pool. */
  release(): Promise<void>;
}

type Libc = {
  open: (path: Uint8Array<ArrayBuffer>, flags: number) => Promise<number>;
  close: (fd: number) => Promise<number>;
};

/** The C library's `open` and `close`, once bound; null where there is none. */
let libc: Libc | null | undefined;

function bind(): Libc | null {
  return openLibc({
    open: { parameters: ["buffer", "i32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
  });
}

/**
 * Holds the plain file at `path` (an absolute path), when there is one.
 *
 * @param path The file to hold.
 * @returns The held file, or null: no plain file there, a file swapped
 *   between the look and the open, or no way to hold one on this system.
 *
 * @example
 * ```ts ignore
 * import { holdFile } from "./held_files.ts";
 * const held = await holdFile("/tmp/big.bin");
 * await Deno.rename("/tmp/.big.bin.sessh-part", "/tmp/big.bin");
 * await held?.release(); // the old file is freed here
 * ```
 */
export async function holdFile(path: string): Promise<HeldFile | null> {
  const flags = FLAGS[Deno.build.arch];
  if (flags === undefined || !path.startsWith("/") || path.includes("\0")) {
    return null;
  }
  const seen = await Deno.lstat(path).catch(() => null);
  if (!seen?.isFile) return null;
  libc ??= bind();
  if (!libc) return null;
  const { open, close } = libc;
  const fd = await open(new TextEncoder().encode(`${path}\0`), flags)
    .catch(() => -1);
  if (fd < 0) return null;
  // The descriptor's own file: a link or another file put there since the
  // look is let go of at once.
  const held = await Deno.stat(`/proc/self/fd/${fd}`).catch(() => null);
  if (!held?.isFile || held.dev !== seen.dev || held.ino !== seen.ino) {
    await close(fd).catch(() => {});
    return null;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await close(fd).catch(() => {});
    },
  };
}
