import assert from "node:assert/strict";
import { plainLines, plainRows, renderText } from "./terminal_text.ts";

const encoder = new TextEncoder();

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

Deno.test("renderText() returns an empty string for no output", async () => {
  assert.equal(await renderText(new Uint8Array()), "");
  assert.equal(await renderText(bytes("\r\n\r\n   \r\n")), "");
});

Deno.test("renderText() ends plain lines with a newline", async () => {
  assert.equal(await renderText(bytes("one\r\ntwo")), "one\ntwo\n");
});

Deno.test("renderText() resolves carriage-return overwrites", async () => {
  assert.equal(await renderText(bytes("10%\r100%")), "100%\n");
  assert.equal(
    await renderText(bytes("get [#   ] 10%\rget [####] 100%\r\ndone\r\n")),
    "get [####] 100%\ndone\n",
  );
});

Deno.test("renderText() strips colours", async () => {
  const data = bytes(
    "\x1b[1;31merror\x1b[0m: \x1b[38;5;208mfoo\x1b[39m \x1b[48;2;1;2;3mbar\x1b[m\r\n",
  );
  assert.equal(await renderText(data), "error: foo bar\n");
});

Deno.test("renderText() applies backspaces", async () => {
  assert.equal(await renderText(bytes("abc\b\bXY\r\n")), "aXY\n");
  // "ls | less"-style overstrike bold leaves one copy of each character.
  assert.equal(await renderText(bytes("b\bbo\bol\bld\r\n")), "bold\n");
});

Deno.test("renderText() applies erase-line", async () => {
  assert.equal(
    await renderText(bytes("Downloading 3 files...\r\x1b[2KDone\r\n")),
    "Done\n",
  );
  assert.equal(await renderText(bytes("abcdef\r\x1b[3C\x1b[K\r\n")), "abc\n");
});

Deno.test("renderText() applies cursor-up rewrites", async () => {
  // Docker-style progress: one line per layer, redrawn in place.
  const data = bytes(
    "layer1: Waiting\r\nlayer2: Waiting\r\n" +
      "\x1b[2A\x1b[2Klayer1: Downloading 50%\r\n\x1b[2Klayer2: Waiting\r\n" +
      "\x1b[2A\x1b[2Klayer1: Pull complete\r\n\x1b[2Klayer2: Pull complete\r\n" +
      "Status: done\r\n",
  );
  assert.equal(
    await renderText(data),
    "layer1: Pull complete\nlayer2: Pull complete\nStatus: done\n",
  );
});

Deno.test("renderText() joins a soft-wrapped line back into one", async () => {
  const long = "x".repeat(25) + " y " + "z".repeat(20);
  const text = await renderText(bytes(`${long}\r\nnext\r\n`), { cols: 10 });
  assert.equal(text, `${long}\nnext\n`);
});

Deno.test("renderText() keeps spaces at the wrap point", async () => {
  // The space falls exactly in the last column of the first row.
  const text = await renderText(bytes("123456789 abc\r\n"), { cols: 10 });
  assert.equal(text, "123456789 abc\n");
});

Deno.test("renderText() trims trailing whitespace on each line", async () => {
  assert.equal(await renderText(bytes("a   \r\n\tb\t\r\n")), "a\n        b\n");
});

Deno.test("renderText() keeps inner empty lines but drops trailing ones", async () => {
  assert.equal(await renderText(bytes("a\r\n\r\nb\r\n\r\n\r\n")), "a\n\nb\n");
});

Deno.test("renderText() keeps only the last lines when asked", async (t) => {
  const data = bytes("one\r\ntwo\r\nthree\r\n\r\n");
  await t.step("fewer than there are", async () => {
    assert.equal(await renderText(data, { lines: 2 }), "two\nthree\n");
  });
  await t.step("more than there are", async () => {
    assert.equal(await renderText(data, { lines: 10 }), "one\ntwo\nthree\n");
  });
  await t.step("none", async () => {
    assert.equal(await renderText(data, { lines: 0 }), "");
  });
  await t.step("counting a wrapped line once", async () => {
    const text = await renderText(bytes(`a\r\n${"b".repeat(30)}\r\n`), {
      cols: 10,
      lines: 1,
    });
    assert.equal(text, `${"b".repeat(30)}\n`);
  });
});

Deno.test("renderText() rejects a negative line count", async () => {
  await assert.rejects(
    () => renderText(bytes("a"), { lines: -1 }),
    RangeError,
  );
});

Deno.test("renderText() keeps output longer than the screen", async () => {
  const lines = Array.from({ length: 500 }, (_, i) => `line ${i}`);
  const text = await renderText(bytes(lines.join("\r\n")), { rows: 5 });
  assert.equal(text, lines.join("\n") + "\n");
});

Deno.test("renderText() keeps wrapped output longer than the screen", async () => {
  const long = "0123456789".repeat(100);
  const text = await renderText(bytes(long), { cols: 10, rows: 3 });
  assert.equal(text, long + "\n");
});

Deno.test("renderText() decodes UTF-8", async () => {
  assert.equal(
    await renderText(bytes("café ünïcödé → ✓ 🎉\r\n")),
    "café ünïcödé → ✓ 🎉\n",
  );
});

Deno.test("renderText() keeps wide characters without extra spaces", async () => {
  assert.equal(
    await renderText(bytes("日本語のテキスト\r\n")),
    "日本語のテキスト\n",
  );
  assert.equal(await renderText(bytes("中文abc\r\n")), "中文abc\n");
});

Deno.test("renderText() joins a line that wrapped at a wide character", async () => {
  // Nine columns are used, so the next two-column character wraps and leaves
  // the last column empty.
  const text = await renderText(bytes("abcdefghi中文x\r\n"), { cols: 10 });
  assert.equal(text, "abcdefghi中文x\n");
});

Deno.test("renderText() overwrites wide characters whole", async () => {
  assert.equal(await renderText(bytes("中文\r\x1b[Kok\r\n")), "ok\n");
  assert.equal(
    await renderText(bytes("进度 10%\r进度 100%\r\n")),
    "进度 100%\n",
  );
});

Deno.test("renderText() decodes a character split across parse chunks", async () => {
  // xterm.js parses large writes in slices of 131072 bytes; put a character
  // across that boundary.
  const prefix = "a".repeat(131071);
  const text = await renderText(bytes(`${prefix}€中\r\n`), { cols: 80 });
  assert.equal(text, `${prefix}€中\n`);
});

Deno.test("renderText() shows the normal screen, not the alternate one", async () => {
  const data = bytes(
    "$ vim notes\r\n\x1b[?1049h\x1b[H~ editing\x1b[?1049l$ ls\r\nnotes\r\n",
  );
  assert.equal(await renderText(data), "$ vim notes\n$ ls\nnotes\n");
});

Deno.test("renderText() drops window titles and other OSC strings", async () => {
  const data = bytes("\x1b]0;user@host: ~\x07\x1b]133;A\x1b\\$ ls\r\n");
  assert.equal(await renderText(data), "$ ls\n");
});

Deno.test("renderText() gives plain output the emulator's text without loading it", async (t) => {
  const cases = [
    "",
    "hi\r\n",
    "one\r\ntwo  \r\n\r\nthree",
    "caf\u00e9 na\u00efve\r\n",
    `${"x".repeat(400)}\r\nshort\r\n`,
    "trailing\r\n\r\n\r\n",
    // bash 5.1+ around a prompt, as `logs` gets it: bracketed paste on and
    // off, and a CR where the cursor already is at the start of a line.
    "\x1b[?2004hroot@vm:~# seq 1 3\r\n\x1b[?2004l\r1\r\n2\r\n3\r\n" +
    "\x1b[?2004hroot@vm:~# \x07true\r\n\x1b[?2004l\r\x1b[?2004hroot@vm:~# ",
    "\x1b[1;32mgreen\x1b[0m, \x1b[38;2;1;2;3mrgb\x1b[m, \x1b[4:3mcurly\x1b[24m\r\n",
    "\x1b[8mconcealed\x1b[28m still text\r\n",
    "\r\rat the start\r\n",
  ];
  for (const text of cases) {
    await t.step(JSON.stringify(text.slice(0, 40)), async () => {
      const bytes = new TextEncoder().encode(text);
      assert.notEqual(plainLines(bytes), null, "taken without the emulator");
      // A trailing erase to the end of the line (at the cursor: nothing to
      // erase) forces the emulator.
      const emulated = await renderText(
        new TextEncoder().encode(text + "\x1b[K"),
        { cols: 80 },
      );
      assert.equal(await renderText(bytes, { cols: 80 }), emulated);
    });
  }
});

Deno.test("plainLines() leaves to the emulator whatever moves the cursor or text", () => {
  const cases = [
    "progress 10%\rprogress 100%\r\n", // a CR within a line
    "a\tb\r\n",
    "ab\bc\r\n",
    "\x1b[2Kerased\r\n",
    "\x1b[?1049halternate\r\n", // another screen
    "\x1b[?2004", // cut short
    "\x1b[1;3", // cut short
    "\x1b[>4;1m keys\r\n", // not SGR: a private parameter
    "\x1b]0;title\x07text\r\n",
  ];
  for (const text of cases) {
    assert.equal(
      plainLines(new TextEncoder().encode(text)),
      null,
      JSON.stringify(text),
    );
  }
});

Deno.test("renderText() shows invalid UTF-8 as U+FFFD, as a terminal does", async () => {
  const bad = [0x41, 0xff, 0xfe, 0x80, 0x42];
  assert.equal(
    await renderText(new Uint8Array([...bad, 0x0d, 0x0a])),
    "A\ufffd\ufffd\ufffdB\n",
  );
  assert.equal(
    await renderText(new Uint8Array([0x1b, 0x5b, 0x31, 0x6d, ...bad])),
    "A\ufffd\ufffd\ufffdB\n",
  );
});

Deno.test("renderText() lays out tabs without the emulator as it would", async () => {
  // Behind a cursor-show escape, which changes no text but is not plain,
  // the same bytes go to the emulator.
  const emulated = (text: string, cols: number) =>
    renderText(bytes("\x1b[?25h" + text), { cols });
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pieces = [
    "a",
    "word",
    " ",
    "\t",
    "\t\t",
    "\r\n",
    "\x1b[32m",
    "é",
    "x".repeat(13),
  ];
  const cases: [string, number][] = [
    ["a\tb\r\n", 160],
    ["x".repeat(10) + "\ty\r\n", 10],
    ["x".repeat(9) + "\ty\tz\r\n", 10],
    ["\t\t\r\n\tq  \t", 20],
  ];
  for (let n = 0; n < 200; n++) {
    const text = Array.from(
      { length: 1 + Math.floor(next() * 30) },
      () => pieces[Math.floor(next() * pieces.length)],
    ).join("");
    cases.push([text, [2, 3, 8, 9, 10, 17, 80][Math.floor(next() * 7)]]);
  }
  for (const [text, cols] of cases) {
    assert.ok(plainRows(bytes(text), cols), `declined ${JSON.stringify(text)}`);
    assert.equal(
      await renderText(bytes(text), { cols }),
      await emulated(text, cols),
      `${JSON.stringify(text)} at ${cols} columns`,
    );
  }
  assert.equal(plainRows(bytes("\x1b[?25h"), 10), null);
});
