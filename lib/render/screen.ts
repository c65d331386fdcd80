/**
 * Captures what a terminal shows right now: the visible rows, the cursor and
 * whether a full-screen program has switched to the alternate screen.
 *
 * @module
 */

import { emulate, type HeadlessTerminal } from "./_terminal.ts";
import { plainRows, rowText } from "./terminal_text.ts";

/** A snapshot of the visible part of a terminal. */
export interface Screen {
  /** The visible rows from top to bottom, exactly `rows` of them, right-trimmed. */
  lines: string[];
  /** Where the cursor is, 0-based within the visible rows. */
  cursor: { row: number; col: number };
  /** Terminal width in columns. */
  cols: number;
  /** Terminal height in rows. */
  rows: number;
  /** Whether the alternate screen is active (vim, less, top and the like). */
  altScreen: boolean;
  /**
   * The lines that scrolled off above the visible rows, oldest first, when
   * asked for with `scrollback` (the alternate screen has none).
   */
  scrollback?: string[];
}

/** Terminal size for {@link renderScreen}. */
export interface RenderScreenOptions {
  /** Terminal width in columns; must match the size the program drew for. */
  cols: number;
  /** Terminal height in rows; must match the size the program drew for. */
  rows: number;
  /**
   * How many lines that scrolled off above the screen to keep, for
   * {@linkcode Screen.scrollback}.
   *
   * @default {0}
   */
  scrollback?: number;
}

/**
 * Replays terminal output and returns the screen as it looks afterwards.
 *
 * Replay `data` from a point where the screen was in a known state (such as
 * the start of the session) at the size the program drew for, or cursor
 * addressing lands in the wrong places.
 *
 * @param data Raw terminal output, UTF-8 encoded.
 * @param options Terminal size.
 * @returns The visible rows, the cursor position and the active screen.
 *
 * @example
 * ```ts
 * import { renderScreen } from "./screen.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("\x1b[?1049h\x1b[H~\r\n~\x1b[1;1Hhi");
 * const screen = await renderScreen(bytes, { cols: 20, rows: 3 });
 * assert.deepEqual(screen.lines, ["hi", "~", ""]);
 * assert.deepEqual(screen.cursor, { row: 0, col: 2 });
 * assert.equal(screen.altScreen, true);
 * ```
 */
export function renderScreen(
  data: Uint8Array,
  options: RenderScreenOptions,
): Promise<Screen> {
  // Without scrollback only the viewport is read, so none is kept.
  const scrollback = options.scrollback ?? 0;
  const plain = plainScreen(data, options);
  if (plain) return Promise.resolve(plain);
  return emulate(
    data,
    { cols: options.cols, rows: options.rows, scrollback },
    (terminal) => readScreen(terminal, scrollback),
  );
}

/**
 * The screen of output that only prints, wraps, tabs and ends lines (see
 * `plainRows()`), laid out without the emulator: most shell screens are
 * such, and loading xterm.js costs a `sessh screen` more than the rest of
 * its work. It gives what {@linkcode renderScreen} gives through xterm.js
 * (`screen_test.ts` compares them), or null for anything else.
 *
 * @param data Raw terminal output, UTF-8 encoded.
 * @param options Terminal size and scrollback.
 * @returns The screen, or null when only the emulator can tell.
 *
 * @example
 * ```ts
 * import { plainScreen } from "./screen.ts";
 * const bytes = new TextEncoder().encode("one\r\n$ ");
 * console.log(plainScreen(bytes, { cols: 20, rows: 3 })?.cursor); // { row: 1, col: 2 }
 * ```
 */
export function plainScreen(
  data: Uint8Array,
  options: RenderScreenOptions,
): Screen | null {
  const { cols, rows } = options;
  const scrollback = options.scrollback ?? 0;
  if (!Number.isInteger(rows) || rows < 1) return null;
  const laid = plainRows(data, cols, rows + scrollback);
  if (laid === null) return null;
  const { x } = laid;
  const texts = laid.rows.map((row) => rowText(row).trimEnd());
  const top = Math.max(0, texts.length - rows);
  const lines = texts.slice(top);
  const cursorRow = lines.length - 1;
  while (lines.length < rows) lines.push("");
  return {
    ...(scrollback > 0
      ? { scrollback: texts.slice(Math.max(0, top - scrollback), top) }
      : {}),
    lines,
    cursor: { row: cursorRow, col: Math.min(x, cols - 1) },
    cols,
    rows,
    altScreen: false,
  };
}

function readScreen(terminal: HeadlessTerminal, scrollback: number): Screen {
  const buffer = terminal.buffer.active;
  const { cols, rows } = terminal;
  const text = (y: number) => {
    const line = buffer.getLine(y);
    return line === undefined ? "" : line.translateToString(true).trimEnd();
  };
  const lines: string[] = [];
  for (let y = 0; y < rows; y++) lines.push(text(buffer.baseY + y));
  const above: string[] = [];
  for (let y = Math.max(0, buffer.baseY - scrollback); y < buffer.baseY; y++) {
    above.push(text(y));
  }
  return {
    ...(scrollback > 0 ? { scrollback: above } : {}),
    lines,
    // After printing into the last column the cursor waits past the edge for
    // the next character; it is shown in the last column, as terminals do.
    cursor: { row: buffer.cursorY, col: Math.min(buffer.cursorX, cols - 1) },
    cols,
    rows,
    altScreen: buffer.type === "alternate",
  };
}

/**
 * Formats a screen as text: its rows joined by `"\n"`, without trailing empty
 * rows and without a final newline. Cursor and size are left to the caller.
 *
 * @param screen A screen from {@link renderScreen}.
 * @returns The visible text.
 *
 * @example
 * ```ts
 * import { formatScreen } from "./screen.ts";
 * import assert from "node:assert/strict";
 *
 * const text = formatScreen({
 *   lines: ["top", "", "bottom", "", ""],
 *   cursor: { row: 2, col: 6 },
 *   cols: 80,
 *   rows: 5,
 *   altScreen: false,
 * });
 * assert.equal(text, "top\n\nbottom");
 * ```
 */
export function formatScreen(screen: Screen): string {
  let end = screen.lines.length;
  while (end > 0 && screen.lines[end - 1] === "") end--;
  return screen.lines.slice(0, end).join("\n");
}
