/**
 * Turns raw PTY output into the plain text a terminal would show, with
 * overwrites, erases and cursor movements applied and colours dropped.
 *
 * @module
 */

import { emulate, type HeadlessTerminal, loadXterm } from "./_terminal.ts";

/** Options for {@link renderText}. */
export interface RenderTextOptions {
  /**
   * Terminal width in columns. Lines longer than this wrap on screen but come
   * back as one line.
   *
   * @default {160}
   */
  cols?: number;
  /**
   * Terminal height in rows. Cursor addressing (`ESC [ row ; col H`) is
   * relative to the last `rows` lines.
   *
   * @default {48}
   */
  rows?: number;
  /** Keep only the last this many lines. All lines when not given. */
  lines?: number;
}

const DEFAULT_COLS = 160;
const DEFAULT_ROWS = 48;
const LF = 0x0a;
const VT = 0x0b;
const FF = 0x0c;

/**
 * Renders terminal output as text: feeds `data` into a headless terminal and
 * reads back the whole normal-screen buffer (scrollback and viewport).
 *
 * Carriage returns, backspaces, erases and cursor movements take effect as on
 * a real terminal, so a progress bar leaves only its final state. Rows that
 * the terminal wrapped are joined back into one line, trailing whitespace is
 * trimmed from every line and trailing empty lines are dropped. The result
 * ends with `"\n"` unless it is empty.
 *
 * The bytes are taken as they leave a PTY, where the line discipline has
 * already turned `"\n"` into `"\r\n"`; a bare `"\n"` only moves down a row.
 * What a full-screen program draws on the alternate screen is not part of the
 * text; use `renderScreen()` for that.
 *
 * @param data Raw terminal output, UTF-8 encoded.
 * @param options Terminal size and how many lines to keep.
 * @returns The rendered text.
 *
 * @example Progress bars and colours
 * ```ts
 * import { renderText } from "./terminal_text.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode(
 *   "\x1b[32mok\x1b[0m\r\nloading 10%\rloading 100%\r\n",
 * );
 * assert.equal(await renderText(bytes), "ok\nloading 100%\n");
 * ```
 *
 * @example Only the last lines
 * ```ts
 * import { renderText } from "./terminal_text.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("one\r\ntwo\r\nthree\r\n");
 * assert.equal(await renderText(bytes, { lines: 2 }), "two\nthree\n");
 * ```
 */
export async function renderText(
  data: Uint8Array,
  options: RenderTextOptions = {},
): Promise<string> {
  const { cols = DEFAULT_COLS, rows = DEFAULT_ROWS, lines } = options;
  if (lines !== undefined && (!Number.isInteger(lines) || lines < 0)) {
    throw new RangeError(
      `Line count must be a non-negative integer, got ${lines}`,
    );
  }
  // A command that printed nothing (most `run`s of a script) costs no decoding.
  if (data.length === 0) return "";
  const plain = plainLines(data) ?? tabbedLines(data, cols);
  if (plain) return keepLines(plain, lines);
  const scrollback = Math.max(rows, estimateRowCount(data, cols));
  const logical = await emulate(
    data,
    { cols, rows, scrollback },
    readLogicalLines,
  );
  return keepLines(logical, lines);
}

function keepLines(logical: string[], lines: number | undefined): string {
  while (logical.length > 0 && logical[logical.length - 1] === "") {
    logical.pop();
  }
  const kept = lines === undefined ? logical : logical.slice(
    Math.max(0, logical.length - lines),
  );
  return kept.length === 0 ? "" : kept.join("\n") + "\n";
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

const ESC = 0x1b;
const CR = 0x0d;
/** The bell: readline rings it after a prompt; a terminal shows nothing. */
const BEL = 0x07;
const TAB = 0x09;

/**
 * The length of an escape sequence at `at` that changes nothing a terminal
 * shows as text, or 0: a colour or attribute (SGR, `ESC [ … m`), or bracketed
 * paste turned on or off (`ESC [ ? 2004 h|l`), which bash 5.1 and later
 * write around every prompt.
 */
function invisibleSequence(data: Uint8Array, at: number): number {
  if (data[at + 1] !== 0x5b) return 0; // "["
  let i = at + 2;
  if (data[i] === 0x3f) { // "?": only bracketed paste
    i++;
    const mode = [0x32, 0x30, 0x30, 0x34]; // "2004"
    for (const byte of mode) if (data[i++] !== byte) return 0;
    return data[i] === 0x68 || data[i] === 0x6c ? i + 1 - at : 0; // h, l
  }
  // Digits, ";" and ":" (sub-parameters), then "m".
  while (
    i < data.length &&
    ((data[i] >= 0x30 && data[i] <= 0x39) || data[i] === 0x3b ||
      data[i] === 0x3a)
  ) i++;
  return data[i] === 0x6d ? i + 1 - at : 0;
}

/**
 * The lines of output that a terminal would show exactly as written: valid
 * UTF-8 of printable characters, every line ended by CR LF, no tab,
 * backspace or other control but the bell, and no escape but those that
 * change no text (colours, bracketed paste); a lone CR only where the cursor
 * already is at the start of a line. Most command output, prompts included, is such; it
 * needs no emulator (whose loading costs tens of milliseconds per call).
 * Trailing spaces go, as the emulator drops them too. Null for anything
 * else.
 *
 * @param data Raw terminal output.
 * @returns The lines, or null when only the emulator can tell.
 *
 * @example
 * ```ts
 * import { plainLines } from "./terminal_text.ts";
 * plainLines(new TextEncoder().encode("\x1b[?2004h$ ls\r\n\x1b[?2004l\ra\r\n"));
 * // ["$ ls", "a", ""]
 * ```
 */
export function plainLines(data: Uint8Array): string[] | null {
  const text = visibleText(data, false);
  // C1 controls and characters of other widths are the emulator's to place.
  if (text === null || /[\u0080-\u009f\u1100-\uffff]/.test(text)) return null;
  return text.split("\r\n").map((line) => line.replace(/ +$/, ""));
}

/**
 * The text of output that a terminal shows as written (see
 * {@linkcode plainLines}), with tabs too when `tabs` is set, without the
 * escapes that change no text, the bells and the CRs that move nothing;
 * lines still end in CR LF and keep their trailing spaces. Null for
 * anything else.
 *
 * @param data Raw terminal output.
 * @param tabs Whether a tab is taken as written (the caller moves the
 *   cursor to the next tab stop).
 * @returns The text, or null when only the emulator can tell.
 *
 * @example
 * ```ts
 * import { visibleText } from "./terminal_text.ts";
 * visibleText(new TextEncoder().encode("\x1b[1m$ \x1b[0m\x07"), false); // "$ "
 * ```
 */
export function visibleText(data: Uint8Array, tabs: boolean): string | null {
  let kept: Uint8Array = data;
  let length = 0;
  const keep = (from: number, to: number) => {
    if (kept === data) kept = new Uint8Array(data.length);
    kept.set(data.subarray(from, to), length);
    length += to - from;
  };
  let run = 0; // start of the bytes not yet kept
  let lineStart = true; // the cursor is at column 0
  for (let i = 0; i < data.length; i++) {
    const byte = data[i];
    if ((byte >= 0x20 && byte !== 0x7f) || (tabs && byte === TAB)) {
      lineStart = false;
      continue;
    }
    if (byte === CR && data[i + 1] === 0x0a) {
      i++;
      lineStart = true;
      continue;
    }
    const skip = byte === ESC
      ? invisibleSequence(data, i)
      : byte === BEL || (byte === CR && lineStart)
      ? 1
      : 0;
    if (skip === 0) return null;
    keep(run, i);
    i += skip - 1;
    run = i + 1;
  }
  if (kept !== data) {
    keep(run, data.length);
    kept = kept.subarray(0, length);
  }
  try {
    return strictUtf8.decode(kept);
  } catch {
    return null;
  }
}

/** Characters one cell wide in xterm.js (no combining mark), and CR LF and tab. */
const ONE_CELL = /^[\t\r\n\x20-\x7e\u00a0-\u00ac\u00ae-\u02ff]*$/;
const TAB_STOP = 8;

/** A row as printing plain output leaves it. */
export interface PlainRow {
  /** Its cells from the left; a cell a tab skipped is empty (a hole). */
  cells: string[];
  /** Whether the text went on into the next row (it wrapped). */
  wrapped: boolean;
}

/**
 * The rows that output which only prints, wraps, tabs and ends lines (see
 * {@linkcode visibleText}) leaves in a terminal `cols` wide, and where its
 * cursor ends, laid out as xterm.js lays them out (`screen_test.ts` and
 * `terminal_text_test.ts` compare them); null for anything else.
 *
 * @param data Raw terminal output.
 * @param cols Terminal width, 2 or more.
 * @param keep How many of the last rows are needed: those above go as they
 *   scroll past, so that a full buffer is not held row by row.
 * @returns The rows, at least one, and the cursor's column (`cols` when a
 *   wrap is pending), or null.
 *
 * @example
 * ```ts
 * import { plainRows } from "./terminal_text.ts";
 * const laid = plainRows(new TextEncoder().encode("a\tb\r\n$ "), 20);
 * console.log(laid?.rows.length, laid?.x); // 2 2
 * ```
 */
export function plainRows(
  data: Uint8Array,
  cols: number,
  keep = Infinity,
): { rows: PlainRow[]; x: number } | null {
  // xterm.js widens a terminal to 2 columns at least.
  if (!Number.isInteger(cols) || cols < 2) return null;
  const text = visibleText(data, true);
  if (text === null || !ONE_CELL.test(text)) return null;
  const rows: PlainRow[] = [];
  let cells: string[] = [];
  const end = (wrapped: boolean) => {
    rows.push({ cells, wrapped });
    cells = [];
    if (rows.length > 2 * keep + 64) rows.splice(0, rows.length - keep);
  };
  let x = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === "\r") { // always before "\n" (visibleText)
      end(false);
      x = 0;
      i++;
    } else if (char === "\t") {
      // Past the last column (a wrap pending) a tab moves nothing.
      if (x < cols) {
        x = Math.min(cols - 1, (Math.floor(x / TAB_STOP) + 1) * TAB_STOP);
      }
    } else {
      if (x >= cols) {
        end(true);
        x = 0;
      }
      cells[x++] = char;
    }
  }
  rows.push({ cells, wrapped: false });
  return { rows, x };
}

/**
 * A row's text, holes as spaces. A wrapped row is full: only printing
 * into its last cell leaves a wrap pending.
 *
 * @param row A row from {@linkcode plainRows}.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { rowText } from "./terminal_text.ts";
 * const cells: string[] = [];
 * cells[0] = "a";
 * cells[2] = "b"; // a tab skipped the cell between
 * console.log(JSON.stringify(rowText({ cells, wrapped: false }))); // "a b"
 * ```
 */
export function rowText(row: PlainRow): string {
  return Array.from(row.cells, (c) => c ?? " ").join("");
}

/**
 * The lines of plain output with tabs (see {@linkcode plainRows}), as the
 * emulator gives them: wrapped rows joined, trailing blanks dropped.
 */
function tabbedLines(data: Uint8Array, cols: number): string[] | null {
  const laid = plainRows(data, cols);
  if (laid === null) return null;
  const lines: string[] = [];
  let current = "";
  for (const row of laid.rows) {
    if (row.wrapped) current += rowText(row);
    else {
      lines.push((current + rowText(row)).trimEnd());
      current = "";
    }
  }
  return lines;
}

/**
 * An upper bound on the rows that printing `data` fills, so that nothing
 * scrolls out of the buffer: every line feed starts a row and every `cols`
 * bytes of a line (a cell needs at least one byte) may wrap into another.
 */
function estimateRowCount(data: Uint8Array, cols: number): number {
  let feeds = 0;
  for (const byte of data) {
    if (byte === LF || byte === VT || byte === FF) feeds++;
  }
  return feeds + Math.ceil(data.length / cols) + 1;
}

function readLogicalLines(terminal: HeadlessTerminal): string[] {
  const buffer = terminal.buffer.normal;
  const cols = terminal.cols;
  const cell = buffer.getNullCell();
  const result: string[] = [];
  let current = "";
  for (let y = 0; y < buffer.length; y++) {
    const line = buffer.getLine(y);
    if (line === undefined) break;
    const next = buffer.getLine(y + 1);
    if (next?.isWrapped) {
      // A wide character that did not fit in the last column wrapped and left
      // an empty cell behind; the row is otherwise taken in full, spaces
      // included, because the text goes on in the next row.
      let end = cols;
      const last = line.getCell(cols - 1, cell);
      if (
        last !== undefined && last.getWidth() === 1 && last.getChars() === "" &&
        next.getCell(0, cell)?.getWidth() === 2
      ) {
        end = cols - 1;
      }
      current += line.translateToString(false, 0, end);
    } else {
      result.push((current + line.translateToString(true)).trimEnd());
      current = "";
    }
  }
  if (current !== "") result.push(current.trimEnd());
  return result;
}

/**
 * Starts loading the terminal emulator in the background, so that a later
 * render does not wait for it.
 *
 * @example
 * ```ts
 * import { preloadRenderer } from "./terminal_text.ts";
 * preloadRenderer();
 * ```
 */
export function preloadRenderer(): void {
  loadXterm().catch(() => {});
}
