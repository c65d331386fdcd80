/**
 * Commands built from a template whose interpolated values are quoted for
 * the remote shell, so that a script never splices text into a command line
 * unquoted.
 *
 * The quoting is that of POSIX sh: a value goes in single quotes, and a
 * single quote in it as `'\''`. It is correct for sh, dash, bash, zsh, ksh
 * and busybox ash (single quotes take every other character literally, `!`
 * included, and zsh's `RC_QUOTES` does not change how `'\''` reads). It is
 * not correct for fish, csh or tcsh, where a backslash or `!` inside single
 * quotes is special: run those with text you quote yourself.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/**
 * What a template may interpolate: text, a number, or a flat list of them
 * (a list inside a list is refused rather than flattened unseen).
 */
export type ShellValue =
  | string
  | number
  | bigint
  | readonly (string | number | bigint)[];

/** Words that need no quotes in any of those shells: no expansion, glob, assignment or tilde. */
const PLAIN = /^[A-Za-z0-9_\/.,:@+-]+$/;

/**
 * One value as one word of a POSIX shell command line.
 *
 * @param value The value.
 * @returns The word: the value itself when nothing in it is special to a
 *   shell, else the value in single quotes.
 * @throws {UsageError} for a NUL byte, which no shell word can hold.
 *
 * @example
 * ```ts
 * import { quoteShell } from "@sessh/cli";
 * import assert from "node:assert/strict";
 *
 * assert.equal(quoteShell("src/main.ts"), "src/main.ts");
 * assert.equal(quoteShell("it's $(here)"), "'it'\\''s $(here)'");
 * assert.equal(quoteShell(""), "''");
 * ```
 */
export function quoteShell(value: string | number | bigint): string {
  if (typeof value !== "string") {
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new UsageError(`Cannot put ${value} into a shell command`);
    }
    return String(value);
  }
  if (value.includes("\0")) {
    throw new UsageError(
      "A value holds a NUL byte, which no shell command can carry; send it with Session.send() instead",
    );
  }
  if (PLAIN.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * Builds a command from a template: the literal parts as written, each
 * interpolated value quoted as one word (a list as one word per item; a
 * list inside it is refused: flatten it with `.flat()` when that is meant).
 *
 * @param strings The template's literal parts.
 * @param values The interpolated values.
 * @returns The command text, for `Session.run()`.
 * @throws {UsageError} for a value that is not text, a number or a list of
 *   them (such as `undefined`, usually a mistake), a list inside a list,
 *   or a NUL byte in a value or in the template's text.
 *
 * @example
 * ```ts
 * import { sh } from "@sessh/cli";
 * import assert from "node:assert/strict";
 *
 * const dir = "my project";
 * const files = ["a.txt", "b c.txt"];
 * assert.equal(
 *   sh`cd ${dir} && wc -l ${files}`,
 *   "cd 'my project' && wc -l a.txt 'b c.txt'",
 * );
 * ```
 */
export function sh(
  strings: TemplateStringsArray,
  ...values: ShellValue[]
): string {
  if (strings.some((part) => part.includes("\0"))) {
    throw new UsageError(
      "The command's text holds a NUL byte, which no shell command can carry",
    );
  }
  let command = strings[0];
  values.forEach((value, i) => {
    command += quoteValue(value) + strings[i + 1];
  });
  return command;
}

function quoteValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(quoteItem).join(" ");
  return quoteItem(value);
}

function quoteItem(value: unknown): string {
  if (Array.isArray(value)) {
    throw new UsageError(
      "Cannot put a list inside a list into a shell command; flatten it first (list.flat())",
    );
  }
  if (
    typeof value === "string" || typeof value === "number" ||
    typeof value === "bigint"
  ) return quoteShell(value);
  throw new UsageError(
    `Cannot put ${
      value === null ? "null" : typeof value
    } into a shell command; interpolate text, numbers or lists of them`,
  );
}
