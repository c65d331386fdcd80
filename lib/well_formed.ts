/**
 * Names and paths are text: a NUL byte cannot reach a system call whole,
 * and invalid UTF-8 cannot name anything the user meant. Deno gives an
 * invalid UTF-8 argument as U+FFFD (the replacement character), a JSON
 * string may carry a lone surrogate; both are refused with the field named,
 * before anything runs, rather than sent on as a different name.
 *
 * @module
 */
import { type ErrorCode, UsageError } from "./errors.ts";

/**
 * Checks that a name, destination or path is text that can name something.
 *
 * @param text The value given.
 * @param field What it is, for the message: `DEST`, `--output`, `local_path`.
 * @param code The error code to throw with.
 * @returns The text, unchanged.
 * @throws {UsageError} Naming the field, when the text holds a NUL byte,
 * U+FFFD or a lone surrogate.
 *
 * @example
 * ```ts
 * import { wellFormed } from "./well_formed.ts";
 * console.log(wellFormed("notes.txt", "SRC")); // "notes.txt"
 * ```
 */
export function wellFormed(
  text: string,
  field: string,
  code: ErrorCode = "usage",
): string {
  const fault = text.includes("\0")
    ? "a NUL byte"
    : text.includes("\uFFFD")
    ? "U+FFFD, the mark of invalid UTF-8"
    : !text.isWellFormed()
    ? "a lone UTF-16 surrogate (invalid UTF-8)"
    : null;
  if (fault !== null) {
    throw new UsageError(
      `${field} ${
        JSON.stringify(text)
      } contains ${fault}; give it as valid UTF-8 text`,
      code,
    );
  }
  return text;
}
