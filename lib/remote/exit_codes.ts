/**
 * The exit codes the remote side ends with before it speaks the protocol,
 * each meaning one thing, and the advice sessh gives for each. The loader
 * (`loader.py`) and the helper (`helper/`) exit with these numbers;
 * `exit_codes_test.ts` checks that they still do.
 *
 * @module
 */

/** Why the loader or the helper gave up, by exit code. */
export const REMOTE_EXITS = {
  /** loader: its cache directory is not a private directory of the user. */
  3: {
    name: "unsafe_cache_dir",
    advice:
      "the helper cache ~/.cache/sessh on the host must be a directory of yours with mode 0700, in directories that only you or root can change (or sticky, as /tmp); its message names the one at fault; remove or fix it and retry",
  },
  /** loader: the uploaded helper did not match its hash. */
  4: {
    name: "helper_corrupted",
    advice:
      "the helper arrived corrupted on the host (something on the link or in the login shell altered it); retry",
  },
  /** loader: Python is older than 3.8. */
  5: {
    name: "old_python",
    advice:
      "the host's python3 is older than 3.8, which sessh's helper needs; install a newer python3",
  },
  /** helper: its runtime or state directory is not private. */
  6: {
    name: "unsafe_runtime_dir",
    advice:
      "the helper's runtime or state directory on the host is not a private directory of yours (its message names it); remove it and retry",
  },
  /** helper: the daemon did not start, or runs but does not answer. */
  7: {
    name: "daemon_start",
    advice:
      "the sessh daemon on the host did not start or does not answer; its log is ~/.local/state/sessh/HOST/daemon.log",
  },
} as const;

/**
 * The advice for a remote exit code, when it is one of the loader's or the
 * helper's own.
 *
 * @param code The bridge's exit code.
 * @returns What went wrong and what to do, or null for any other code.
 *
 * @example
 * ```ts
 * import { remoteExitAdvice } from "./exit_codes.ts";
 * console.log(remoteExitAdvice(5)?.startsWith("the host's python3")); // true
 * console.log(remoteExitAdvice(1)); // null
 * ```
 */
export function remoteExitAdvice(code: number): string | null {
  return (REMOTE_EXITS as Record<number, { advice: string }>)[code]?.advice ??
    null;
}
