/**
 * The error hierarchy of sessh. Every error carries a stable `code` that the
 * JSON mode prints and an `exitCode` that the command line exits with.
 *
 * @module
 */

/**
 * Every stable error code, as `--json` prints it in `error.code`.
 *
 * @example
 * ```ts
 * import { ERROR_CODES } from "@sessh/cli";
 * console.log(ERROR_CODES.includes("timeout")); // true
 * ```
 */
export const ERROR_CODES = [
  "usage",
  "invalid_name",
  "invalid_destination",
  "connect_failed",
  "auth_failed",
  "host_key",
  "ssh_failed",
  "no_python",
  "helper_failed",
  "protocol",
  "daemon_gone",
  "connection_lost",
  "no_session",
  "session_lost",
  "session_busy",
  "session_exited",
  "no_integration",
  "no_command",
  "terminal_echoes",
  "no_file",
  "file_denied",
  "timeout",
  "pattern_too_slow",
  "command_failed",
  "remote",
  "internal",
] as const;

/** A stable machine-readable error code, one of {@linkcode ERROR_CODES}. */
export type ErrorCode = typeof ERROR_CODES[number];

/**
 * Whether a string is one of sessh's error codes.
 *
 * @param code A code, e.g. as the daemon sent it.
 * @returns Whether it is an {@linkcode ErrorCode}.
 */
export function isErrorCode(code: string): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}

/**
 * Base class of every error sessh raises on purpose.
 *
 * @example
 * ```ts
 * import { SesshError } from "@sessh/cli";
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
   * Facts for scripts beside the message, printed by `--json` inside
   * `error` (snake_case keys), e.g. `{ sent: "sent", command_id: 7 }`.
   */
  readonly details: Record<string, unknown> = {};

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
 * import { UsageError } from "@sessh/cli";
 * const err = new UsageError("Missing destination; pass user@host");
 * console.log(err.code, err.exitCode); // "usage" 2
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
 * import { ConnectError } from "@sessh/cli";
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
 * import { TimeoutError } from "@sessh/cli";
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

/**
 * Whether a command reached the daemon before the link failed:
 * `"sent"` (the daemon accepted it: it runs, or ran, on the host),
 * `"not_sent"` (it never left this machine) or `"unknown"` (it was written
 * to the link but no answer came back).
 */
export type Delivery = "sent" | "not_sent" | "unknown";

/** What {@linkcode ConnectionLostError} knows about the interrupted work. */
export interface ConnectionLostDetails {
  /** Whether the command or input reached the daemon. */
  delivery: Delivery;
  /** The session the call was about. */
  session?: string;
  /** The id the daemon gave the command (`run`). */
  commandId?: number;
  /** Cursor where the command's output begins, for `logs --since`. */
  cursor?: number;
}

/**
 * The link to the host failed after the connection was made (exit 255).
 * Unlike {@linkcode ConnectError} the host was reached, so the error says
 * whether the work was delivered and how to check on it.
 *
 * @example
 * ```ts
 * import { ConnectionLostError } from "@sessh/cli";
 * const err = new ConnectionLostError("Lost the link", { delivery: "sent", commandId: 3 });
 * console.log(err.code, err.exitCode, err.details.command_id); // "connection_lost" 255 3
 * ```
 */
export class ConnectionLostError extends SesshError {
  /** Whether the command or input reached the daemon. */
  readonly delivery: Delivery;

  /**
   * Creates a lost-connection error (exit 255).
   *
   * @param message What was lost, whether the work was delivered, what to do.
   * @param details Delivery, session, command id and cursor.
   */
  constructor(message: string, details: ConnectionLostDetails) {
    super("connection_lost", message, 255);
    this.name = "ConnectionLostError";
    this.delivery = details.delivery;
    this.details.sent = details.delivery;
    if (details.session !== undefined) this.details.name = details.session;
    if (details.commandId !== undefined) {
      this.details.command_id = details.commandId;
    }
    if (details.cursor !== undefined) this.details.cursor = details.cursor;
  }
}

/**
 * A command that finished with a non-zero exit status, thrown by
 * `Session.run()` with `check: true` (exit code 1 unless the command's own).
 *
 * @example
 * ```ts
 * import { CommandFailedError } from "@sessh/cli";
 * const err = new CommandFailedError("make test", 2, "1 failed\n");
 * console.log(err.exitCode, err.output); // 2 "1 failed\n"
 * ```
 */
export class CommandFailedError extends SesshError {
  /** The command as it was typed. */
  readonly command: string;
  /** The output it printed (bounded as `run` bounds it). */
  readonly output: string;

  /**
   * Creates the error for a command that failed.
   *
   * @param command The command as it was typed.
   * @param exitCode Its exit status (1 to 255).
   * @param output What it printed.
   */
  constructor(command: string, exitCode: number, output: string) {
    const shown = command.length > 200 ? command.slice(0, 200) + "…" : command;
    super(
      "command_failed",
      `The command exited with status ${exitCode}: ${shown}`,
      exitCode,
    );
    this.name = "CommandFailedError";
    this.command = command;
    this.output = output;
    this.details.exit_code = exitCode;
  }
}
