import assert from "node:assert/strict";
import { AnsiStripper } from "./ansi_strip.ts";

const encoder = new TextEncoder();

/** Strips `text` fed in one chunk. */
function strip(text: string): string {
  const stripper = new AnsiStripper();
  return stripper.push(encoder.encode(text)) + stripper.flush();
}

/** Strips `text` fed one byte at a time, returning what each push gave. */
function stripByteWise(text: string): string[] {
  const stripper = new AnsiStripper();
  const parts = Array.from(
    encoder.encode(text),
    (byte) => stripper.push(Uint8Array.of(byte)),
  );
  parts.push(stripper.flush());
  return parts;
}

Deno.test("AnsiStripper passes plain text through", () => {
  assert.equal(strip("hello, world\n"), "hello, world\n");
  assert.equal(strip(""), "");
});

Deno.test("AnsiStripper removes colours and other control sequences", async (t) => {
  const cases: [string, string, string][] = [
    ["SGR", "\x1b[1;31merror\x1b[0m: bad\n", "error: bad\n"],
    ["256 and true colour", "\x1b[38;5;208ma\x1b[48;2;1;2;3mb\x1b[m", "ab"],
    ["erase line", "10%\r\x1b[2K100%\n", "10%\r100%\n"],
    ["cursor movement", "a\x1b[2A\x1b[10;20Hb\x1b[3C", "ab"],
    ["private mode", "\x1b[?1049h\x1b[?25lvim\x1b[?25h", "vim"],
    ["intermediate byte", "a\x1b[2 qb", "ab"],
  ];
  for (const [name, input, expected] of cases) {
    await t.step(name, () => assert.equal(strip(input), expected));
  }
});

Deno.test("AnsiStripper removes OSC strings", async (t) => {
  const cases: [string, string, string][] = [
    ["title ended by BEL", "\x1b]0;user@host: ~\x07$ ls\n", "$ ls\n"],
    ["title ended by ST", "\x1b]2;make – 50%\x1b\\done", "done"],
    [
      "hyperlink",
      "\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\",
      "link",
    ],
    ["shell integration", "\x1b]133;A\x07$ \x1b]133;B\x07", "$ "],
  ];
  for (const [name, input, expected] of cases) {
    await t.step(name, () => assert.equal(strip(input), expected));
  }
});

Deno.test("AnsiStripper removes DCS, SOS, PM and APC strings", () => {
  assert.equal(strip("a\x1bPq#0;2;0;0;0#0~~\x1b\\b"), "ab");
  assert.equal(strip("a\x1bXsos\x1b\\b\x1b^pm\x1b\\c\x1b_apc\x1b\\d"), "abcd");
  // BEL only ends an OSC; inside these strings it is content.
  assert.equal(strip("a\x1b_x\x07y\x1b\\b"), "ab");
});

Deno.test("AnsiStripper removes two-byte escapes", () => {
  assert.equal(strip("\x1b(Ba\x1b7b\x1b8c\x1bMd\x1b=e\x1b>f\x1b#8"), "abcdef");
});

Deno.test("AnsiStripper keeps newline, carriage return, tab and backspace", () => {
  assert.equal(strip("a\tb\r\nc\bd\n"), "a\tb\r\nc\bd\n");
});

Deno.test("AnsiStripper removes other control characters", () => {
  assert.equal(strip("a\x07b\x00c\x0ed\x0fe\x7ff\u0085g\u009bh"), "abcdefgh");
});

Deno.test("AnsiStripper lets CAN and SUB abort a sequence", () => {
  assert.equal(strip("a\x1b[31\x18b\x1b]0;t\x1ac"), "abc");
});

Deno.test("AnsiStripper carries out controls inside a sequence", () => {
  assert.equal(strip("a\x1b[3\n1mb"), "a\nb");
});

Deno.test("AnsiStripper ends a string at an escape that is not ST", () => {
  assert.equal(strip("\x1b]0;title\x1b[1mbold"), "bold");
});

Deno.test("AnsiStripper restarts at an escape inside a sequence", () => {
  assert.equal(strip("a\x1b[12\x1b[31mb"), "ab");
});

Deno.test("AnsiStripper keeps text after a malformed sequence", () => {
  assert.equal(strip("a\x1b[1é b"), "aé b");
  assert.equal(strip("a\x1bé"), "aé");
  assert.equal(strip("a\x1b[1\u0085b"), "ab");
});

Deno.test("AnsiStripper decodes UTF-8 split across chunks", () => {
  const parts = stripByteWise("é€🎉");
  assert.deepEqual(parts, ["", "é", "", "", "€", "", "", "", "🎉", ""]);
});

Deno.test("AnsiStripper decodes UTF-8 split next to an escape sequence", () => {
  const data = encoder.encode("中\x1b[1m文\x1b[0m");
  const stripper = new AnsiStripper();
  // Split inside 中, inside the first sequence and inside 文.
  const text = stripper.push(data.subarray(0, 2)) +
    stripper.push(data.subarray(2, 5)) +
    stripper.push(data.subarray(5, 9)) +
    stripper.push(data.subarray(9)) +
    stripper.flush();
  assert.equal(text, "中文");
});

Deno.test("AnsiStripper removes sequences split across chunks", async (t) => {
  const cases: [string, string][] = [
    ["CSI", "a\x1b[38;5;208mb\x1b[0m\n"],
    ["OSC ended by ST", "a\x1b]0;tïtle\x1b\\b\n"],
    ["OSC ended by BEL", "a\x1b]0;title\x07b\n"],
    ["DCS", "a\x1bPdata\x1b\\b\n"],
    ["two-byte", "a\x1b(Bb\n"],
  ];
  for (const [name, input] of cases) {
    await t.step(name, () => {
      assert.equal(stripByteWise(input).join(""), "ab\n");
    });
  }
});

Deno.test("AnsiStripper returns text as soon as it is complete", () => {
  const stripper = new AnsiStripper();
  assert.equal(stripper.push(encoder.encode("one\x1b]0;ti")), "one");
  assert.equal(stripper.push(encoder.encode("tle\x07two")), "two");
});

Deno.test("AnsiStripper.flush() drops an unfinished sequence and resets", () => {
  const stripper = new AnsiStripper();
  assert.equal(stripper.push(encoder.encode("a\x1b]0;never ended")), "a");
  assert.equal(stripper.flush(), "");
  assert.equal(stripper.push(encoder.encode("b")), "b");
});

Deno.test("AnsiStripper.flush() replaces an incomplete character", () => {
  const stripper = new AnsiStripper();
  assert.equal(stripper.push(Uint8Array.of(0x61, 0xe2, 0x82)), "a");
  assert.equal(stripper.flush(), "\ufffd");
  assert.equal(stripper.push(encoder.encode("b")), "b");
});
