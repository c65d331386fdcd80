import assert from "node:assert/strict";
import { quoteShell, sh } from "./shell_quote.ts";
import { UsageError } from "../errors.ts";

Deno.test("quoteShell leaves plain words bare and quotes the rest", () => {
  for (const word of ["make", "src/main.ts", "user@host:22", "-n", "a+b,c"]) {
    assert.equal(quoteShell(word), word);
  }
  const quoted: [string, string][] = [
    ["", "''"],
    ["a b", "'a b'"],
    ["it's", "'it'\\''s'"],
    ["$(x)", "'$(x)'"],
    ["~", "'~'"],
    ["=ls", "'=ls'"],
    ["a=b", "'a=b'"],
    ["*.ts", "'*.ts'"],
    ["line\nbreak", "'line\nbreak'"],
    ["!!", "'!!'"],
  ];
  for (const [value, word] of quoted) assert.equal(quoteShell(value), word);
  assert.equal(quoteShell(-3), "-3");
  assert.equal(quoteShell(10n), "10");
});

Deno.test("quoteShell refuses what no shell word can carry", () => {
  assert.throws(() => quoteShell("a\0b"), UsageError);
  assert.throws(() => quoteShell(NaN), UsageError);
  assert.throws(() => quoteShell(Infinity), UsageError);
});

Deno.test("sh quotes each value, a list as one word per item", () => {
  const files = ["a b", "c"];
  assert.equal(sh`rm -- ${files} ${"x y"}`, "rm -- 'a b' c 'x y'");
  assert.equal(sh`echo ${[]}.`, "echo .");
  assert.equal(sh`plain`, "plain");
  assert.throws(
    // @ts-expect-error: undefined is not a ShellValue; plain JS may pass it
    () => sh`echo ${undefined}`,
    /Cannot put undefined into a shell command/,
  );
  assert.throws(
    // @ts-expect-error: an object is not a ShellValue
    () => sh`echo ${{}}`,
    /Cannot put object into a shell command/,
  );
});

Deno.test("sh refuses a NUL byte in its own text as in a value", () => {
  assert.throws(
    () => sh`echo a\0b`,
    (error: unknown) =>
      error instanceof UsageError &&
      /The command's text holds a NUL byte/.test(error.message),
  );
  assert.throws(() => sh`echo ${"a\0b"}`, UsageError);
});

Deno.test("sh refuses a list inside a list rather than flattening it", () => {
  assert.throws(
    // @ts-expect-error: a nested list is not a ShellValue; plain JS may pass it
    () => sh`rm -- ${["a", ["b c", "d"]]}`,
    (error: unknown) =>
      error instanceof UsageError &&
      /a list inside a list.*list\.flat\(\)/.test(error.message),
  );
  assert.equal(sh`rm -- ${[["a"], ["b c"]].flat()}`, "rm -- a 'b c'");
});
