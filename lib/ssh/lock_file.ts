/**
 * An exclusive advisory lock on a file, shared by every sessh process on
 * this machine, so that only one of them sets up a destination's master
 * at a time. The kernel drops the lock when its holder dies, so a crash
 * never leaves a stale lock behind.
 *
 * @module
 */

import { TimeoutError } from "../errors.ts";

/** A held lock; dispose it (or call `release`) to let the next process in. */
export interface FileLock extends AsyncDisposable {
  /** The lock file's path. */
  path: string;
  /** Releases the lock and closes the file. Safe to call twice. */
  release(): void;
}

/** Options for {@linkcode acquireLock}. */
export interface AcquireLockOptions {
  /**
   * Give up after this many milliseconds.
   * @default {30000}
   */
  timeoutMs?: number;
  /** Names what the lock protects, for the timeout message. */
  purpose?: string;
}

const POLL_MS = 50;

/**
 * Takes an exclusive `flock` on `path`, creating the file (mode 0600) if
 * needed, and polls with a timeout instead of blocking: a blocked lock
 * call cannot be cancelled and would keep the process alive.
 *
 * @param path Lock file path; its directory must exist.
 * @param options Timeout and what to call the lock in messages.
 * @returns The held lock.
 * @throws {TimeoutError} when another process holds it for too long.
 *
 * @example
 * ```ts
 * import { acquireLock } from "./lock_file.ts";
 * const dir = await Deno.makeTempDir();
 * {
 *   await using _lock = await acquireLock(`${dir}/x.lock`, { timeoutMs: 1000 });
 *   // Only one process at a time gets here.
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function acquireLock(
  path: string,
  options: AcquireLockOptions = {},
): Promise<FileLock> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const file = await Deno.open(path, {
    create: true,
    read: true,
    write: true,
    mode: 0o600,
  });
  const deadline = Date.now() + timeoutMs;
  try {
    while (!(await file.tryLock(true))) {
      if (Date.now() >= deadline) {
        throw new TimeoutError(
          `Timed out after ${
            Math.round(timeoutMs / 1000)
          } s waiting for another sessh process ` +
            `to finish ${
              options.purpose ?? "its work"
            } (lock ${path}); try again, or stop that process`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } catch (error) {
    file.close();
    throw error;
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    // Closing the file drops the flock.
    file.close();
  };
  return {
    path,
    release,
    [Symbol.asyncDispose]: () => Promise.resolve(release()),
  };
}
