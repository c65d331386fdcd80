/**
 * The local detach key of `sessh attach` (`Ctrl-B d` by default): spotting
 * it in the keystrokes without holding back anything else.
 *
 * @module
 */
import { keyBytes } from "../session/keys.ts";
import { UsageError } from "../errors.ts";

/** The default detach key sequence, as the original sessh had it. */
export const DEFAULT_DETACH_KEYS = "C-b d";

/**
 * Parses a `--detach-keys` value: tmux key names separated by spaces or
 * commas (`"C-b d"`, `"C-a,q"`), or `none` to turn detaching off.
 *
 * @param spec The option value.
 * @returns The byte sequence, or null for `none`.
 *
 * @example
 * ```ts
 * import { parseDetachKeys } from "./detach_keys.ts";
 * console.log(parseDetachKeys("C-b d")); // Uint8Array(2) [ 2, 100 ]
 * console.log(parseDetachKeys("none")); // null
 * ```
 */
export function parseDetachKeys(spec: string): Uint8Array | null {
  const trimmed = spec.trim();
  if (trimmed.toLowerCase() === "none") return null;
  const keys = trimmed.split(/[\s,]+/).filter(Boolean);
  if (keys.length === 0) {
    throw new UsageError(
      'Empty --detach-keys; give key names such as "C-b d", or "none"',
    );
  }
  const bytes = new TextEncoder().encode(keys.map(keyBytes).join(""));
  if (bytes.length > 16) {
    throw new UsageError(
      `--detach-keys ${
        JSON.stringify(spec)
      } is too long; use at most a few keys`,
    );
  }
  return bytes;
}

/**
 * Watches keystrokes for the detach sequence. Bytes that could start it are
 * held until the next keystroke shows whether it completes; everything else
 * passes straight through.
 *
 * @example
 * ```ts
 * import { DetachMatcher } from "./detach_keys.ts";
 * const matcher = new DetachMatcher(new Uint8Array([2, 100]));
 * console.log(matcher.feed(new Uint8Array([97, 2]))); // { forward: Uint8Array(1) [ 97 ], detach: false }
 * console.log(matcher.feed(new Uint8Array([100]))); // { forward: Uint8Array(0) [], detach: true }
 * ```
 */
export class DetachMatcher {
  #sequence: Uint8Array | null;
  #matched = 0;

  /** @param sequence The detach bytes, or null when detaching is off. */
  constructor(sequence: Uint8Array | null) {
    this.#sequence = sequence;
  }

  /**
   * Feeds keystrokes.
   *
   * @param input Bytes read from the terminal.
   * @returns What to send to the session, and whether to detach.
   */
  feed(input: Uint8Array): { forward: Uint8Array; detach: boolean } {
    const sequence = this.#sequence;
    if (!sequence) return { forward: input, detach: false };
    const out: number[] = [];
    for (const byte of input) {
      if (byte === sequence[this.#matched]) {
        this.#matched++;
        if (this.#matched === sequence.length) {
          this.#matched = 0;
          return { forward: new Uint8Array(out), detach: true };
        }
        continue;
      }
      // Not the sequence after all: release what was held, then retry this
      // byte as a possible new start.
      out.push(...sequence.subarray(0, this.#matched));
      this.#matched = byte === sequence[0] ? 1 : 0;
      if (this.#matched === 0) out.push(byte);
    }
    return { forward: new Uint8Array(out), detach: false };
  }
}
