/**
 * The error hierarchy of sessh. Every error carries a stable `code` that the
 * JSON mode prints and an `exitCode` that the command line exits with.
 *
 * @module
 */

/** Stable machine-readable error codes, printed by `--json` as `error.code`. */
export type ErrorCode =
  | "usage"
  | "invalid_name"
  | "invalid_destination"
  | "connect_failed"
  | "auth_failed"
  | "host_key"
  | "ssh_failed"
  | "no_python"
  | "helper_failed"
  | "protocol"
  | "daemon_gone"
  | "connection_lost"
  | "no_session"
  | "session_lost"
  | "session_busy"
  | "session_exited"
  | "no_integration"
  | "timeout"
  | "remote"
  | "internal";

/**
 * Base class of every error sessh raises on purpose.
 *
 * @example
 * ```ts
 * import { SesshError } from "./errors.ts";
 * const err = new SesshError("timeout", "Timed out after 5 s", 124);
 * console.log(err.code, err.exitCode); // "timeout" 124
 * ```
 */
export class SesshError extends Error {
  /** Stable code for scripts, e.g. `"connect_failed"`. */
  readonly code: ErrorCode;
  /** The process exit code the command line uses for this error. */
  readonly exitCode: number;

  /**
   * Creates an error with a code and an exit code.
   *
   * @param code Stable error code.
   * @param message Sentence-case message that says what to do.
   * @param exitCode Exit code for the command line.
   */
  constructor(code: ErrorCode, message: string, exitCode = 1) {
    super(message);
    this.name = "SesshError";
    this.code = code;
    this.exitCode = exitCode;
  }
}

/**
 * A mistake in how sessh was called: bad flags, names or destinations.
 * The command line exits 2 and nothing is sent to ssh.
 *
 * @example
 * ```ts
 * import { UsageError } from "./errors.ts";
 * throw new UsageError("Missing destination; pass user@host");
 * ```
 */
export class UsageError extends SesshError {
  /**
   * Creates a usage error (exit 2).
   *
   * @param message What was wrong and what to do.
   * @param code A more specific code than `"usage"`.
   */
  constructor(message: string, code: ErrorCode = "usage") {
    super(code, message, 2);
    this.name = "UsageError";
  }
}

/**
 * ssh could not connect, authenticate or verify the host (exit 255, like ssh).
 *
 * @example
 * ```ts
 * import { ConnectError } from "./errors.ts";
 * const err = new ConnectError("auth_failed", "Cannot log in to \"db1\"");
 * console.log(err.exitCode); // 255
 * ```
 */
export class ConnectError extends SesshError {
  /**
   * Creates a connection error (exit 255).
   *
   * @param code Which part of connecting failed.
   * @param message The cause, as ssh said it, and what to check.
   */
  constructor(
    code:
      | "connect_failed"
      | "auth_failed"
      | "host_key"
      | "ssh_failed"
      | "daemon_gone",
    message: string,
  ) {
    super(code, message, 255);
    this.name = "ConnectError";
  }
}

/**
 * A wait ran out of time (exit 124, as `timeout(1)` and dax use).
 *
 * @example
 * ```ts
 * import { TimeoutError } from "./errors.ts";
 * console.log(new TimeoutError("Timed out").exitCode); // 124
 * ```
 */
export class TimeoutError extends SesshError {
  /**
   * Creates a timeout error (exit 124).
   *
   * @param message What timed out and how to pick the work up again.
   */
  constructor(message: string) {
    super("timeout", message, 124);
    this.name = "TimeoutError";
  }
}
