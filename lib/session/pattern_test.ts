import assert from "node:assert/strict";
import { daemonPattern } from "./pattern.ts";

/** What Python's `re` finds with each rewritten pattern, or null. */
async function pythonMatches(
  cases: { source: string; flags: string; text: string }[],
): Promise<(string | null)[]> {
  const script = `
import json, re, sys
out = []
for case in json.load(sys.stdin):
    flags = (re.I if "i" in case["flags"] else 0) | (re.S if "s" in case["flags"] else 0)
    match = re.compile(case["source"], flags).search(case["text"])
    out.append(match.group(0) if match else None)
json.dump(out, sys.stdout)
`;
  const child = new Deno.Command("python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(cases)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** Patterns and texts where the two dialects differ unless rewritten. */
const CASES: [RegExp, string[]][] = [
  [/^flood-done$/m, [
    "x\nflood-done\n",
    "flood-done",
    "xflood-done\n",
    "a\r\nflood-done\r\n",
  ]],
  [/done$/, ["done\n", "done"]],
  [/^start/, ["start", "\nstart"]],
  [/a.c/, ["a\rc", "a\nc", "a\u2028c", "abc"]],
  [/a.c/s, ["a\nc", "a\rc"]],
  [/\d+/, ["x\u0663\u0664 12", "none"]],
  [/\w+/, ["é abc_1"]],
  [/\s/, ["a\u00a0b", "a\u2003b", "ab"]],
  [/\S+/, ["\u00a0ab\u00a0"]],
  [/\bcat\b/, ["écat", "a cat.", "cats"]],
  [/\Bat/, ["cat", "at"]],
  [/[\d\s]+/, ["ab 12 3cd"]],
  [/[^\w]+/, ["ab, cd"]],
  // deno-lint-ignore no-empty-character-class -- JS's empty class is a case
  [/x[]y/, ["xy", "x y"]],
  [/x[^]y/, ["x\ny", "xy"]],
  [/[\b]/, ["a\bb"]],
  [/(?<word>ab)-\k<word>/, ["ab-ab", "ab-ac"]],
  [/(a|b)\1/, ["ab", "bb"]],
  [/a{2,3}/, ["aaaa", "a"]],
  [/a{,2}/, ["a{,2}", "aa"]],
  [/x{/, ["x{"]],
  [/}/, ["a}"]],
  [/\cJ/, ["a\nb"]],
  [/\0/, ["a\0b"]],
  [/\x41\u00e9/, ["Aé"]],
  [/CAFÉ/i, ["café"]],
  [/[a-c]+/i, ["xABCx"]],
  [/a+?/, ["aaa"]],
  [/foo(?=bar)/, ["foobaz foobar"]],
  [/foo(?!bar)/, ["foobar foobaz"]],
  [/[&|[]+/, ["a&|[b"]],
  [/[a\-z]+/, ["-az-"]],
  [/\$\(\)\.\*\+\?\/\\/, ["$().*+?/\\"]],
  [/error|fail(?:ed)?/, ["it failed", "error"]],
  [/(?:\r?\n){2}/, ["a\r\n\r\nb"]],
];

Deno.test("rewritten patterns find in Python what the JS pattern finds", async () => {
  const cases: { source: string; flags: string; text: string }[] = [];
  const expected: (string | null)[] = [];
  const labels: string[] = [];
  for (const [pattern, texts] of CASES) {
    const rewritten = daemonPattern(pattern);
    assert.ok(rewritten, `${pattern} has a Python form`);
    for (const text of texts) {
      cases.push({ ...rewritten, text });
      expected.push(pattern.exec(text)?.[0] ?? null);
      labels.push(`${pattern} on ${JSON.stringify(text)}`);
    }
  }
  const found = await pythonMatches(cases);
  for (let i = 0; i < cases.length; i++) {
    assert.equal(found[i], expected[i], labels[i]);
  }
});

Deno.test("patterns without a Python form of the same meaning are left to the client", () => {
  for (
    const pattern of [
      /(?<=a)b/,
      /(?<!a)b/,
      /\p{L}/u,
      /a/v,
      /\a/,
      new RegExp("\\1"),
      new RegExp("[!--]"),
      /[\D]/,
      new RegExp("\\k<x>"),
      new RegExp("\\x4"),
    ]
  ) {
    assert.equal(daemonPattern(pattern), null, String(pattern));
  }
});

Deno.test("flags other than i and s do not reach the daemon", () => {
  assert.deepEqual(daemonPattern(/a/gimsy), { source: "a", flags: "is" });
});
