/**
 * The rule for the control directory, where ssh's control sockets and the
 * agent's socket live: a pure function of the platform, the environment and
 * which directories exist. A leaf that reports a bad environment as a
 * problem rather than as an error, so that the thin command line
 * (`lib/cli/thin_client.ts`) loads no error hierarchy to find its agent
 * (issue 21); `control_dir.ts` turns a problem into a `UsageError`.
 *
 * @module
 */

/**
 * The longest Unix socket path, in bytes, that every system takes: Linux
 * allows 107 (108 with the terminating NUL), macOS and the BSDs 103 (104).
 * One limit for all keeps a control directory that works on one system
 * working on the others.
 */
export const MAX_SOCKET_PATH_BYTES = 104 - 1;

/**
 * The longest control directory, in bytes, that still fits a socket path
 * (see {@linkcode MAX_SOCKET_PATH_BYTES}): ssh's `%C` is 40 hex characters
 * and ssh first binds a temporary name with 17 more characters (`.` and
 * 16 random ones) before linking it into place. The agent's socket
 * (`agent-….sock`) is shorter than that.
 */
export const MAX_CONTROL_DIR_BYTES = MAX_SOCKET_PATH_BYTES - 1 - 40 - 17;

/** What the choice of a control directory depends on. */
export interface Platform {
  /** The operating system, as `Deno.build.os` names it. */
  os: typeof Deno.build.os;
  /** The environment; empty values count as unset. */
  env: Record<string, string | undefined>;
  /** The user's id (`Deno.uid()`); `null` on Windows. */
  uid: number | null;
}

/** Options for {@linkcode chooseControlDir}. */
export interface ChooseControlDirOptions {
  /**
   * Tells whether a directory exists; the rule is a pure function of the
   * platform and this.
   * @default {a look at the file system}
   */
  isDirectory?: (path: string) => boolean;
}

/** What is wrong with the environment's choice of a control directory. */
export interface ControlDirProblem {
  /** What is wrong and what to do, as a `UsageError` says it. */
  problem: string;
}

/**
 * The rule for the control directory, where ssh's control sockets and the
 * agent's socket live. `SESSH_CONTROL_DIR` (or the bash sessh's
 * `SESSH_CTRL_DIR`) wins; it must be absolute and, off Windows, at most
 * {@linkcode MAX_CONTROL_DIR_BYTES} bytes. Otherwise the first of these
 * that is at most that long:
 *
 * 1. `$XDG_RUNTIME_DIR/sessh`, when that variable names a directory;
 * 2. on Linux, `/run/user/UID/sessh`, when `/run/user/UID` is a directory;
 * 3. `$TMPDIR/sessh-UID`, when `TMPDIR` is absolute (macOS's
 *    `/var/folders/…/T/` is too long, and so is skipped);
 * 4. `/tmp/sessh-UID`, which always fits.
 *
 * On Windows, Deno has no Unix sockets and OpenSSH no ControlMaster, so
 * the directory only holds files: `%LOCALAPPDATA%\sessh`, else
 * `%TEMP%\sessh`, with no length limit.
 *
 * @param platform The system, environment and user id.
 * @param options How to tell that a directory exists.
 * @returns An absolute directory path, or the problem with the
 *   environment: `SESSH_CONTROL_DIR` relative or too long, or on Windows no
 *   variable that names a place.
 *
 * @example
 * ```ts
 * import { pickControlDir } from "./control_dir_rule.ts";
 * const env = { TMPDIR: "/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/" };
 * console.log(pickControlDir({ os: "darwin", env, uid: 501 })); // "/tmp/sessh-501"
 * ```
 */
export function pickControlDir(
  platform: Platform,
  options: ChooseControlDirOptions = {},
): string | ControlDirProblem {
  const { os, env } = platform;
  const windows = os === "windows";
  const uid = platform.uid ?? 0;
  const isDirectory = options.isDirectory ?? directoryExists;
  // SESSH_CTRL_DIR is the bash sessh's name for it.
  const variable = env.SESSH_CONTROL_DIR
    ? "SESSH_CONTROL_DIR"
    : "SESSH_CTRL_DIR";
  const given = env[variable];
  const override = given && trimSlashes(given, windows);
  if (override) {
    if (!isAbsolute(override, windows)) {
      const example = windows ? "C:\\sessh" : `/tmp/sessh-${uid}`;
      return {
        problem:
          `${variable} "${override}" is not an absolute path; set it to a private directory such as ${example}`,
      };
    }
    if (!windows && byteLength(override) > MAX_CONTROL_DIR_BYTES) {
      return {
        problem: `${variable} "${override}" is ${
          byteLength(override)
        } bytes long; ssh socket paths need at most ${MAX_CONTROL_DIR_BYTES}, so pick a shorter directory`,
      };
    }
    return override;
  }
  if (windows) return windowsDir(env);
  const candidates: string[] = [];
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime?.startsWith("/") && isDirectory(runtime)) {
    candidates.push(`${trimSlashes(runtime)}/sessh`);
  }
  if (os === "linux" && isDirectory(`/run/user/${uid}`)) {
    candidates.push(`/run/user/${uid}/sessh`);
  }
  if (env.TMPDIR?.startsWith("/")) {
    candidates.push(`${trimSlashes(env.TMPDIR)}/sessh-${uid}`);
  }
  return candidates.find((path) => byteLength(path) <= MAX_CONTROL_DIR_BYTES) ??
    `/tmp/sessh-${uid}`;
}

function windowsDir(
  env: Record<string, string | undefined>,
): string | ControlDirProblem {
  for (const name of ["LOCALAPPDATA", "TEMP", "TMP"]) {
    const value = env[name];
    if (value && isAbsolute(value, true)) {
      return `${trimSlashes(value, true)}\\sessh`;
    }
  }
  return {
    problem:
      "None of LOCALAPPDATA, TEMP and TMP names a directory; set SESSH_CONTROL_DIR to a private directory",
  };
}

function directoryExists(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function isAbsolute(path: string, windows = false): boolean {
  // A drive (C:\ or C:/) or a UNC share (\\server\share) on Windows.
  return windows ? /^([A-Za-z]:[\\/]|\\\\)/.test(path) : path.startsWith("/");
}

function trimSlashes(path: string, windows = false): string {
  const trimmed = path.replace(windows ? /[\\/]+$/ : /\/+$/, "");
  if (!windows) return trimmed || "/";
  // "C:\" keeps its separator: "C:" alone is a drive's current directory.
  return /^[A-Za-z]:$/.test(trimmed) ? `${trimmed}\\` : trimmed;
}

function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}
