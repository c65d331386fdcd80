import assert from "node:assert/strict";
import {
  formatScreen,
  plainScreen,
  renderScreen,
  type Screen,
} from "./screen.ts";

const encoder = new TextEncoder();

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

Deno.test("renderScreen() returns exactly the visible rows", async () => {
  const screen = await renderScreen(bytes("$ echo hi\r\nhi\r\n$ "), {
    cols: 20,
    rows: 4,
  });
  assert.deepEqual(screen, {
    lines: ["$ echo hi", "hi", "$", ""],
    cursor: { row: 2, col: 2 },
    cols: 20,
    rows: 4,
    altScreen: false,
  });
});

Deno.test("renderScreen() shows the last rows once output scrolls", async () => {
  const lines = Array.from({ length: 10 }, (_, i) => `line ${i}`);
  const screen = await renderScreen(bytes(lines.join("\r\n")), {
    cols: 20,
    rows: 3,
  });
  assert.deepEqual(screen.lines, ["line 7", "line 8", "line 9"]);
  assert.deepEqual(screen.cursor, { row: 2, col: 6 });
});

Deno.test("renderScreen() shows a full-screen program on the alternate screen", async () => {
  const data = bytes(
    "$ vim notes.txt\r\n" +
      "\x1b[?1049h\x1b[H\x1b[2J" +
      "\x1b[1;1Hfirst line\x1b[2;1H\x1b[34m~\x1b[m\x1b[3;1H\x1b[34m~\x1b[m" +
      '\x1b[4;1H"notes.txt" 1L, 11B\x1b[4;25H1,1\x1b[1;1H',
  );
  const screen = await renderScreen(data, { cols: 30, rows: 4 });
  assert.equal(screen.altScreen, true);
  assert.deepEqual(screen.lines, [
    "first line",
    "~",
    "~",
    '"notes.txt" 1L, 11B     1,1',
  ]);
  assert.deepEqual(screen.cursor, { row: 0, col: 0 });
});

Deno.test("renderScreen() returns to the normal screen when the program exits", async () => {
  const data = bytes(
    "$ less log\r\n\x1b[?1049h\x1b[Hpage 1\x1b[?1049l$ ",
  );
  const screen = await renderScreen(data, { cols: 20, rows: 3 });
  assert.equal(screen.altScreen, false);
  assert.deepEqual(screen.lines, ["$ less log", "$", ""]);
  assert.deepEqual(screen.cursor, { row: 1, col: 2 });
});

Deno.test("renderScreen() follows cursor addressing", async () => {
  const screen = await renderScreen(bytes("\x1b[3;5Hx\x1b[2;8H"), {
    cols: 10,
    rows: 4,
  });
  assert.deepEqual(screen.lines, ["", "", "    x", ""]);
  assert.deepEqual(screen.cursor, { row: 1, col: 7 });
});

Deno.test("renderScreen() keeps the cursor inside the last column", async () => {
  const screen = await renderScreen(bytes("0123456789"), {
    cols: 10,
    rows: 2,
  });
  assert.deepEqual(screen.lines, ["0123456789", ""]);
  assert.deepEqual(screen.cursor, { row: 0, col: 9 });
});

Deno.test("renderScreen() shows wide characters once", async () => {
  const screen = await renderScreen(bytes("中文ok"), { cols: 10, rows: 1 });
  assert.deepEqual(screen.lines, ["中文ok"]);
  assert.deepEqual(screen.cursor, { row: 0, col: 6 });
});

Deno.test("renderScreen() rejects a size below one", async () => {
  await assert.rejects(
    () => renderScreen(bytes("a"), { cols: 0, rows: 5 }),
    RangeError,
  );
});

Deno.test("formatScreen() joins the rows without trailing empty ones", () => {
  const screen: Screen = {
    lines: ["a", "", "b", "", ""],
    cursor: { row: 0, col: 0 },
    cols: 10,
    rows: 5,
    altScreen: false,
  };
  assert.equal(formatScreen(screen), "a\n\nb");
});

Deno.test("formatScreen() returns an empty string for a blank screen", () => {
  const screen: Screen = {
    lines: ["", "", ""],
    cursor: { row: 0, col: 0 },
    cols: 10,
    rows: 3,
    altScreen: true,
  };
  assert.equal(formatScreen(screen), "");
});

Deno.test("formatScreen() formats what renderScreen() returns", async () => {
  const screen = await renderScreen(bytes("\x1b[31mred\x1b[0m\r\n\r\nend"), {
    cols: 10,
    rows: 5,
  });
  assert.equal(formatScreen(screen), "red\n\nend");
});

Deno.test("renderScreen() says nothing on the console about bytes it cannot parse", async () => {
  const logged: unknown[][] = [];
  const saved = { ...console };
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    console[level] = (...args: unknown[]) => logged.push(args);
  }
  try {
    await renderScreen(new TextEncoder().encode("a\x7fb"), {
      cols: 20,
      rows: 2,
    });
  } finally {
    Object.assign(console, saved);
  }
  assert.deepEqual(logged, []);
});

/**
 * The screen xterm.js shows for `text`: behind a cursor-show escape, which
 * changes nothing on screen but is not one `plainScreen()` reads, so that
 * `renderScreen()` takes it to the emulator.
 */
function emulated(text: string, options: Parameters<typeof renderScreen>[1]) {
  return renderScreen(bytes("\x1b[?25h" + text), options);
}

/** A small deterministic generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

const PIECES = [
  "a",
  "word ",
  "  ",
  "\t",
  "\r\n",
  "\r\n\r",
  "\x1b[1;31m",
  "\x1b[0m",
  "\x1b[?2004h",
  "\r\n\x1b[?2004l\r",
  "\x07",
  "é",
  "ßʃ",
  "\u00a0",
  "0123456789",
  "x".repeat(20),
];

Deno.test("plainScreen() lays out plain output as xterm.js does", async (t) => {
  const next = random(21);
  const pick = <T>(from: readonly T[]) =>
    from[Math.floor(next() * from.length)];
  const cases: [string, { cols: number; rows: number; scrollback?: number }][] =
    [
      ["", { cols: 10, rows: 3 }],
      ["x".repeat(10), { cols: 10, rows: 3 }],
      ["x".repeat(10) + "\t", { cols: 10, rows: 3 }],
      ["x".repeat(10) + "\ty", { cols: 10, rows: 3 }],
      ["x".repeat(10) + "\r\n", { cols: 10, rows: 3 }],
      ["x".repeat(9) + "\ty", { cols: 10, rows: 3 }],
      ["a\tb\tc\td", { cols: 20, rows: 2 }],
      ["$ \x07", { cols: 20, rows: 2 }],
      [
        Array.from({ length: 500 }, (_, i) => `line ${i}`).join("\r\n"),
        { cols: 4, rows: 3, scrollback: 5 },
      ],
    ];
  for (let n = 0; n < 300; n++) {
    const text = Array.from(
      { length: 1 + Math.floor(next() * 40) },
      () => pick(PIECES),
    ).join("");
    cases.push([text, {
      cols: pick([2, 3, 8, 9, 10, 16, 20, 80]),
      rows: pick([1, 2, 3, 5, 24]),
      scrollback: pick([undefined, 0, 1, 3, 1000]),
    }]);
  }
  for (const [text, options] of cases) {
    const plain = plainScreen(bytes(text), options);
    assert.ok(plain, `declined ${JSON.stringify(text)}`);
    assert.deepEqual(
      plain,
      await emulated(text, options),
      `${JSON.stringify(text)} ${JSON.stringify(options)}`,
    );
  }
  await t.step("and leaves the rest to it", () => {
    for (
      const text of [
        "a\x1b[2Kb",
        "a\rb",
        "a\nb",
        "a\bb",
        "\x1b[?1049h",
        "\u0301",
        "\u00ad",
        "漢字",
        "\x1b]0;title\x07",
        "\x1b[?25h", // which emulated() relies on
      ]
    ) {
      assert.equal(plainScreen(bytes(text), { cols: 10, rows: 2 }), null, text);
    }
  });
});
