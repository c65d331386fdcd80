/**
 * Errors as the command line shows them. The library's messages speak to
 * any caller; here each gains, where one helps, the sessh command or flag
 * that does what it advises, and `--json` gets the details with the
 * snake_case keys it has always printed.
 *
 * @module
 */
import type { ErrorCode, ErrorDetails, SesshError } from "../errors.ts";
import { IDENTITY_ADVICE } from "../ssh/ssh_errors.ts";
import { shellQuote } from "./payload_hint.ts";

type Hint = (error: SesshError) => string | undefined;

/**
 * NAME DEST of the session an error is about, for a hint that names it,
 * quoted as a shell reads it back; a daemon's refusal does not know the
 * destination, which stays `DEST`.
 */
function target(error: SesshError): string | undefined {
  const { session, destination } = error.details;
  return session === undefined
    ? undefined
    : `${shellQuote(session)} ${
      destination === undefined ? "DEST" : shellQuote(destination)
    }`;
}

/** The sessh command line that does what an error advises, by code. */
const HINTS: Partial<Record<ErrorCode, Hint>> = {
  auth_failed: (error) =>
    error.message.endsWith(IDENTITY_ADVICE) ? "-i KEY" : undefined,
  connection_lost: (error) => {
    const at = target(error);
    const { delivery, cursor } = error.details;
    if (at === undefined) return undefined;
    if (delivery === "sent") {
      return `sessh wait ${at} --done, sessh logs ${at} --since ${cursor}`;
    }
    if (delivery === "not_sent" && cursor !== undefined) {
      return `sessh wait ${at} --since ${cursor}`;
    }
    return `sessh status ${at}`;
  },
  session_busy: (error) => {
    const at = target(error);
    if (at === undefined) return undefined;
    if (/another client is attached/.test(error.message)) {
      return `sessh detach ${at}`;
    }
    return /is busy running/.test(error.message)
      ? `sessh wait ${at} --done, sessh keys ${at} -- C-c, or run --force`
      : undefined;
  },
  session_lost: (error) => {
    const at = target(error);
    return at && `sessh close ${at}, sessh open ${at}`;
  },
  no_integration: () => "run --no-wait, or open --shell bash",
  terminal_echoes: (error) => {
    const at = target(error);
    // A pattern that reads as what it waits for, and matches sudo's
    // "password for me:" as well as su's "Password:".
    return at && `e.g. sessh wait ${at} --for '[Pp]assword'`;
  },
  remote: (error) => error.details.noSftp ? "cp --via helper" : undefined,
};

/**
 * The message the command line prints: the library's, and in parentheses
 * the sessh command or flag that does what it advises.
 *
 * @param error The error.
 * @returns The message for the terminal and for `--json`.
 *
 * @example
 * ```ts
 * import { SessionError } from "../errors.ts";
 * import { cliMessage } from "./error_out.ts";
 * const lost = new SessionError(
 *   "session_lost",
 *   'Session "a" was lost; closing it forgets it, opening it starts a new one',
 *   { session: "a" },
 * );
 * console.log(cliMessage(lost));
 * // Session "a" was lost; closing it forgets it, opening it starts a new one (sessh close a DEST, sessh open a DEST)
 * ```
 */
export function cliMessage(error: SesshError): string {
  const hint = HINTS[error.code]?.(error);
  return hint ? `${error.message} (${hint})` : error.message;
}

/** The details `--json` prints, under the names it has always used. */
const JSON_KEYS: Partial<Record<keyof ErrorDetails, string>> = {
  delivery: "sent",
  session: "name",
  commandId: "command_id",
  cursor: "cursor",
  exitCode: "exit_code",
  remoteCode: "remote_code",
  entry: "entry",
};

/**
 * The `error` object `--json` prints: code, message (with its hint) and the
 * facts for scripts, snake_case.
 *
 * @param error The error.
 * @returns The JSON object.
 *
 * @example
 * ```ts
 * import { ConnectionLostError } from "../errors.ts";
 * import { errorJson } from "./error_out.ts";
 * const lost = new ConnectionLostError("Lost", { delivery: "sent", commandId: 3 });
 * console.log(errorJson(lost)); // { code: "connection_lost", message: "Lost", sent: "sent", command_id: 3 }
 * ```
 */
export function errorJson(error: SesshError): Record<string, unknown> {
  const json: Record<string, unknown> = {
    code: error.code,
    message: cliMessage(error),
  };
  for (const [key, value] of Object.entries(error.details)) {
    const name = JSON_KEYS[key as keyof ErrorDetails];
    if (name !== undefined && value !== undefined) json[name] = value;
  }
  return json;
}
