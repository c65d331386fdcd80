/**
 * Where ssh's ControlMaster sockets live, and making sure that place is
 * private: a directory we own, mode 0700, not a symlink.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/**
 * The longest control directory, in bytes, that still fits a socket path.
 * A Unix socket path holds at most 107 bytes; ssh's `%C` is 40 hex
 * characters and ssh first binds a temporary name with 17 more characters
 * (`.` and 16 random ones) before linking it into place.
 */
export const MAX_CONTROL_DIR_BYTES = 107 - 1 - 40 - 17;

/**
 * Picks the control socket directory: `SESSH_CONTROL_DIR`, else
 * `$XDG_RUNTIME_DIR/sessh`, else `/run/user/<uid>/sessh`, else
 * `<TMPDIR>/sessh-<uid>`. A candidate too long for socket paths (see
 * {@linkcode MAX_CONTROL_DIR_BYTES}) falls back to `/tmp/sessh-<uid>`.
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
  const uid = Deno.uid() ?? 0;
  // SESSH_CTRL_DIR is the bash sessh's name for it.
  const variable = env.SESSH_CONTROL_DIR
    ? "SESSH_CONTROL_DIR"
    : "SESSH_CTRL_DIR";
  const given = env[variable];
  const override = given && trimSlashes(given);
  if (override) {
    if (!override.startsWith("/")) {
      throw new UsageError(
        `${variable} "${override}" is not an absolute path; set it to a private directory such as /tmp/sessh-${uid}`,
      );
    }
    if (byteLength(override) > MAX_CONTROL_DIR_BYTES) {
      throw new UsageError(
        `${variable} "${override}" is ${
          byteLength(override)
        } bytes long; ssh socket paths need at most ${MAX_CONTROL_DIR_BYTES}, so pick a shorter directory`,
      );
    }
    return override;
  }
  const fallback = `/tmp/sessh-${uid}`;
  const candidate = chooseDefault(env, uid);
  return byteLength(candidate) > MAX_CONTROL_DIR_BYTES ? fallback : candidate;
}

function chooseDefault(
  env: Record<string, string | undefined>,
  uid: number,
): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime?.startsWith("/") && isDirectory(runtime)) {
    return `${trimSlashes(runtime)}/sessh`;
  }
  if (isDirectory(`/run/user/${uid}`)) return `/run/user/${uid}/sessh`;
  const tmp = env.TMPDIR?.startsWith("/") ? trimSlashes(env.TMPDIR) : "/tmp";
  return `${tmp}/sessh-${uid}`;
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

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function trimSlashes(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}
