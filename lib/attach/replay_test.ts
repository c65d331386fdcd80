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
