import assert from "node:assert/strict";
import { misplacedPayload, shellQuote } from "./payload_hint.ts";
import { COMMON, COMMON_ALIASES } from "./grammar.ts";

const SHAPES = {
  flags: {
    ...COMMON,
    timeout: { kind: "parsed" },
    noWait: { kind: "boolean" },
  },
  aliases: COMMON_ALIASES,
};

Deno.test("misplacedPayload() finds the payload typed without --", async (t) => {
  const table: [string[], string[] | null, string | null][] = [
    [
      ["run", "work", "host", "uptime"],
      null,
      'Unexpected argument "uptime"; put the COMMAND after --: sessh run work host -- uptime',
    ],
    [
      ["run", "work", "host", "ls -la"],
      null,
      `Unexpected argument "ls -la"; put the COMMAND after --: sessh run work host -- 'ls -la'`,
    ],
    [
      ["run", "work", "host", "ls", "-la"],
      null,
      'Unexpected argument "ls"; put the COMMAND after --: sessh run work host -- ls -la',
    ],
    [
      ["--json", "run", "-A", "-o", "X=1", "--no-wait", "w", "h", "22", "make"],
      ["-j4"],
      'Unexpected argument "make"; put the COMMAND after --: sessh --json run -A -o X=1 --no-wait w h 22 -- make -j4',
    ],
    [
      ["run", "w", "h", "--timeout=5", "--port", "22", "grep", "-i", "x y"],
      null,
      `Unexpected argument "grep"; put the COMMAND after --: sessh run w h --timeout=5 --port 22 -- grep -i 'x y'`,
    ],
    [
      ["send", "w", "h", "it's"],
      null,
      `Unexpected argument "it's"; put the TEXT after --: sessh send w h -- 'it'\\''s'`,
    ],
    [["run", "w", "h", "2222"], null, null],
    [["run", "w", "h"], ["ls"], null],
    [["run", "w", "h", "--timout", "5", "ls"], null, null],
    [
      ["run", "w", "h", "ls", "--help"],
      null,
      'Unexpected argument "ls"; put the COMMAND after --: sessh run w h -- ls --help',
    ],
    [["run", "w", "h", "--help", "ls"], null, null],
    [["run", "w", "-x", "h", "ls"], null, null],
    [["list", "h", "x"], null, null],
  ];
  for (const [args, payload, message] of table) {
    await t.step(args.join(" "), () => {
      const verb = args.find((a) => !a.startsWith("-")) ?? "";
      const error = misplacedPayload(args, payload, verb, SHAPES);
      assert.equal(error?.message ?? null, message);
      if (error) assert.equal(error.exitCode, 2);
    });
  }
});

Deno.test("shellQuote() quotes only what a shell would change", () => {
  assert.equal(shellQuote("me@box:22"), "me@box:22");
  assert.equal(shellQuote("-la"), "-la");
  assert.equal(shellQuote(""), "''");
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("$(x)"), "'$(x)'");
  assert.equal(shellQuote("~/x"), "'~/x'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});
