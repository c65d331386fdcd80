import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import {
  expandHosts,
  foldHosts,
  MAX_HOSTS,
  parseHostsFile,
} from "./host_set.ts";

Deno.test("expandHosts() expands pdsh-style ranges", async (t) => {
  const cases: [string, string[]][] = [
    ["a", ["a"]],
    ["a,b", ["a", "b"]],
    ["gpu[01-03]", ["gpu01", "gpu02", "gpu03"]],
    ["a[1-3,7],b", ["a1", "a2", "a3", "a7", "b"]],
    ["n[8-11]", ["n8", "n9", "n10", "n11"]],
    ["n[08-10]", ["n08", "n09", "n10"]],
    ["r[1-2]n[1-2]", ["r1n1", "r1n2", "r2n1", "r2n2"]],
    ["me@gpu[1-2].lab", ["me@gpu1.lab", "me@gpu2.lab"]],
    ["a,b,a", ["a", "b"]],
    [" a , b ", ["a", "b"]],
  ];
  for (const [spec, hosts] of cases) {
    await t.step(spec, () => assert.deepEqual(expandHosts(spec), hosts));
  }
});

Deno.test("expandHosts() refuses malformed sets with what to write", async (t) => {
  const cases: [string, RegExp][] = [
    ["", /Empty entry/],
    ["a,,b", /Empty entry/],
    ["a[1-3", /Unbalanced bracket/],
    ["a1-3]", /Unbalanced bracket/],
    ["a[x]", /Bad range "\[x\]"/],
    ["a[3-1]", /must not exceed/],
    ["a[]", /Bad range/],
    ["a b", /space or control/],
    [`n[1-${MAX_HOSTS + 1}]`, /more than 4096 hosts/],
    [`r[1-100]n[1-100]`, /more than 4096 hosts/],
  ];
  for (const [spec, message] of cases) {
    await t.step(spec, () =>
      assert.throws(
        () => expandHosts(spec),
        (e) => e instanceof UsageError && message.test(e.message),
      ));
  }
});

Deno.test("parseHostsFile() reads one entry a line and skips comments", () => {
  const text =
    "# rack one\ngpu[01-02]\n\n  login # the front door\nx,y\ngpu01\n";
  assert.deepEqual(parseHostsFile(text, "f"), [
    "gpu01",
    "gpu02",
    "login",
    "x",
    "y",
  ]);
});

Deno.test("parseHostsFile() refuses a file that names no host", () => {
  assert.throws(
    () => parseHostsFile("# nothing\n\n", "hosts.txt"),
    (e) =>
      e instanceof UsageError && /"hosts.txt" names no host/.test(e.message),
  );
});

Deno.test("foldHosts() folds trailing numbers into ranges", async (t) => {
  const cases: [string[], string][] = [
    [["a"], "a"],
    [["n1", "n2", "n3", "n7", "login"], "n[1-3,7],login"],
    [["fan03", "fan01", "fan02"], "fan[01-03]"],
    [["n9", "n10", "n11"], "n9,n[10-11]"],
    [["n08", "n09", "n10"], "n[08-10]"],
    [["fan05"], "fan05"],
  ];
  for (const [hosts, folded] of cases) {
    await t.step(folded, () => {
      assert.equal(foldHosts(hosts), folded);
      assert.deepEqual(
        new Set(expandHosts(folded)),
        new Set(hosts),
        "the folded form reads back as the same hosts",
      );
    });
  }
});
