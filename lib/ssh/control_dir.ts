/**
 * Where ssh's ControlMaster sockets live, and making sure that place is
 * private: a directory we own, mode 0700, not a symlink.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import {
  type ChooseControlDirOptions,
  MAX_CONTROL_DIR_BYTES,
  MAX_SOCKET_PATH_BYTES,
  pickControlDir,
  type Platform,
} from "./control_dir_rule.ts";

export {
  type ChooseControlDirOptions,
  MAX_CONTROL_DIR_BYTES,
  MAX_SOCKET_PATH_BYTES,
  type Platform,
};

/**
 * Picks the control socket directory: `SESSH_CONTROL_DIR`, else the
 * default for the platform. See {@linkcode chooseControlDir} for the rule.
 * Nothing is created; see {@linkcode ensureControlDir}.
 *
 * @param env The environment to read, e.g. `Deno.env.toObject()`.
 * @returns An absolute directory path.
 * @throws {UsageError} when `SESSH_CONTROL_DIR` is relative or too long.
 *
 * @example
 * ```ts
 * import { controlDir } from "./control_dir.ts";
 * console.log(controlDir({ SESSH_CONTROL_DIR: "/tmp/ctl" })); // "/tmp/ctl"
 * ```
 */
export function controlDir(env: Record<string, string | undefined>): string {
  return chooseControlDir({ os: Deno.build.os, env, uid: Deno.uid() });
}

/**
 * The rule for the control directory (see {@linkcode pickControlDir}), with
 * a bad environment thrown as a {@linkcode UsageError}.
 *
 * @param platform The system, environment and user id.
 * @param options How to tell that a directory exists.
 * @returns An absolute directory path.
 * @throws {UsageError} when `SESSH_CONTROL_DIR` is relative or too long,
 * or on Windows when no variable names a place.
 *
 * @example
 * ```ts
 * import { chooseControlDir } from "./control_dir.ts";
 * const env = { TMPDIR: "/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/" };
 * console.log(chooseControlDir({ os: "darwin", env, uid: 501 })); // "/tmp/sessh-501"
 * ```
 */
export function chooseControlDir(
  platform: Platform,
  options: ChooseControlDirOptions = {},
): string {
  const picked = pickControlDir(platform, options);
  if (typeof picked !== "string") throw new UsageError(picked.problem);
  return picked;
}

/**
 * Creates the control directory if needed (mode 0700, parents too) and
 * checks it is safe to put sockets in: a real directory, not a symlink,
 * owned by us, mode exactly 0700. A directory we just created gets its
 * mode fixed; an existing one with the wrong owner or mode is refused.
 *
 * @param path The directory from {@linkcode controlDir}.
 * @throws {UsageError} when the directory is not private.
 *
 * @example
 * ```ts
 * import { ensureControlDir } from "./control_dir.ts";
 * const dir = await Deno.makeTempDir();
 * await ensureControlDir(`${dir}/ctl`);
 * console.log((await Deno.lstat(`${dir}/ctl`)).mode! & 0o777); // 448 (0o700)
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function ensureControlDir(path: string): Promise<void> {
  const created = await makeDirectory(path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    throw unsafe(path, `cannot be inspected (${(error as Error).message})`);
  }
  if (info.isSymlink) throw unsafe(path, "is a symlink");
  if (!info.isDirectory) throw unsafe(path, "is not a directory");
  const uid = Deno.uid();
  if (info.uid !== uid) {
    throw unsafe(path, `is owned by uid ${info.uid}, not by us (uid ${uid})`);
  }
  const mode = (info.mode ?? 0) & 0o7777;
  if (mode === 0o700) return;
  if (!created) {
    throw unsafe(
      path,
      `has mode ${mode.toString(8).padStart(4, "0")}; run chmod 700 on it`,
    );
  }
  await Deno.chmod(path, 0o700);
}

/** Returns whether the directory was created by this call. */
async function makeDirectory(path: string): Promise<boolean> {
  try {
    await Deno.mkdir(path, { mode: 0o700 });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    if (!(error instanceof Deno.errors.NotFound)) {
      throw unsafe(path, `cannot be created (${(error as Error).message})`);
    }
  }
  const parent = path.replace(/\/[^/]+\/*$/, "") || "/";
  await Deno.mkdir(parent, { recursive: true, mode: 0o700 });
  return await makeDirectory(path);
}

function unsafe(path: string, problem: string): UsageError {
  return new UsageError(
    `Control directory "${path}" ${problem}; fix it or set SESSH_CONTROL_DIR to a private directory`,
  );
}
