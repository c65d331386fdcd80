/**
 * The `wait --for` pattern in the daemon's dialect. The daemon matches output
 * itself, so that a waiting client need not receive a flood to find a line
 * in it; it speaks Python's `re`, and JavaScript's RegExp differs from it in
 * more than spelling (`.`, `$`, `\d`, `\s`, `\b`, `[]`, named groups). A
 * pattern is rewritten only when every part of it has a Python form that
 * means the same on text; any other pattern is matched by the client.
 *
 * @module
 */

/** A pattern as the daemon compiles it: Python `re` source and its flags. */
export interface DaemonPattern {
  /** The Python regular expression. */
  source: string;
  /** `i` (case-insensitive) and `s` (dot matches newlines), as in JS. */
  flags: string;
}

/** JavaScript's `\s`: ASCII and Unicode white space, as Python's class. */
const SPACE =
  "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
const WORD = "A-Za-z0-9_";
const DIGIT = "0-9";
/** What ends a line for JavaScript's `^` and `$` with the m flag. */
const LINE_END = "\\n\\r\\u2028\\u2029";

/** Outside a class: the escapes whose meaning JS states in ASCII. */
const CLASS_ESCAPES: Record<string, string> = {
  d: `[${DIGIT}]`,
  D: `[^${DIGIT}]`,
  w: `[${WORD}]`,
  W: `[^${WORD}]`,
  s: `[${SPACE}]`,
  S: `[^${SPACE}]`,
  b: `(?:(?<=[${WORD}])(?![${WORD}])|(?<![${WORD}])(?=[${WORD}]))`,
  B: `(?:(?<=[${WORD}])(?=[${WORD}])|(?<![${WORD}])(?![${WORD}]))`,
};
/** Inside a class: the same sets, spelled as class members. */
const MEMBER_ESCAPES: Record<string, string> = {
  d: DIGIT,
  w: WORD,
  s: SPACE,
  b: "\\x08",
};
const CONTROL_ESCAPES: Record<string, string> = {
  t: "\\t",
  n: "\\n",
  r: "\\r",
  v: "\\x0b",
  f: "\\x0c",
};

/**
 * Rewrites a JavaScript regular expression for the daemon.
 *
 * @param pattern The pattern as the caller gave it.
 * @returns The Python form, or null when some part has none that surely means
 *   the same (the `u` and `v` flags, lookbehind, `\p`, identity escapes of
 *   letters, octal escapes, class subtraction); the client matches those.
 *
 * @example
 * ```ts
 * import { daemonPattern } from "./pattern.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(daemonPattern(/^done$/m), {
 *   source: "(?:^|(?<=[\\n\\r\\u2028\\u2029]))done(?=[\\n\\r\\u2028\\u2029]|\\Z)",
 *   flags: "",
 * });
 * assert.equal(daemonPattern(/(?<=a)b/), null);
 * ```
 */
export function daemonPattern(pattern: RegExp): DaemonPattern | null {
  if (/[uv]/.test(pattern.flags)) return null;
  try {
    return {
      source: new Translation(pattern.source, pattern.flags).run(),
      flags: [...pattern.flags].filter((f) => f === "i" || f === "s").join(""),
    };
  } catch (error) {
    if (error instanceof Untranslatable) return null;
    throw error;
  }
}

class Untranslatable extends Error {}

/** One pass over a JS pattern's source, writing its Python form. */
class Translation {
  #src: string;
  #multiline: boolean;
  #dotAll: boolean;
  #i = 0;
  #out = "";
  #groups: number;
  #names: boolean;

  constructor(source: string, flags: string) {
    this.#src = source;
    this.#multiline = flags.includes("m");
    // With the s flag the dot is Python's, under its DOTALL flag.
    this.#dotAll = flags.includes("s");
    // Counted up front: `\N` is a back-reference only when N groups exist.
    this.#groups = (source.match(/\((?!\?)|\(\?<(?![=!])/g) ?? []).length;
    this.#names = /\(\?<(?![=!])/.test(source);
  }

  run(): string {
    while (this.#i < this.#src.length) {
      const c = this.#src[this.#i++];
      if (c === "\\") this.#out += this.#escape(false);
      else if (c === "[") this.#out += this.#class();
      else if (c === "(") this.#out += this.#group();
      else if (c === ".") {
        this.#out += this.#dotAll ? "." : `[^${LINE_END}]`;
      } else if (c === "^") {
        this.#out += this.#multiline ? `(?:^|(?<=[${LINE_END}]))` : "\\A";
      } else if (c === "$") {
        this.#out += this.#multiline ? `(?=[${LINE_END}]|\\Z)` : "\\Z";
      } else if (c === "{") this.#out += this.#brace();
      else if (c === "}") this.#out += "\\}";
      else this.#out += c;
    }
    return this.#out;
  }

  /** `{n}`, `{n,}`, `{n,m}` quantify; any other brace is a literal in JS. */
  #brace(): string {
    const quantifier = /^\d+(,\d*)?\}/.exec(this.#src.slice(this.#i));
    if (!quantifier) return "\\{";
    this.#i += quantifier[0].length;
    return "{" + quantifier[0];
  }

  #group(): string {
    const rest = this.#src.slice(this.#i);
    if (!rest.startsWith("?")) return "(";
    for (const kind of ["?:", "?=", "?!"]) {
      if (rest.startsWith(kind)) {
        this.#i += kind.length;
        return "(" + kind;
      }
    }
    // Lookbehind: Python wants a fixed width, JS does not.
    if (rest.startsWith("?<=") || rest.startsWith("?<!")) {
      throw new Untranslatable();
    }
    const named = /^\?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
    if (!named) throw new Untranslatable();
    this.#i += named[0].length;
    return `(?P<${named[1]}>`;
  }

  /** A class `[...]`; the opening bracket has been read. */
  #class(): string {
    let negated = false;
    if (this.#src[this.#i] === "^") {
      negated = true;
      this.#i++;
    }
    let members = "";
    while (this.#i < this.#src.length && this.#src[this.#i] !== "]") {
      const c = this.#src[this.#i++];
      if (c === "\\") members += this.#escape(true);
      // Python warns of set operations it may add: `[`, `&&`, `~~`, `||`, `--`.
      else if (c === "[" || c === "&" || c === "~" || c === "|") {
        members += "\\" + c;
      } else if (c === "-" && this.#src[this.#i] === "-") {
        throw new Untranslatable();
      } else members += c;
    }
    this.#i++; // the closing bracket
    // JS's empty class matches nothing and its negation anything; Python
    // has no empty class.
    if (members === "") return negated ? "[\\s\\S]" : "(?!)";
    return (negated ? "[^" : "[") + members + "]";
  }

  /** An escape; the backslash has been read. */
  #escape(inClass: boolean): string {
    const c = this.#src[this.#i++];
    if (inClass && c in MEMBER_ESCAPES) return MEMBER_ESCAPES[c];
    if (inClass && /[DWSB]/.test(c)) throw new Untranslatable();
    if (!inClass && c in CLASS_ESCAPES) return CLASS_ESCAPES[c];
    if (c in CONTROL_ESCAPES) return CONTROL_ESCAPES[c];
    if (c === "0" && !/\d/.test(this.#src[this.#i] ?? "")) return "\\x00";
    if (/[1-9]/.test(c) && !inClass) {
      const digits = c + (/^\d*/.exec(this.#src.slice(this.#i))?.[0] ?? "");
      // More than the groups, JS reads an octal escape; no such thing here.
      if (Number(digits) > this.#groups) throw new Untranslatable();
      this.#i += digits.length - 1;
      return `(?:\\${digits})`;
    }
    if (c === "x" || c === "u") {
      const size = c === "x" ? 2 : 4;
      const hex = this.#src.slice(this.#i, this.#i + size);
      if (!new RegExp(`^[0-9A-Fa-f]{${size}}$`).test(hex)) {
        throw new Untranslatable();
      }
      this.#i += size;
      return `\\${c}${hex}`;
    }
    if (c === "c" && /[A-Za-z]/.test(this.#src[this.#i] ?? "")) {
      const code = this.#src.charCodeAt(this.#i++) % 32;
      return `\\x${code.toString(16).padStart(2, "0")}`;
    }
    if (c === "k" && this.#names && !inClass) {
      const name = /^<([A-Za-z_][A-Za-z0-9_]*)>/.exec(this.#src.slice(this.#i));
      if (!name) throw new Untranslatable();
      this.#i += name[0].length;
      return `(?P=${name[1]})`;
    }
    // A letter or digit after a backslash names something else in Python
    // (`\a` is BEL, `\Z` the end); punctuation is itself in both.
    if (c === undefined || /[A-Za-z0-9]/.test(c)) throw new Untranslatable();
    return "\\" + c;
  }
}
