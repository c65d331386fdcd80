/**
 * A streaming filter that removes terminal escape sequences and control
 * characters from output, for following logs as plain text.
 *
 * @module
 */

const BS = 0x08;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const BEL = 0x07;
const CAN = 0x18;
const SUB = 0x1a;
const ESC = 0x1b;
const DEL = 0x7f;

/** Where the filter is inside an escape sequence between two characters. */
enum State {
  /** Plain text. */
  Ground,
  /** After `ESC`. */
  Escape,
  /** After `ESC` and intermediate bytes (`ESC ( B`, `ESC # 8`). */
  EscapeIntermediate,
  /** Inside a control sequence, `ESC [ … final`. */
  Csi,
  /** Inside an operating system command, `ESC ] … BEL` or `ESC ] … ESC \`. */
  Osc,
  /** Inside a DCS, SOS, PM or APC string, ended by `ESC \`. */
  ControlString,
  /** After `ESC` inside an OSC. */
  OscEscape,
  /** After `ESC` inside a DCS, SOS, PM or APC string. */
  ControlStringEscape,
}

/**
 * Removes escape sequences and control characters from a stream of terminal
 * output, chunk by chunk.
 *
 * Removed are control sequences (`ESC [ … final`), operating system commands
 * such as window titles (`ESC ] … BEL` or `ESC ] … ESC \`), DCS, SOS, PM and
 * APC strings, two-byte escapes (`ESC x`, `ESC ( B`), C0 controls other than
 * `"\n"`, `"\r"`, `"\t"` and `"\b"`, DEL and the C1 control characters
 * U+0080–U+009F. The input is UTF-8; 8-bit C1 introducers are not recognised.
 * A character or escape sequence split across chunks is handled whole, so
 * chunks can be passed as they arrive.
 *
 * Carriage returns and backspaces are kept rather than applied; use
 * `renderText()` when overwrites should take effect.
 *
 * @example
 * ```ts
 * import { AnsiStripper } from "./ansi_strip.ts";
 * import assert from "node:assert/strict";
 *
 * const stripper = new AnsiStripper();
 * const bytes = new TextEncoder().encode("\x1b]0;title\x07\x1b[1mcafé\x1b[0m\n");
 * let text = stripper.push(bytes.subarray(0, 18));
 * text += stripper.push(bytes.subarray(18));
 * text += stripper.flush();
 * assert.equal(text, "café\n");
 * ```
 */
export class AnsiStripper {
  #decoder = new TextDecoder("utf-8");
  #state: State = State.Ground;

  /**
   * Filters the next chunk of output.
   *
   * @param chunk Raw terminal output, UTF-8 encoded.
   * @returns The text of the chunk that is complete so far.
   *
   * @example
   * ```ts
   * import { AnsiStripper } from "./ansi_strip.ts";
   * import assert from "node:assert/strict";
   *
   * const stripper = new AnsiStripper();
   * assert.equal(stripper.push(new TextEncoder().encode("a\x1b[3")), "a");
   * assert.equal(stripper.push(new TextEncoder().encode("1mb")), "b");
   * ```
   */
  push(chunk: Uint8Array): string {
    return this.#filter(this.#decoder.decode(chunk, { stream: true }));
  }

  /**
   * Ends the stream: an incomplete UTF-8 character at the end becomes U+FFFD
   * and an unfinished escape sequence is dropped. The stripper can be used
   * for a new stream afterwards.
   *
   * @returns The text still held back.
   *
   * @example
   * ```ts
   * import { AnsiStripper } from "./ansi_strip.ts";
   * import assert from "node:assert/strict";
   *
   * const stripper = new AnsiStripper();
   * assert.equal(stripper.push(new Uint8Array([0x61, 0xc3])), "a");
   * assert.equal(stripper.flush(), "\ufffd");
   * ```
   */
  flush(): string {
    const text = this.#filter(this.#decoder.decode());
    this.#state = State.Ground;
    return text;
  }

  #filter(text: string): string {
    let out = "";
    // Start of the plain text not yet copied to `out`, or -1 outside plain text.
    let run = this.#state === State.Ground ? 0 : -1;
    let state = this.#state;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (state === State.Ground) {
        if (isPrintable(code) || isKeptControl(code)) continue;
        out += text.slice(run, i);
        run = i + 1;
        if (code === ESC) state = State.Escape;
        continue;
      }
      // Inside a sequence; `run` is -1.
      if (code === CAN || code === SUB) {
        state = State.Ground;
        run = i + 1;
        continue;
      }
      switch (state) {
        case State.Escape:
        case State.EscapeIntermediate:
        case State.Csi:
          if (code === ESC) {
            state = State.Escape;
          } else if (code < 0x20) {
            // Terminals carry out controls met inside a sequence.
            if (isKeptControl(code)) out += text[i];
          } else if (code === DEL) {
            // Ignored inside sequences.
          } else if (code > DEL) {
            // Not part of any sequence: the sequence was malformed, and the
            // character is read again as text.
            state = State.Ground;
            run = i;
            i--;
          } else {
            state = state === State.Csi
              ? nextInCsi(code)
              : nextInEscape(state, code);
            if (state === State.Ground) run = i + 1;
          }
          break;
        case State.Osc:
          if (code === BEL) {
            state = State.Ground;
            run = i + 1;
          } else if (code === ESC) {
            state = State.OscEscape;
          }
          break;
        case State.ControlString:
          if (code === ESC) state = State.ControlStringEscape;
          break;
        case State.OscEscape:
        case State.ControlStringEscape:
          if (code === 0x5c) {
            // `ESC \` is the string terminator.
            state = State.Ground;
            run = i + 1;
          } else {
            // Any other escape ends the string and begins anew.
            state = State.Escape;
            i--;
          }
          break;
      }
    }
    if (state === State.Ground) out += text.slice(run);
    this.#state = state;
    return out;
  }
}

function isPrintable(code: number): boolean {
  return (code >= 0x20 && code < DEL) || code > 0x9f;
}

function isKeptControl(code: number): boolean {
  return code === LF || code === CR || code === TAB || code === BS;
}

/** The state after `code` (0x20–0x7e) following `ESC` and any intermediates. */
function nextInEscape(state: State, code: number): State {
  if (code < 0x30) return State.EscapeIntermediate;
  if (state === State.EscapeIntermediate) return State.Ground;
  switch (code) {
    case 0x5b: // [
      return State.Csi;
    case 0x5d: // ]
      return State.Osc;
    case 0x50: // P, DCS
    case 0x58: // X, SOS
    case 0x5e: // ^, PM
    case 0x5f: // _, APC
      return State.ControlString;
    default:
      return State.Ground;
  }
}

/** The state after `code` (0x20–0x7e) inside a control sequence. */
function nextInCsi(code: number): State {
  // Parameter (0x30–0x3f) and intermediate (0x20–0x2f) bytes go on; a final
  // byte (0x40–0x7e) ends the sequence.
  return code < 0x40 ? State.Csi : State.Ground;
}
