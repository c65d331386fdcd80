import assert from "node:assert/strict";
import { truncateMiddle } from "./truncate.ts";

const encoder = new TextEncoder();

function size(text: string): number {
  return encoder.encode(text).length;
}

/** `count` lines of the form "line 007 xxxxxxxx", 18 bytes with the newline. */
function numberedLines(count: number): string {
  return Array.from(
    { length: count },
    (_, i) => `line ${String(i).padStart(3, "0")} xxxxxxxx\n`,
  ).join("");
}

Deno.test("truncateMiddle() leaves text within the budget alone", () => {
  assert.deepEqual(truncateMiddle("short\n", 6), {
    text: "short\n",
    truncated: false,
    omittedBytes: 0,
  });
  assert.deepEqual(truncateMiddle("", 0), {
    text: "",
    truncated: false,
    omittedBytes: 0,
  });
});

Deno.test("truncateMiddle() keeps head and tail lines around a marker", () => {
  const text = numberedLines(100); // 1800 bytes
  const result = truncateMiddle(text, 400);
  // 400 bytes less 30 for "\n[… 1800 bytes omitted …]\n" leaves 185 for each
  // part; ten whole lines (180 bytes) fit in each.
  const head = numberedLines(10);
  const tail = text.slice(-180);
  assert.equal(tail.startsWith("line 090"), true);
  assert.deepEqual(result, {
    text: `${head}[… 1440 bytes omitted …]\n${tail}`,
    truncated: true,
    omittedBytes: 1440,
  });
  assert.equal(size(result.text) <= 400, true);
});

/**
 * Whether `result` is a prefix and a suffix of `input` around a marker line,
 * with `omitted` bytes of `input` between them.
 */
function isHeadMarkerTail(input: string, result: string): boolean {
  const match = result.match(
    /^([\s\S]*?)\[… (\d+) bytes omitted …\]([\s\S]*)$/,
  );
  if (match === null) return false;
  const [, before, omitted, after] = match;
  // The line breaks around the marker either belong to the kept text or were
  // added to put the marker on its own line.
  for (const head of [before, before.replace(/\n$/, "")]) {
    for (const tail of [after, after.replace(/^\n/, "")]) {
      if (
        input.startsWith(head) && input.endsWith(tail) &&
        size(head) + Number(omitted) + size(tail) === size(input)
      ) {
        return true;
      }
    }
  }
  return false;
}

Deno.test("truncateMiddle() reports exactly the bytes it cut out", async (t) => {
  const inputs: [string, string][] = [
    ["lines", numberedLines(1000)],
    ["one long line", "abcdefghij".repeat(1000)],
    ["multi-byte characters", "añ€🎉中".repeat(1000)],
    ["lines of multi-byte characters", "日本語のテキスト\n".repeat(500)],
  ];
  for (const [name, input] of inputs) {
    await t.step(name, () => {
      for (const budget of [100, 1000, 3333]) {
        const result = truncateMiddle(input, budget);
        assert.equal(result.truncated, true);
        assert.ok(
          isHeadMarkerTail(input, result.text),
          `not head, marker and tail: ${JSON.stringify(result.text)}`,
        );
        assert.ok(result.text.includes(`[… ${result.omittedBytes} bytes`));
        assert.ok(size(result.text) <= budget);
        assert.ok(!result.text.includes("\ufffd"));
      }
    });
  }
});

Deno.test("truncateMiddle() cuts on a character boundary without a nearby line break", () => {
  const text = "a".repeat(100) + "€".repeat(100); // 400 bytes, no newline
  const result = truncateMiddle(text, 100);
  // The marker needs "\n[… 400 bytes omitted …]\n", 29 bytes; 71 remain: 35
  // for the head and 36 for the tail, exactly twelve "€".
  assert.deepEqual(result, {
    text: `${"a".repeat(35)}\n[… 329 bytes omitted …]\n${"€".repeat(12)}`,
    truncated: true,
    omittedBytes: 329,
  });
});

Deno.test("truncateMiddle() never splits a character", () => {
  const text = "€".repeat(100); // 300 bytes
  const result = truncateMiddle(text, 100);
  // 71 bytes remain after the marker: 35 for the head holds eleven "€" (33
  // bytes), 36 for the tail holds twelve.
  assert.deepEqual(result, {
    text: `${"€".repeat(11)}\n[… 231 bytes omitted …]\n${"€".repeat(12)}`,
    truncated: true,
    omittedBytes: 231,
  });
});

Deno.test("truncateMiddle() ignores line breaks far from the cut", () => {
  // The only line breaks are near the start and the end, far outside the last
  // 10% of each part.
  const text = "a\n" + "b".repeat(500) + "\nc";
  const result = truncateMiddle(text, 200);
  // Budget left after the 29-byte marker line: 171, so 85 and 86.
  assert.equal(
    result.text,
    `a\n${"b".repeat(83)}\n[… 333 bytes omitted …]\n${"b".repeat(84)}\nc`,
  );
  assert.equal(result.omittedBytes, 333);
});

Deno.test("truncateMiddle() returns only the marker for a tiny budget", () => {
  const result = truncateMiddle("x".repeat(50), 5);
  assert.deepEqual(result, {
    text: "[… 50 bytes omitted …]",
    truncated: true,
    omittedBytes: 50,
  });
});

Deno.test("truncateMiddle() rejects a negative budget", () => {
  assert.throws(() => truncateMiddle("text", -1), RangeError);
});
