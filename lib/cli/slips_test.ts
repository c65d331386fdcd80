/** The small texts of the command line, each exact. */
import assert from "node:assert/strict";
import { copySummary } from "./verbs/cp.ts";
import { forwardList } from "./verbs/forward.ts";
import { checkKeyNames } from "./verbs/input.ts";
import { cliMessage } from "./error_out.ts";
import { helpWords } from "./args.ts";
import { usageLine } from "./grammar.ts";
import { SesshError, UsageError } from "../errors.ts";

Deno.test("copySummary() counts in the singular and the plural", async (t) => {
  const table: [Parameters<typeof copySummary>, string][] = [
    [
      ["upload", { bytes: 2, files: 1, resumedFrom: 0 }, 100],
      "sent 2 bytes in 1 file in 0.1 s\n",
    ],
    [
      ["download", { bytes: 1, resumedFrom: 0 }, 1500],
      "received 1 byte in 1.5 s\n",
    ],
    [
      ["upload", { bytes: 10, files: 3, skipped: 1, resumedFrom: 0 }, 0],
      "sent 10 bytes in 3 files (1 link or other left out) in 0.0 s\n",
    ],
    [
      ["upload", { bytes: 10, files: 0, skipped: 2, resumedFrom: 4 }, 0],
      "sent 10 bytes in 0 files (2 links and others left out) in 0.0 s, resumed at byte 4\n",
    ],
  ];
  for (const [args, line] of table) {
    await t.step(line.trim(), () => assert.equal(copySummary(...args), line));
  }
});

Deno.test("forwardList() prints each forward as it was set up, or none", () => {
  assert.equal(
    forwardList(
      [{ kind: "L", spec: "8080:localhost:80" }, { kind: "D", spec: "1080" }],
      "through the master of box",
    ),
    "-L 8080:localhost:80\n-D 1080\n",
  );
  assert.equal(
    forwardList([], "through the master of box"),
    "no forwards through the master of box\n",
  );
});

Deno.test("checkKeyNames() refuses a word that names no key, with the names", () => {
  checkKeyNames(["C-c", "Enter", "q", "pagedown", "M-x", "S-Tab", "F12", "é"]);
  for (const word of ["Foo", "hello", "C-Foo", "F13", ""]) {
    assert.throws(
      () => checkKeyNames(["Enter", word]),
      (error: unknown) =>
        error instanceof UsageError &&
        error.message ===
          `Unknown key ${
            JSON.stringify(word)
          }; give key names (Enter, Escape, Tab, BTab, BSpace, Space, Up, Down, Left, Right, Home, End, PageUp, PageDown, IC, DC, F1…F12, one character, or C-, M-, S- before one: C-c, M-x), or --literal to type words as text`,
    );
  }
});

Deno.test("cliMessage() hints at a prompt the shell can paste, quoted", () => {
  const echoes = (destination: string) =>
    new SesshError("terminal_echoes", "The terminal echoes", 3, {
      session: "w",
      destination,
    });
  assert.equal(
    cliMessage(echoes("db1")),
    "The terminal echoes (e.g. sessh wait w db1 --for '[Pp]assword')",
  );
  assert.equal(
    cliMessage(echoes("my box")),
    "The terminal echoes (e.g. sessh wait w 'my box' --for '[Pp]assword')",
  );
});

Deno.test("helpWords() turns sessh help [VERB] into --help", () => {
  assert.deepEqual(helpWords(["help"]), ["--help"]);
  assert.deepEqual(helpWords(["help", "keys"]), ["keys", "--help"]);
  assert.deepEqual(helpWords(["help", "help"]), ["--help"]);
  assert.deepEqual(helpWords(["run", "help"]), ["run", "help"]);
});

Deno.test("usageLine() shows the positionals, [options] and the payload", () => {
  const positional = {
    kind: "tuple",
    parameters: [
      { placeholder: "NAME" },
      { placeholder: "DEST" },
      { placeholder: "PORT", optional: true },
    ],
  };
  assert.equal(
    usageLine(positional, "COMMAND…"),
    "NAME DEST [PORT] [options] -- COMMAND…",
  );
  assert.equal(usageLine(positional), "NAME DEST [PORT] [options]");
});
