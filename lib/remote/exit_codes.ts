/**
 * The exit codes the remote side ends with before it speaks the protocol,
 * each meaning one thing, and the advice sessh gives for each. The loader
 * (`loader.py`) and the helper (`helper/`) exit with these numbers, listed
 * in `lib/contract/spec.json`; `exit_codes_test.ts` checks that they still
 * do.
 *
 * @module
 */
import { REMOTE_EXITS } from "../contract/spec.ts";

/** Why the loader or the helper gave up, by exit code (the contract's table). */
export { REMOTE_EXITS };

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
  return REMOTE_EXITS[code]?.advice ?? null;
}
