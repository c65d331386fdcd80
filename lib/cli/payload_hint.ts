/**
 * The most common slip with `run`, `send` and `keys`: the payload typed
 * without `--` (`sessh run work box uptime`, `… ls -la`). The parser alone
 * would call `uptime` an invalid PORT and `-la` an unknown option; this
 * finds where the payload began and says so, with the command line
 * corrected and quoted for a POSIX shell.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { parsePort, PAYLOADS } from "./args.ts";

/** What the scan needs of a verb's flags: each one's kind, and the aliases. */
export interface FlagShapes {
  /** Flags by their camelCase name; `boolean` ones take no value. */
  readonly flags?: Readonly<Record<string, { readonly kind: string }>>;
  /** One-letter aliases to camelCase flag names. */
  readonly aliases?: Readonly<Record<string, string>>;
}

/**
 * Quotes a word for a POSIX shell: as it is when it needs no quoting,
 * else in single quotes (a `'` inside becomes `'\''`).
 *
 * @param word The word.
 * @returns The word as a shell reads it back unchanged.
 *
 * @example
 * ```ts
 * import { shellQuote } from "./payload_hint.ts";
 * console.log(shellQuote("ls -la")); // 'ls -la'
 * console.log(shellQuote("it's")); // 'it'\''s'
 * console.log(shellQuote("me@box")); // me@box
 * ```
 */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}

function camel(kebab: string): string {
  return kebab.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Whether `--NAME` (without `--` and `=value`) takes a value; undefined when unknown. */
function longTakesValue(name: string, shapes: FlagShapes): boolean | undefined {
  const flags = shapes.flags ?? {};
  const flag = flags[camel(name)] ?? flags[name];
  if (flag) return flag.kind !== "boolean";
  const negated = /^no-?(.+)$/.exec(name);
  const base = negated && (flags[camel(negated[1])] ?? flags[negated[1]]);
  return base && base.kind === "boolean" ? false : undefined;
}

/**
 * Finds a payload given without `--` to `run`, `send` or `keys`: the first
 * word after NAME DEST [PORT] that is not an option of the verb and not a
 * port. Everything from that word on belongs to the payload, as with
 * `ssh host ls -la`.
 *
 * @param args The arguments before `--`, the verb among them.
 * @param payload The words after `--`, or null.
 * @param verb The verb.
 * @param shapes The verb's flags and aliases.
 * @returns The error to report, or null when the words are no such slip
 * (another verb, help asked for, an unknown option before NAME DEST).
 *
 * @example
 * ```ts
 * import { misplacedPayload } from "./payload_hint.ts";
 * const error = misplacedPayload(["run", "w", "box", "ls", "-la"], null, "run", {});
 * console.log(error?.message);
 * // Unexpected argument "ls"; put the COMMAND after --: sessh run w box -- ls -la
 * ```
 */
export function misplacedPayload(
  args: readonly string[],
  payload: readonly string[] | null,
  verb: string,
  shapes: FlagShapes,
): UsageError | null {
  const what = PAYLOADS[verb as keyof typeof PAYLOADS];
  const at = args.indexOf(verb);
  if (what === undefined || at < 0) return null;
  let positionals = 0;
  for (let i = at + 1; i < args.length; i++) {
    const word = args[i];
    if (word === "--help" || word === "-h") return null;
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const name = word.slice(2, eq < 0 ? undefined : eq);
      const takesValue = longTakesValue(name, shapes);
      if (takesValue === undefined) return null;
      if (takesValue && eq < 0) i++;
      continue;
    }
    if (word.startsWith("-") && word.length > 1) {
      const flag = shapes.flags?.[shapes.aliases?.[word[1]] ?? ""];
      if (!flag) return null;
      if (flag.kind !== "boolean" && word.length === 2) i++;
      continue;
    }
    if (positionals < 2 || (positionals === 2 && isPort(word))) {
      positionals++;
      continue;
    }
    const corrected = [
      ...args.slice(0, i),
      "--",
      ...args.slice(i),
      ...(payload ?? []),
    ];
    return new UsageError(
      `Unexpected argument ${
        JSON.stringify(word)
      }; put the ${what} after --: sessh ${
        corrected.map(shellQuote).join(" ")
      }`,
    );
  }
  return null;
}

function isPort(word: string): boolean {
  try {
    parsePort(word);
    return true;
  } catch {
    return false;
  }
}
