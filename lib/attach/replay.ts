/**
 * Replay hygiene for `sessh attach`: the bounded output buffer is replayed
 * from a clean boundary, preceded by the terminal modes in force there (even
 * when the bytes that set them were evicted), and without terminal queries,
 * so the local terminal never answers into the shell.
 *
 * @module
 */
import { TRACKED_MODES } from "../contract/spec.ts";

/**
 * Private modes (`CSI ? N h/l`) that change how a terminal behaves or what
 * it shows, and so must be in force before replayed bytes are drawn: cursor
 * keys (1), cursor visible (25), the alternate screen (47, 1047, 1049), the
 * mouse (1000, 1002, 1003, 1005, 1006, 1015) and bracketed paste (2004).
 * The contract lists them; the daemon tracks the same.
 */
export { TRACKED_MODES };

/** Terminal modes by name: private mode numbers as strings, and `keypad`. */
export type Modes = Record<string, boolean>;

const DEFAULTS: Modes = { "25": true };

// deno-lint-ignore no-control-regex
const MODE_CHANGE = /\x1b\[\?([0-9;]+)([hl])|\x1b([=>c])/g;

/**
 * Applies the mode changes found in `data` to `modes`.
 *
 * @param modes Modes in force before `data` (not changed).
 * @param data Terminal output.
 * @returns Modes in force after `data`.
 *
 * @example
 * ```ts
 * import { applyModeChanges } from "./replay.ts";
 * const modes = applyModeChanges({}, new TextEncoder().encode("\x1b[?1049h\x1b[?25l"));
 * console.log(modes["1049"], modes["25"]); // true false
 * ```
 */
export function applyModeChanges(modes: Modes, data: Uint8Array): Modes {
  const result: Modes = { ...modes };
  // Most output has no escape at all; this runs on every chunk attached.
  if (!data.includes(0x1b)) return result;
  const text = latin1(data);
  for (const match of text.matchAll(MODE_CHANGE)) {
    if (match[3] === "c") {
      for (const key of Object.keys(result)) delete result[key];
      continue;
    }
    if (match[3]) {
      result.keypad = match[3] === "=";
      continue;
    }
    for (const param of match[1].split(";")) {
      if (TRACKED_MODES.includes(Number(param))) {
        result[param] = match[2] === "h";
      }
    }
  }
  return result;
}

/**
 * The sequences that put a fresh terminal into `modes`.
 *
 * @param modes Modes to establish.
 * @returns Escape sequences; empty when every mode is at its default.
 *
 * @example
 * ```ts
 * import { modePrefix } from "./replay.ts";
 * console.log(JSON.stringify(modePrefix({ "1049": true, "2004": true })));
 * // "\u001b[?1049h\u001b[?2004h"
 * ```
 */
export function modePrefix(modes: Modes): string {
  let out = "";
  // The alternate screen first: the other modes are per screen in some terminals.
  const order = [
    1049,
    1047,
    47,
    ...TRACKED_MODES.filter((m) => ![47, 1047, 1049].includes(m)),
  ];
  for (const mode of order) {
    const key = String(mode);
    const on = modes[key] ?? DEFAULTS[key] ?? false;
    if (on !== (DEFAULTS[key] ?? false)) {
      out += `\x1b[?${mode}${on ? "h" : "l"}`;
    }
  }
  if (modes.keypad) out += "\x1b=";
  return out;
}

/**
 * Where replay may start when the buffer's oldest bytes were evicted: at the
 * first escape or just after the first line break, so it never starts inside
 * an escape sequence or a UTF-8 character.
 *
 * @param data Buffer contents from the evicted boundary on.
 * @returns Index of the first clean byte (0 when none is found nearby).
 *
 * @example
 * ```ts
 * import { cleanStart } from "./replay.ts";
 * console.log(cleanStart(new TextEncoder().encode("31mred\r\nok"))); // 7
 * ```
 */
export function cleanStart(data: Uint8Array): number {
  const limit = Math.min(data.length, 64 * 1024);
  for (let i = 0; i < limit; i++) {
    if (data[i] === 0x1b) return i;
    if (data[i] === 0x0a) return i + 1;
  }
  return 0;
}

// A query may come in 7-bit form (ESC [) or 8-bit (the C1 control CSI,
// U+009B): a UTF-8 terminal reads the latter from the bytes C2 9B, a
// terminal in an 8-bit charset from a lone byte 9B. `scanText()` turns the
// UTF-8 form into the 7-bit one; the lone bytes are matched as they are.
const CSI = "(?:\\x1b\\[|\\x9b)";
const OSC = "(?:\\x1b\\]|\\x9d)";
const DCS = "(?:\\x1bP|\\x90)";
const ST = "(?:\\x07|\\x1b\\\\|\\x9c)";
/** A string's body: anything up to its terminator. */
const BODY = "[^\\x07\\x1b\\x9c]*";

/**
 * Every sequence a terminal answers (xterm's, xterm.js's and those of
 * terminals in wide use), so that a replay never makes the local terminal
 * type an answer into the shell.
 */
const QUERIES = new RegExp(
  [
    `${CSI}[>=]?[0-9;]*c`, // device attributes: primary, secondary, tertiary
    `${CSI}\\??[0-9;]*n`, // status, cursor position (DSR, DECXCPR)
    `${CSI}(?:1[1345689]|2[01])(?:;[0-9]*)*t`, // window reports (not resizes)
    `${CSI}\\??[0-9;]*\\$p`, // mode reports (DECRQM)
    `${CSI}>[0-9;]*q`, // terminal name and version (XTVERSION)
    `${CSI}[01]?x`, // terminal parameters (DECREQTPARM)
    `${CSI}\\?u`, // keyboard protocol flags (kitty)
    `${CSI}\\?[0-9;]*[Sm]`, // graphics and key modifier settings (XTSMGRAPHICS, XTQMODKEYS)
    `${OSC}(?:4|5|1[0-9]|52);${BODY}\\?${BODY}${ST}`, // colours and clipboard
    `${DCS}(?:[$+]q|[0-9]*\\$w)${BODY}${ST}`, // settings, capabilities, state
    "\\x1bZ|\\x9a", // identify terminal (DECID)
    "\\x05", // answerback (ENQ)
  ].join("|"),
  "g",
);

/**
 * Removes terminal queries from bytes about to be replayed, so that the local
 * terminal does not type answers to old questions into the shell.
 *
 * @param data Bytes to replay.
 * @returns The bytes without queries.
 *
 * @example
 * ```ts
 * import { stripQueries } from "./replay.ts";
 * const out = stripQueries(new TextEncoder().encode("a\x1b[6nb\x1b[cc"));
 * console.log(new TextDecoder().decode(out)); // "abc"
 * ```
 */
export function stripQueries(data: Uint8Array): Uint8Array {
  if (!hasIntroducer(data)) return data;
  const kept: Uint8Array[] = [];
  let last = 0;
  for (const match of scanText(data).matchAll(QUERIES)) {
    kept.push(data.subarray(last, match.index));
    last = match.index + match[0].length;
  }
  if (kept.length === 0) return data;
  kept.push(data.subarray(last));
  const out = new Uint8Array(kept.reduce((n, part) => n + part.length, 0));
  let pos = 0;
  for (const part of kept) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

/**
 * Builds what an attaching terminal is sent before live output: the modes
 * in force, then the buffer from a clean boundary, without queries.
 *
 * @param data Buffer contents being replayed.
 * @param modes Modes in force at the first byte of `data`.
 * @param evicted Whether `data` starts where older bytes were evicted (and so
 *   possibly in the middle of something).
 * @returns The bytes to write to the local terminal.
 *
 * @example
 * ```ts
 * import { buildReplay } from "./replay.ts";
 * const out = buildReplay(new TextEncoder().encode("m\x1b[Hvim"), { "1049": true }, true);
 * console.log(JSON.stringify(new TextDecoder().decode(out))); // "\u001b[?1049h\u001b[Hvim"
 * ```
 */
export function buildReplay(
  data: Uint8Array,
  modes: Modes,
  evicted: boolean,
): Uint8Array {
  const start = evicted ? cleanStart(data) : 0;
  const inForce = applyModeChanges(modes, data.subarray(0, start));
  const body = stripQueries(data.subarray(start));
  const prefix = new TextEncoder().encode(modePrefix(inForce));
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix);
  out.set(body, prefix.length);
  return out;
}

/** A `resync` event: the daemon skipped output the client could not take. */
export interface Resync {
  /** The last output, from where the daemon resumed. */
  data: Uint8Array;
  /** Modes in force at the first byte of `data`. */
  modes: Modes;
  /** How many bytes were skipped before `data`. */
  skipped: number;
}

/**
 * Builds what the terminal is sent when the daemon skipped ahead: the modes
 * left on are undone, a line says how much was skipped, and the tail is
 * replayed as on attach, from a clean point with its modes re-established.
 *
 * @param current Modes in force on the terminal now.
 * @param resync The event's tail, its modes and the gap.
 * @returns The bytes to write to the local terminal.
 *
 * @example
 * ```ts
 * import { buildResync } from "./replay.ts";
 * const tail = new TextEncoder().encode("yy\r\nyy\r\n");
 * const out = buildResync({}, { data: tail, modes: {}, skipped: 2_500_000 });
 * console.log(JSON.stringify(new TextDecoder().decode(out)));
 * // "\r\n[sessh] skipped 2.5 MB of output\r\nyy\r\n"
 * ```
 */
export function buildResync(current: Modes, resync: Resync): Uint8Array {
  const { skipped } = resync;
  const size = skipped >= 1e6
    ? `${(skipped / 1e6).toFixed(1)} MB`
    : `${Math.max(1, Math.round(skipped / 1e3))} kB`;
  const notice = new TextEncoder().encode(
    `${modeReset(current)}\r\n[sessh] skipped ${size} of output\r\n`,
  );
  const replay = buildReplay(resync.data, resync.modes, true);
  const out = new Uint8Array(notice.length + replay.length);
  out.set(notice);
  out.set(replay, notice.length);
  return out;
}

/**
 * What to write to the local terminal when leaving a session, so that it is
 * usable again: every mode the remote program left on is switched off.
 *
 * @param modes Modes in force at the end of the session's output.
 * @returns Escape sequences (empty when nothing needs undoing).
 *
 * @example
 * ```ts
 * import { modeReset } from "./replay.ts";
 * console.log(JSON.stringify(modeReset({ "1049": true, "25": false })));
 * // "\u001b[?1049l\u001b[?25h"
 * ```
 */
export function modeReset(modes: Modes): string {
  let out = "";
  for (
    const mode of [
      1049,
      1047,
      47,
      ...TRACKED_MODES.filter((m) => ![47, 1047, 1049].includes(m)),
    ]
  ) {
    const key = String(mode);
    const on = modes[key] ?? DEFAULTS[key] ?? false;
    if (on !== (DEFAULTS[key] ?? false)) {
      out += `\x1b[?${mode}${on ? "l" : "h"}`;
    }
  }
  if (modes.keypad) out += "\x1b>";
  return out;
}

// One character per byte (WHATWG "latin1" is windows-1252, which still maps
// each byte to one UTF-16 unit), so match indexes are byte offsets. Only
// for matching: it does not round-trip bytes 0x80–0x9F.
const ONE_CHAR_PER_BYTE = new TextDecoder("latin1");

function latin1(data: Uint8Array): string {
  return ONE_CHAR_PER_BYTE.decode(data);
}

/** Whether `data` may hold a query: an ESC, ENQ or byte of a C1 control. */
function hasIntroducer(data: Uint8Array): boolean {
  for (const byte of data) {
    if (byte === 0x1b || byte === 0x05 || (byte >= 0x80 && byte <= 0x9f)) {
      return true;
    }
  }
  return false;
}

/**
 * One character per byte, for matching: a C1 control in UTF-8 (C2 80 to
 * C2 9F) becomes its 7-bit form (ESC and one character, still two), any
 * other UTF-8 character becomes U+0100 per byte (text that is part of no
 * sequence), and a byte that is not UTF-8 stays itself.
 */
function scanText(data: Uint8Array): string {
  // Codes in an array decoded at once: a string built char by char takes
  // seconds on a buffer of megabytes.
  const codes = new Uint16Array(data.length);
  let i = 0;
  while (i < data.length) {
    const byte = data[i];
    const length = byte < 0x80 ? 1 : utf8Length(data, i);
    if (length === 1) {
      codes[i] = byte;
    } else if (byte === 0xc2 && data[i + 1] < 0xa0) {
      codes[i] = 0x1b;
      codes[i + 1] = data[i + 1] - 0x40;
    } else {
      codes.fill(0x100, i, i + length);
    }
    i += length;
  }
  return UTF16.decode(codes);
}

const UTF16 = new TextDecoder("utf-16le");

/**
 * The length of the well-formed UTF-8 character at `i` (RFC 3629's ranges:
 * no overlong forms, no surrogates), or 1 for a byte that starts none.
 */
function utf8Length(data: Uint8Array, i: number): number {
  const lead = data[i];
  let length = 1;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) low = 0xa0;
    if (lead === 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) low = 0x90;
    if (lead === 0xf4) high = 0x8f;
  }
  if (length === 1 || i + length > data.length) return 1;
  if (data[i + 1] < low || data[i + 1] > high) return 1;
  for (let k = 2; k < length; k++) {
    if (data[i + k] < 0x80 || data[i + k] > 0xbf) return 1;
  }
  return length;
}
