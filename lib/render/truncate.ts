/**
 * Shortens long output to a byte budget by cutting out its middle, where the
 * least interesting part of a command's output usually is.
 *
 * @module
 */

/** What {@link truncateMiddle} returns. */
export interface TruncateResult {
  /** The text, shortened when it was over the budget. */
  text: string;
  /** Whether anything was cut out. */
  truncated: boolean;
  /** How many UTF-8 bytes of the input were cut out; 0 when nothing was. */
  omittedBytes: number;
}

const NEWLINE = 0x0a;
/** How far from the cut, as a share of the part kept, to look for a line end. */
const LINE_SEARCH_SHARE = 0.1;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Cuts the middle out of `text` when its UTF-8 encoding is longer than
 * `maxBytes`, keeping about half of the budget from the start and half from
 * the end, with a marker line `[… N bytes omitted …]` in between.
 *
 * Each kept part ends (or, for the tail, starts) on a line boundary when one
 * lies within the 10% of the part next to the cut, and otherwise on a
 * character boundary; a UTF-8 character is never split. The marker and the
 * line breaks around it count towards the budget, so the result is at most
 * `maxBytes` long unless the budget is smaller than the marker itself.
 *
 * @param text The text to shorten.
 * @param maxBytes The largest UTF-8 size of the result.
 * @returns The text and how much was cut out of it.
 *
 * @example
 * ```ts
 * import { truncateMiddle } from "./truncate.ts";
 * import assert from "node:assert/strict";
 *
 * const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n");
 * const result = truncateMiddle(lines, 200);
 * assert.equal(result.truncated, true);
 * assert.ok(result.text.startsWith("line 0\n"));
 * assert.ok(result.text.endsWith("\nline 99"));
 * assert.match(result.text, /\n\[… \d+ bytes omitted …\]\n/);
 * ```
 */
export function truncateMiddle(text: string, maxBytes: number): TruncateResult {
  if (!Number.isInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(
      `Byte budget must be a non-negative integer, got ${maxBytes}`,
    );
  }
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) {
    return { text, truncated: false, omittedBytes: 0 };
  }
  // Reserve room for the widest marker this input can need, with a line break
  // on each side.
  const reserve = encoder.encode(`\n${marker(bytes.length)}\n`).length;
  const budget = Math.max(0, maxBytes - reserve);
  const headBudget = Math.floor(budget / 2);
  const tailBudget = budget - headBudget;

  const headEnd = cutHead(bytes, headBudget);
  const tailStart = cutTail(bytes, bytes.length - tailBudget);
  const head = decoder.decode(bytes.subarray(0, headEnd));
  const tail = decoder.decode(bytes.subarray(tailStart));
  const omittedBytes = tailStart - headEnd;
  const before = head === "" || head.endsWith("\n") ? "" : "\n";
  const after = tail === "" ? "" : "\n";
  return {
    text: `${head}${before}${marker(omittedBytes)}${after}${tail}`,
    truncated: true,
    omittedBytes,
  };
}

function marker(omittedBytes: number): string {
  return `[… ${omittedBytes} bytes omitted …]`;
}

/**
 * The end of the head: just after a line break near `end`, else the character
 * boundary at or before `end`.
 */
function cutHead(bytes: Uint8Array, end: number): number {
  const limit = end - Math.floor(end * LINE_SEARCH_SHARE);
  // A break at `i` leaves `i + 1` bytes, which must be at least `limit`.
  for (let i = end - 1; i >= limit - 1 && i >= 0; i--) {
    if (bytes[i] === NEWLINE) return i + 1;
  }
  while (end > 0 && isContinuation(bytes[end])) end--;
  return end;
}

/**
 * The start of the tail: just after a line break near `start`, else the
 * character boundary at or after `start`.
 */
function cutTail(bytes: Uint8Array, start: number): number {
  const length = bytes.length - start;
  const limit = start + Math.floor(length * LINE_SEARCH_SHARE);
  // A line break right before `start` already makes it a line start.
  for (let i = start - 1; i < limit && i < bytes.length; i++) {
    if (i >= 0 && bytes[i] === NEWLINE) return i + 1;
  }
  while (start < bytes.length && isContinuation(bytes[start])) start++;
  return start;
}

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}
