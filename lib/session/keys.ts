/**
 * tmux-style key names turned into the bytes a terminal sends.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

const NAMED: Record<string, string> = {
  enter: "\r",
  escape: "\x1b",
  esc: "\x1b",
  tab: "\t",
  btab: "\x1b[Z",
  bspace: "\x7f",
  space: " ",
  up: "\x1b[A",
  down: "\x1b[B",
  right: "\x1b[C",
  left: "\x1b[D",
  home: "\x1b[H",
  end: "\x1b[F",
  ic: "\x1b[2~",
  insert: "\x1b[2~",
  dc: "\x1b[3~",
  delete: "\x1b[3~",
  ppage: "\x1b[5~",
  pageup: "\x1b[5~",
  pgup: "\x1b[5~",
  npage: "\x1b[6~",
  pagedown: "\x1b[6~",
  pgdn: "\x1b[6~",
  f1: "\x1bOP",
  f2: "\x1bOQ",
  f3: "\x1bOR",
  f4: "\x1bOS",
  f5: "\x1b[15~",
  f6: "\x1b[17~",
  f7: "\x1b[18~",
  f8: "\x1b[19~",
  f9: "\x1b[20~",
  f10: "\x1b[21~",
  f11: "\x1b[23~",
  f12: "\x1b[24~",
};

const CONTROL_PUNCTUATION: Record<string, string> = {
  "@": "\x00",
  " ": "\x00",
  "[": "\x1b",
  "\\": "\x1c",
  "]": "\x1d",
  "^": "\x1e",
  "_": "\x1f",
  "?": "\x7f",
};

/**
 * The key names, as tmux and the README spell them, for messages and
 * completion. Case does not matter, and `Esc`, `Insert`, `Delete`, `PPage`,
 * `NPage`, `PgUp`, `PgDn` are accepted too; `C-`, `M-` and `S-` go before
 * a character or a name (`C-c`, `M-x`, `S-Tab`).
 */
export const KEY_NAMES: readonly string[] = [
  "Enter",
  "Escape",
  "Tab",
  "BTab",
  "BSpace",
  "Space",
  "Up",
  "Down",
  "Left",
  "Right",
  "Home",
  "End",
  "PageUp",
  "PageDown",
  "IC",
  "DC",
  ...Array.from({ length: 12 }, (_, i) => `F${i + 1}`),
];

/**
 * Whether a word names a key: a key name, one character, or `C-`, `M-`,
 * `S-` before one of them. Other words are typed literally by
 * {@linkcode keyBytes}, which the command line allows only when asked.
 *
 * @param key The word.
 * @returns Whether it names a key.
 *
 * @example
 * ```ts
 * import { isKeyName } from "./keys.ts";
 * console.log(isKeyName("C-c"), isKeyName("pagedown"), isKeyName("q")); // true true true
 * console.log(isKeyName("Foo")); // false
 * ```
 */
export function isKeyName(key: string): boolean {
  if ([...key].length === 1 || NAMED[key.toLowerCase()]) return true;
  const modified = /^((?:[CMS]-)+)(.+)$/i.exec(key);
  return modified !== null &&
    ([...modified[2]].length === 1 ||
      NAMED[modified[2].toLowerCase()] !== undefined);
}

/**
 * Turns one tmux key name into bytes. Names are `Enter`, `C-c`, `M-x`,
 * `Escape`, `Tab`, `BSpace`, arrows, `Home`, `End`, `PageUp`, `PageDown`,
 * `F1`–`F12` and more; anything that is not a key name is typed literally.
 *
 * @param key A key name or literal word.
 * @returns The bytes to send, as a string.
 *
 * @example
 * ```ts
 * import { keyBytes } from "./keys.ts";
 * console.log(JSON.stringify(keyBytes("C-c"))); // "\u0003"
 * console.log(keyBytes("hello")); // "hello"
 * ```
 */
export function keyBytes(key: string): string {
  if (key === "") {
    throw new UsageError("Empty key name; pass a key such as Enter or C-c");
  }
  const named = NAMED[key.toLowerCase()];
  if (named) return named;
  const modified = /^((?:[CMS]-)+)(.+)$/i.exec(key);
  if (!modified) return key;
  const mods = modified[1].toUpperCase();
  let base = modified[2];
  const baseNamed = NAMED[base.toLowerCase()];
  if (base.length !== 1 && !baseNamed) return key;
  let bytes: string;
  if (mods.includes("C")) {
    if (base.length !== 1) {
      throw new UsageError(
        `Cannot combine Ctrl with "${base}" in "${key}"; use C-<letter>`,
      );
    }
    bytes = controlByte(base, key);
  } else {
    if (mods.includes("S") && base.length === 1) base = base.toUpperCase();
    bytes = base.length === 1 ? base : baseNamed;
    if (mods.includes("S") && base.toLowerCase() === "tab") bytes = NAMED.btab;
  }
  return mods.includes("M") ? "\x1b" + bytes : bytes;
}

function controlByte(base: string, key: string): string {
  const code = base.toLowerCase().charCodeAt(0);
  if (code >= 0x61 && code <= 0x7a) return String.fromCharCode(code - 0x60);
  const punct = CONTROL_PUNCTUATION[base];
  if (punct) return punct;
  throw new UsageError(
    `Unknown control key "${key}"; use C-a … C-z, C-@, C-[, C-\\, C-], C-^, C-_`,
  );
}

/**
 * Turns a list of key names into the bytes to send, in order.
 *
 * @param keys Key names and literal words.
 * @returns The concatenated bytes.
 *
 * @example
 * ```ts
 * import { keysToBytes } from "./keys.ts";
 * const bytes = keysToBytes(["ls", "Enter"]);
 * console.log(new TextDecoder().decode(bytes)); // "ls\r"
 * ```
 */
export function keysToBytes(keys: string[]): Uint8Array {
  return new TextEncoder().encode(keys.map(keyBytes).join(""));
}
