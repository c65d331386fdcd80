/**
 * Parsers of command-line values: the payload after `--`, durations, sizes,
 * counts with their accepted range, cursors and ports. Each turns text into
 * the typed value the handlers use, or throws a {@linkcode UsageError} that
 * says what was wrong and what is accepted.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** What `run`, `send` and `keys` call the payload they take after `--`. */
export const PAYLOADS = {
  run: "COMMAND",
  send: "TEXT",
  keys: "KEY…",
} as const;

/**
 * Splits argv at the first `--`: what comes after is the payload of `run`,
 * `send` and `keys`, passed on untouched.
 *
 * @param args The arguments after the program name.
 * @returns The options and positionals, and the payload (null without `--`).
 *
 * @example
 * ```ts
 * import { splitPayload } from "./args.ts";
 * console.log(splitPayload(["run", "a", "h", "--", "ls", "-l"]));
 * // { head: ["run", "a", "h"], payload: ["ls", "-l"] }
 * ```
 */
export function splitPayload(
  args: string[],
): { head: string[]; payload: string[] | null } {
  const at = args.indexOf("--");
  if (at < 0) return { head: args, payload: null };
  return { head: args.slice(0, at), payload: args.slice(at + 1) };
}

/**
 * `sessh help [VERB]` as the parser knows it: `sessh [VERB] --help`.
 *
 * @param words The arguments before `--`, without a leading `--json`.
 * @returns The same words, or those asking for help the parser's way.
 *
 * @example
 * ```ts
 * import { helpWords } from "./args.ts";
 * console.log(helpWords(["help", "run"])); // ["run", "--help"]
 * console.log(helpWords(["help"])); // ["--help"]
 * ```
 */
export function helpWords(words: string[]): string[] {
  if (words[0] !== "help") return words;
  const verb = words[1];
  return verb === undefined || verb === "help" ? ["--help"] : [verb, "--help"];
}

/**
 * Parses seconds (`60`, `1.5`, `90s`, `2m`, `1h`) into milliseconds.
 *
 * @param text The value given.
 * @param what The option's name, for the error message.
 * @returns Milliseconds.
 *
 * @example
 * ```ts
 * import { parseSeconds } from "./args.ts";
 * console.log(parseSeconds("2m", "--timeout")); // 120000
 * ```
 */
export function parseSeconds(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) {
    throw new UsageError(
      `Invalid ${what} ${
        JSON.stringify(text)
      }; give seconds, e.g. 60, 1.5, 90s, 2m`,
    );
  }
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"] ??
    1000;
  return Math.round(Number(match[1]) * scale);
}

/**
 * The longest `--timeout` (and `SESSH_TIMEOUT`): a day, as MCP's
 * `timeout_seconds`. Timers hold at most 2^31-1 ms (24.8 days); a longer
 * wait is better written as a loop of shorter ones.
 */
export const MAX_TIMEOUT_MS = 86_400_000;

/**
 * Parses a call's timeout: as {@linkcode parseSeconds}, more than 0 and at
 * most {@linkcode MAX_TIMEOUT_MS}.
 *
 * @param text The value given.
 * @param what The option's name, for the error message.
 * @returns Milliseconds.
 *
 * @example
 * ```ts
 * import { parseTimeout } from "./args.ts";
 * console.log(parseTimeout("90", "--timeout")); // 90000
 * ```
 */
export function parseTimeout(text: string, what: string): number {
  const ms = parseSeconds(text, what);
  if (ms <= 0 || ms > MAX_TIMEOUT_MS) {
    throw new UsageError(
      `Invalid ${what} ${
        JSON.stringify(text)
      }; give more than 0 and at most 24h (86400 s)`,
    );
  }
  return ms;
}

/**
 * Parses a whole number of milliseconds.
 *
 * @param text The value given.
 * @param what The option's name, for the error message.
 * @returns Milliseconds.
 *
 * @example
 * ```ts
 * import { parseMillis } from "./args.ts";
 * console.log(parseMillis("500", "--idle")); // 500
 * ```
 */
export function parseMillis(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new UsageError(
      `Invalid ${what} ${JSON.stringify(text)}; give milliseconds, e.g. 500`,
    );
  }
  return Number(text);
}

/**
 * Parses a byte size: `102400`, `100k`, `1M`, `1MiB`.
 *
 * @param text The value given.
 * @param what The option's name, for the error message.
 * @returns Bytes.
 *
 * @example
 * ```ts
 * import { parseSize } from "./args.ts";
 * console.log(parseSize("100k", "--max-output")); // 102400
 * ```
 */
export function parseSize(text: string, what: string): number {
  const match = /^(\d+)\s*(k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (!match) {
    throw new UsageError(
      `Invalid ${what} ${
        JSON.stringify(text)
      }; give bytes, e.g. 102400, 100k, 1M`,
    );
  }
  const unit = (match[2] ?? "").toLowerCase()[0] ?? "";
  const scale = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit] ?? 1;
  return Number(match[1]) * scale;
}

/**
 * Parses a cursor printed by an earlier call.
 *
 * @param text The value given.
 * @returns The absolute byte offset.
 *
 * @example
 * ```ts
 * import { parseCursor } from "./args.ts";
 * console.log(parseCursor("1234")); // 1234
 * ```
 */
export function parseCursor(text: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new UsageError(
      `Invalid cursor ${
        JSON.stringify(text)
      }; pass the number an earlier run, logs or wait printed`,
    );
  }
  return Number(text);
}

/**
 * Parses a whole number within a range.
 *
 * @param text The value given.
 * @param what What it is (`--cols`, `LINES`), for the error message.
 * @param range The smallest and largest accepted value.
 * @returns The number.
 *
 * @example
 * ```ts
 * import { parseCount } from "./args.ts";
 * console.log(parseCount("50", "LINES", { min: 1, max: 1_000_000 })); // 50
 * ```
 */
export function parseCount(
  text: string,
  what: string,
  range: { min: number; max: number },
): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!(value >= range.min && value <= range.max)) {
    throw new UsageError(
      `Invalid ${what} ${
        JSON.stringify(text)
      }; give a whole number from ${range.min} to ${range.max}`,
    );
  }
  return value;
}

/**
 * Parses the LINES of `logs` and `screen`: how many lines, 1 to 100000000.
 *
 * @param text The value given.
 * @returns The number.
 *
 * @example
 * ```ts
 * import { parseLines } from "./args.ts";
 * console.log(parseLines("50")); // 50
 * ```
 */
export function parseLines(text: string): number {
  return parseCount(text, "LINES", { min: 1, max: 100_000_000 });
}

/**
 * Parses the pattern of `wait --for`: a regular expression, multi-line so
 * that `^` and `$` match at each line of the output.
 *
 * @param pattern The value given.
 * @returns The expression.
 *
 * @example
 * ```ts
 * import { parsePattern } from "./args.ts";
 * console.log(parsePattern("^done$").test("x\ndone")); // true
 * ```
 */
export function parsePattern(pattern: string): RegExp {
  try {
    return new RegExp(pattern, "m");
  } catch (error) {
    throw new UsageError(`Invalid --for pattern: ${(error as Error).message}`);
  }
}

/**
 * Parses a byte size within a range (see {@linkcode parseSize}).
 *
 * @param text The value given.
 * @param what The option's name, for the error message.
 * @param range The smallest and largest accepted size in bytes.
 * @returns Bytes.
 *
 * @example
 * ```ts
 * import { parseSizeIn } from "./args.ts";
 * console.log(parseSizeIn("1M", "--buffer-size", { min: 4096, max: 2 ** 28 })); // 1048576
 * ```
 */
export function parseSizeIn(
  text: string,
  what: string,
  range: { min: number; max: number },
): number {
  const value = parseSize(text, what);
  if (value < range.min || value > range.max) {
    throw new UsageError(
      `Invalid ${what} ${JSON.stringify(text)}; give ${
        formatBytes(range.min)
      } to ${formatBytes(range.max)}`,
    );
  }
  return value;
}

function formatBytes(bytes: number): string {
  if (bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2}M`;
  if (bytes % 1024 === 0) return `${bytes / 1024}k`;
  return String(bytes);
}

/**
 * Parses a TCP port.
 *
 * @param text The value given.
 * @returns The port, as text for ssh's `-p`.
 *
 * @example
 * ```ts
 * import { parsePort } from "./args.ts";
 * console.log(parsePort("2222")); // "2222"
 * ```
 */
export function parsePort(text: string): string {
  return String(parseCount(text, "PORT", { min: 1, max: 65535 }));
}

const SSH_SHORT_FLAGS = /^-[pioJF]./;
const SSH_LONG_FLAGS = /^--(port|identity|option|jump|config)=/;

/**
 * Refuses ssh flags glued to their value (`-oX=y`, `--option=X`). Without
 * this, a destination such as `-oProxyCommand=…` in a positional slot would
 * be read as an ssh option and run a local command. Written apart
 * (`-o X=y`), the flags work as usual.
 *
 * @param args The arguments before `--`.
 * @throws {UsageError} For a glued ssh flag.
 *
 * @example
 * ```ts
 * import { refuseGluedSshFlags } from "./args.ts";
 * refuseGluedSshFlags(["list", "host", "-o", "Port=22"]); // fine
 * ```
 */
export function refuseGluedSshFlags(args: string[]): void {
  for (const arg of args) {
    if (SSH_SHORT_FLAGS.test(arg) || SSH_LONG_FLAGS.test(arg)) {
      throw new UsageError(
        `Refusing ${
          JSON.stringify(arg)
        }: write ssh flags apart from their value ` +
          `(e.g. -o Key=value); a destination may not begin with "-"`,
        "invalid_destination",
      );
    }
  }
}
