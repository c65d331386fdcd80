import assert from "node:assert/strict";
import {
  applyModeChanges,
  buildReplay,
  buildResync,
  cleanStart,
  modePrefix,
  modeReset,
  stripQueries,
} from "./replay.ts";
import { loadXterm } from "../render/_terminal.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("applyModeChanges() tracks private modes, keypad mode and a full reset", () => {
  let modes = applyModeChanges(
    {},
    enc("\x1b[?1049h\x1b[?1;2004h\x1b[?25l\x1b="),
  );
  assert.deepEqual(modes, {
    "1049": true,
    "1": true,
    "2004": true,
    "25": false,
    keypad: true,
  });
  modes = applyModeChanges(modes, enc("\x1b[?1049l\x1b>"));
  assert.equal(modes["1049"], false);
  assert.equal(modes.keypad, false);
  assert.deepEqual(applyModeChanges(modes, enc("\x1bc")), {});
  assert.deepEqual(
    applyModeChanges({}, enc("\x1b[?7h")),
    {},
    "untracked modes are ignored",
  );
});

Deno.test("modePrefix() re-establishes non-default modes, alternate screen first", () => {
  assert.equal(modePrefix({}), "");
  assert.equal(modePrefix({ "25": true, "1049": false }), "");
  assert.equal(
    modePrefix({
      "2004": true,
      "1049": true,
      "25": false,
      "1": true,
      keypad: true,
    }),
    "\x1b[?1049h\x1b[?1h\x1b[?25l\x1b[?2004h\x1b=",
  );
});

Deno.test("cleanStart() skips to an escape or past a line break", () => {
  assert.equal(cleanStart(enc("5;1Hrest\x1b[m")), 8);
  assert.equal(cleanStart(enc("partial line\r\nnext")), 14);
  const utf8 = enc("日本\n");
  assert.equal(
    cleanStart(utf8.subarray(1)),
    utf8.length - 1,
    "never inside a UTF-8 character",
  );
  assert.equal(cleanStart(enc("no boundary")), 0);
});

Deno.test("stripQueries() removes queries and keeps everything else", () => {
  const input =
    "a\x1b[c\x1b[>c\x1b[0c\x1b[6n\x1b[5n\x1b[?6n\x1b[18t\x1b[14;2t" +
    "\x1b]11;?\x07\x1b]4;1;?\x1b\\\x1b[?2004$p\x1b[>q\x1bP$qm\x1b\\b";
  assert.equal(dec(stripQueries(enc(input))), "ab");
  const kept = "\x1b[31mred\x1b[0m\x1b[8;24;80t\x1b]0;title\x07\x1b[2J";
  assert.equal(dec(stripQueries(enc(kept))), kept);
});

Deno.test("buildReplay() from an evicted boundary inside vim starts clean in the alternate screen", () => {
  const data = enc("3;4Hx\x1b[1;1Hvim text\x1b[6n");
  const out = dec(buildReplay(data, { "1049": true, "25": false }, true));
  assert.equal(out, "\x1b[?1049h\x1b[?25l\x1b[1;1Hvim text");
});

Deno.test("buildReplay() of a whole buffer keeps its first byte", () => {
  assert.equal(dec(buildReplay(enc("mid"), {}, false)), "mid");
});

Deno.test("buildResync() says what was skipped, then redraws the tail from a clean point in its modes", () => {
  const out = buildResync({ "1049": true, "2004": true }, {
    data: enc("5;1Hstale\x1b[1;1Hscreen"),
    modes: { "1049": true },
    skipped: 70_400,
  });
  assert.equal(
    dec(out),
    "\x1b[?1049l\x1b[?2004l\r\n[sessh] skipped 70 kB of output\r\n" +
      "\x1b[?1049h\x1b[1;1Hscreen",
  );
  const plain = buildResync({}, {
    data: enc("y\r\ny\r\n"),
    modes: {},
    skipped: 95_300_000,
  });
  assert.equal(dec(plain), "\r\n[sessh] skipped 95.3 MB of output\r\ny\r\n");
});

Deno.test("modeReset() switches off what the remote program left on", () => {
  assert.equal(modeReset({}), "");
  assert.equal(
    modeReset({ "2004": true, "25": false, keypad: true }),
    "\x1b[?25h\x1b[?2004l\x1b>",
  );
});

Deno.test("stripQueries() keeps every other byte as it was, UTF-8 included", () => {
  const bytes = new Uint8Array([
    ...enc("é€日本🎉"),
    0x80,
    0x9f,
    0xff,
    ...enc("\x1b[6n"),
    0x81,
  ]);
  assert.deepEqual(
    stripQueries(bytes),
    new Uint8Array([...enc("é€日本🎉"), 0x80, 0x9f, 0xff, 0x81]),
  );
});

/** Queries a terminal answers, in their 7-bit form. */
const QUERY_TABLE: [string, string][] = [
  ["primary device attributes", "\x1b[c"],
  ["primary device attributes, parameter 0", "\x1b[0c"],
  ["primary device attributes, two parameters", "\x1b[0;0c"],
  ["secondary device attributes", "\x1b[>c"],
  ["secondary device attributes, two parameters", "\x1b[>0;0c"],
  ["tertiary device attributes", "\x1b[=c"],
  ["device status", "\x1b[5n"],
  ["cursor position", "\x1b[6n"],
  ["cursor position, DEC form", "\x1b[?6n"],
  ["window size in pixels", "\x1b[14t"],
  ["window size in pixels, with a parameter", "\x1b[14;2t"],
  ["cell size in pixels", "\x1b[16t"],
  ["text area size in characters", "\x1b[18t"],
  ["screen size in characters", "\x1b[19t"],
  ["window title", "\x1b[21t"],
  ["ANSI mode", "\x1b[4$p"],
  ["DEC private mode", "\x1b[?2004$p"],
  ["terminal version", "\x1b[>q"],
  ["terminal version, parameter 0", "\x1b[>0q"],
  ["terminal parameters", "\x1b[x"],
  ["kitty keyboard flags", "\x1b[?u"],
  ["key modifier setting", "\x1b[?4m"],
  ["graphics setting", "\x1b[?1;1;0S"],
  ["foreground colour, BEL", "\x1b]10;?\x07"],
  ["background colour, ST", "\x1b]11;?\x1b\\"],
  ["cursor colour", "\x1b]12;?\x07"],
  ["foreground and background at once", "\x1b]10;?;?\x07"],
  ["palette colour", "\x1b]4;1;?\x1b\\"],
  ["two palette colours", "\x1b]4;1;?;2;?\x07"],
  ["special colour", "\x1b]5;0;?\x07"],
  ["clipboard", "\x1b]52;c;?\x07"],
  ["setting (DECRQSS) SGR", "\x1bP$qm\x1b\\"],
  ["setting (DECRQSS) cursor style", "\x1bP$q q\x1b\\"],
  ["capability (XTGETTCAP)", "\x1bP+q544e\x1b\\"],
  ["presentation state (DECRQPSR)", "\x1bP1$w\x1b\\"],
  ["identify terminal (DECID)", "\x1bZ"],
  ["answerback (ENQ)", "\x05"],
];

/** The 8-bit form of a query: each ESC-introduced control as its C1 code. */
function eightBit(query: string): string {
  return query
    .replaceAll("\x1b[", "\x9b")
    .replaceAll("\x1b]", "\x9d")
    .replaceAll("\x1bP", "\x90")
    .replaceAll("\x1b\\", "\x9c")
    .replaceAll("\x1bZ", "\x9a");
}

/** One byte per character: the 8-bit form as a terminal in an 8-bit charset gets it. */
function rawBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

Deno.test("stripQueries() removes every query form a terminal answers", async (t) => {
  for (const [name, query] of QUERY_TABLE) {
    await t.step(name, () => {
      assert.equal(dec(stripQueries(enc(`a${query}b`))), "ab", "7-bit");
      assert.equal(
        dec(stripQueries(enc(`a${eightBit(query)}b`))),
        "ab",
        "8-bit, in UTF-8",
      );
      assert.deepEqual(
        stripQueries(rawBytes(`a${eightBit(query)}b`)),
        enc("ab"),
        "8-bit, raw bytes",
      );
    });
  }
});

Deno.test("stripQueries() keeps what is not a query, in either form", () => {
  const kept = [
    "\x1b[31mred\x1b[0m",
    "\x1b[8;24;80t", // a resize
    "\x1b[22;0t", // the title stack
    "\x1b]0;title\x07",
    "\x1b]4;1;rgb:ff/00/00\x07", // a colour set, not asked for
    "\x1b]52;c;aGVsbG8=\x07", // a clipboard write
    "\x1b[>4;2m\x1b[>4n", // key modifier options set and reset
    "\x1b[?1049h\x1b[2J",
    "\x1bP1$r0m\x1b\\", // an answer passed through, not a question
  ].join("");
  assert.equal(dec(stripQueries(enc(kept))), kept);
  assert.equal(dec(stripQueries(enc(eightBit(kept)))), eightBit(kept));
  const text = "é\u00a0日本🎉 \u0090x";
  assert.equal(dec(stripQueries(enc(text))), text);
});

Deno.test("stripQueries() leaves nothing the xterm.js terminal answers", async (t) => {
  const { Terminal } = await loadXterm();
  /** What a fresh xterm.js terminal types back after `text`. */
  const answers = async (text: string): Promise<string> => {
    const terminal = new Terminal({ cols: 80, rows: 24, logLevel: "off" });
    let typed = "";
    terminal.onData((data) => typed += data);
    await new Promise<void>((resolve) => terminal.write(text, resolve));
    terminal.dispose();
    return typed;
  };
  for (const [name, query] of QUERY_TABLE) {
    for (const form of [query, eightBit(query)]) {
      if (await answers(form) === "") continue;
      await t.step(`${name}, ${form === query ? "7" : "8"}-bit`, async () => {
        assert.equal(await answers(dec(stripQueries(enc(form)))), "");
      });
    }
  }
  assert.notEqual(await answers("\x1b[0;0c"), "", "the terminal answers");
  assert.notEqual(await answers("\x9b0;0c"), "", "in 8-bit form too");
});
