/**
 * The error hierarchy of sessh. Every error carries a stable `code` that the
 * JSON mode prints and an `exitCode` that the command line exits with.
 *
 * @module
 */

import {
  ERROR_CODES as CODES,
  type ErrorCode as Code,
  EXIT_CODES,
} from "./contract/spec.ts";

/**
 * Every stable error code, as `--json` prints it in `error.code`; the
 * contract (`lib/contract/spec.json`) lists them with their exit codes.
 *
 * @example
 * ```ts
 * import { ERROR_CODES } from "@sessh/cli";
 * console.log(ERROR_CODES.includes("timeout")); // true
 * ```
 */
export const ERROR_CODES: readonly ErrorCode[] = CODES;

/** A stable machine-readable error code, one of {@linkcode ERROR_CODES}. */
export type ErrorCode = Code;

/**
 * The command line's exit code for an error code, as the contract gives it.
 *
 * @param code A stable error code.
 * @returns Its exit code, e.g. 124 for `"timeout"`.
 *
 * @example
 * ```ts
 * import { exitCodeOf } from "./errors.ts";
 * console.log(exitCodeOf("timeout"), exitCodeOf("usage")); // 124 2
 * ```
 */
export function exitCodeOf(code: ErrorCode): number {
  return EXIT_CODES[code];
}

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
 * Every fact an error may carry beside its message, camelCase; each error
 * class declares which of them it sets. The command line's `--json` prints
 * them in `error` with snake_case keys (`delivery` as `sent`, `session` as
 * `name`).
 */
export interface ErrorDetails {
  /** Whether the work reached the daemon (see {@linkcode Delivery}). */
  delivery?: Delivery;
  /** The destination, as the user wrote it. */
  destination?: string;
  /** The session the call was about. */
  session?: string;
  /** The id the daemon gave the command. */
  commandId?: number;
  /** Cursor where the command's output (or the wait) begins. */
  cursor?: number;
  /** How long was waited, in milliseconds. */
  timeoutMs?: number;
  /** A command's exit status. */
  exitCode?: number;
  /** The daemon's own code, when it is none of {@linkcode ERROR_CODES}. */
  remoteCode?: string;
  /** A copy found no sftp subsystem on the host. */
  noSftp?: boolean;
  /** A copy's sftp connection closed under it. */
  closed?: boolean;
  /** The entry of a host's tree listing that was refused (`hostile_listing`). */
  entry?: string;
}

/**
 * Base class of every error sessh raises on purpose. `D` is the shape of
 * its {@linkcode SesshError.details}, declared by each subclass.
 *
 * @example
 * ```ts
 * import { SesshError } from "@sessh/cli";
 * const err = new SesshError("timeout", "Timed out after 5 s", 124);
 * console.log(err.code, err.exitCode); // "timeout" 124
 * ```
 */
export class SesshError<D extends ErrorDetails = ErrorDetails> extends Error {
  /** Stable code for scripts, e.g. `"connect_failed"`. */
  readonly code: ErrorCode;
  /** The process exit code the command line uses for this error. */
  readonly exitCode: number;
  /**
   * Facts for scripts beside the message, with camelCase keys, e.g.
   * `{ delivery: "sent", commandId: 7 }`. The command line's `--json`
   * prints them in `error` with snake_case keys.
   */
  readonly details: D;

  /**
   * Creates an error with a code and an exit code.
   *
   * @param code Stable error code.
   * @param message Sentence-case message that says what to do.
   * @param exitCode Exit code for the command line; by default the code's own.
   * @param details Facts for scripts (see {@linkcode SesshError.details}).
   */
  constructor(
    code: ErrorCode,
    message: string,
    exitCode: number = exitCodeOf(code),
    details?: D,
  ) {
    super(message);
    this.name = "SesshError";
    this.code = code;
    this.exitCode = exitCode;
    this.details = details ?? {} as D;
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
export class UsageError extends SesshError<Record<never, never>> {
  /**
   * Creates a usage error (exit 2).
   *
   * @param message What was wrong and what to do.
   * @param code A more specific code than `"usage"`.
   */
  constructor(message: string, code: ErrorCode = "usage") {
    super(code, message, exitCodeOf("usage"));
    this.name = "UsageError";
  }
}

/** What {@linkcode ConnectError} knows. */
export interface ConnectDetails {
  /** The destination, as the user wrote it. */
  destination?: string;
  /** Whether the work reached the daemon (never: the host was not reached). */
  delivery?: Delivery;
}

/**
 * ssh could not connect, authenticate or verify the host (exit 255, like ssh).
 *
 * @example
 * ```ts
 * import { ConnectError } from "@sessh/cli";
 * const err = new ConnectError("auth_failed", "Cannot log in to \"db1\"", {
 *   destination: "db1",
 * });
 * console.log(err.exitCode, err.details.destination); // 255 "db1"
 * ```
 */
export class ConnectError extends SesshError<ConnectDetails> {
  /**
   * Creates a connection error (exit 255).
   *
   * @param code Which part of connecting failed.
   * @param message The cause, as ssh said it, and what to check.
   * @param details The destination.
   */
  constructor(
    code: "connect_failed" | "auth_failed" | "host_key" | "ssh_failed",
    message: string,
    details: ConnectDetails = {},
  ) {
    super(code, message, exitCodeOf(code), details);
    this.name = "ConnectError";
  }
}

/** Where a piece of work stood: its session, command and output cursor. */
export interface WorkDetails {
  /** The session the call was about. */
  session?: string;
  /** The id the daemon gave the command. */
  commandId?: number;
  /** Cursor where the command's output (or the wait) begins. */
  cursor?: number;
}

/** What {@linkcode TimeoutError} knows. */
export interface TimeoutDetails extends WorkDetails {
  /** How long was waited, in milliseconds. */
  timeoutMs?: number;
  /** Whether the work reached the daemon, when the call sends any. */
  delivery?: Delivery;
}

/**
 * A wait ran out of time (exit 124, as `timeout(1)` and dax use).
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@sessh/cli";
 * const err = new TimeoutError("Timed out", { session: "work", commandId: 4 });
 * console.log(err.exitCode, err.details.commandId); // 124 4
 * ```
 */
export class TimeoutError extends SesshError<TimeoutDetails> {
  /**
   * Creates a timeout error (exit 124).
   *
   * @param message What timed out and how to pick the work up again.
   * @param details The session, command and cursor to pick it up from.
   */
  constructor(message: string, details: TimeoutDetails = {}) {
    super("timeout", message, exitCodeOf("timeout"), details);
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
export interface ConnectionLostDetails extends WorkDetails {
  /** Whether the command or input reached the daemon. */
  delivery: Delivery;
  /** The destination, as the user wrote it. */
  destination?: string;
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
 * console.log(err.code, err.exitCode, err.details.commandId); // "connection_lost" 255 3
 * ```
 */
export class ConnectionLostError extends SesshError<ConnectionLostDetails> {
  /** Whether the command or input reached the daemon. */
  readonly delivery: Delivery;

  /**
   * Creates a lost-connection error (exit 255).
   *
   * @param message What was lost, whether the work was delivered, what to do.
   * @param details Delivery, session, command id and cursor.
   */
  constructor(message: string, details: ConnectionLostDetails) {
    super("connection_lost", message, exitCodeOf("connection_lost"), {
      ...details,
    });
    this.name = "ConnectionLostError";
    this.delivery = details.delivery;
  }
}

/** What {@linkcode DaemonGoneError} knows about the interrupted work. */
export interface DaemonGoneDetails extends WorkDetails {
  /**
   * Whether the command reached the daemon; a daemon that died took its
   * sessions, and so the command, with it.
   */
  delivery: Delivery;
  /** The destination, as the user wrote it. */
  destination?: string;
}

/**
 * The sessh daemon on the host ended (it was killed, or the host stopped
 * it) while a call waited on it (exit 255). The sessions it held are lost
 * with it; the client's next call starts a new daemon.
 *
 * @example
 * ```ts
 * import { DaemonGoneError } from "@sessh/cli";
 * const err = new DaemonGoneError("The daemon is gone", { delivery: "sent", session: "work" });
 * console.log(err.code, err.exitCode, err.details.session); // "daemon_gone" 255 "work"
 * ```
 */
export class DaemonGoneError extends SesshError<DaemonGoneDetails> {
  /**
   * Creates the error of a daemon that ended (exit 255).
   *
   * @param message What ended and what became of the work.
   * @param details Delivery, session, command id and cursor.
   */
  constructor(message: string, details: DaemonGoneDetails) {
    super("daemon_gone", message, exitCodeOf("daemon_gone"), {
      ...details,
    });
    this.name = "DaemonGoneError";
  }
}

/** What {@linkcode SessionError} knows. */
export interface SessionDetails {
  /** The session the daemon answered about. */
  session?: string;
}

/**
 * The daemon refused a call because of the state of its session:
 * `session_busy` (another command runs in it, or another client is attached),
 * `session_lost` (the daemon that held it died: closing it forgets it,
 * opening it again starts a new one), `session_exited` or `no_session`.
 *
 * @example
 * ```ts
 * import { SessionError } from "@sessh/cli";
 * const err = new SessionError("session_busy", "Session \"work\" is busy", { session: "work" });
 * console.log(err.code, err.details.session); // "session_busy" "work"
 * ```
 */
export class SessionError extends SesshError<SessionDetails> {
  /**
   * Creates the error of a refused call (exit 1).
   *
   * @param code What state the session is in.
   * @param message The daemon's words.
   * @param details The session.
   */
  constructor(
    code: "session_busy" | "session_lost" | "session_exited" | "no_session",
    message: string,
    details: SessionDetails = {},
  ) {
    super(code, message, exitCodeOf(code), details);
    this.name = "SessionError";
  }
}

/** What {@linkcode CommandFailedError} knows. */
export interface CommandFailedDetails extends WorkDetails {
  /** The command's exit status. */
  exitCode: number;
}

/**
 * A command that finished with a non-zero exit status, thrown by
 * `Session.run()` with `check: true` (exit code 1 unless the command's own).
 *
 * @example
 * ```ts
 * import { CommandFailedError } from "@sessh/cli";
 * const err = new CommandFailedError("make test", 2, "1 failed\n", { commandId: 5 });
 * console.log(err.exitCode, err.output, err.details.commandId); // 2 "1 failed\n" 5
 * ```
 */
export class CommandFailedError extends SesshError<CommandFailedDetails> {
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
   * @param where Its session, command id and cursor.
   */
  constructor(
    command: string,
    exitCode: number,
    output: string,
    where: WorkDetails = {},
  ) {
    const shown = command.length > 200 ? command.slice(0, 200) + "…" : command;
    super(
      "command_failed",
      `The command exited with status ${exitCode}: ${shown}`,
      exitCode,
      { ...where, exitCode },
    );
    this.name = "CommandFailedError";
    this.command = command;
    this.output = output;
  }
}

/**
 * A copy of `error` whose stack is taken where this is called: errors
 * noticed by the connection's reader (a reply, a lost link, a timer) would
 * otherwise show only sessh's own frames, never the caller's line. Called
 * inside an async function right after its `await`, V8's async stack
 * reaches the script that awaited the call. The original is the `cause`.
 *
 * @param error What a call failed with.
 * @returns The same error, seen from the caller.
 */
export function atCaller(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const copy = Object.create(Object.getPrototypeOf(error)) as Error;
  Object.assign(copy, error);
  Object.defineProperty(copy, "message", {
    value: error.message,
    writable: true,
    configurable: true,
  });
  Object.defineProperty(copy, "cause", {
    value: error,
    writable: true,
    configurable: true,
  });
  Error.captureStackTrace(copy, atCaller);
  return copy;
}
