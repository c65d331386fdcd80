import assert from "node:assert/strict";
import { generateEmbeddedSource, helperHash } from "./embed.ts";
import { HELPER_HASH, HELPER_SOURCE } from "./_helper_source.ts";
import { bridgeCommand } from "./bootstrap.ts";

const dir = new URL("./", import.meta.url);

Deno.test("generateEmbeddedSource() output is in sync with the helper and loader files", async () => {
  const helper = await Deno.readTextFile(new URL("sessh_helper.py", dir));
  const loader = await Deno.readTextFile(new URL("loader.py", dir));
  const committed = await Deno.readTextFile(new URL("_helper_source.ts", dir));
  assert.equal(
    committed,
    await generateEmbeddedSource(helper, loader),
    "lib/remote/_helper_source.ts is stale: run `deno task embed`",
  );
  assert.equal(HELPER_HASH, await helperHash(HELPER_SOURCE));
});

Deno.test("sessh_helper.py passes its own unit tests under python3 -m unittest", async () => {
  const result = await new Deno.Command("python3", {
    args: ["-m", "unittest", "sessh_helper_test"],
    cwd: new URL(".", dir).pathname,
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  assert.equal(result.code, 0, stderr);
  assert.match(stderr, /^OK$/m);
});

// The first call to a host ships the helper over the ssh channel and the
// daemon compiles it at start: its size is paid on the cold path.
Deno.test("sessh_helper.py stays under 96 KiB, what a first call uploads", async () => {
  const bytes = (await Deno.readFile(new URL("sessh_helper.py", dir))).length;
  assert.ok(bytes < 96 * 1024, `sessh_helper.py has ${bytes} bytes`);
});

// A lint rule, with Python's own parser: a compound statement's body starts
// on a line of its own (pycodestyle's E701), so that each line does one thing.
const ONE_LINERS = `
import ast, sys
for path in sys.argv[1:]:
    lines = open(path).read().split("\\n")
    for node in ast.walk(ast.parse("\\n".join(lines))):
        for body in (getattr(node, "body", None), getattr(node, "orelse", None), getattr(node, "finalbody", None)):
            if not isinstance(body, list) or not body or not isinstance(body[0], ast.stmt):
                continue
            first = body[0]
            head = lines[first.lineno - 1][:first.col_offset].strip()
            if head.endswith(":"):
                print("%s:%d: %s" % (path, first.lineno, lines[first.lineno - 1].strip()))
`;

Deno.test("the Python sources put each compound statement's body on lines of its own", async () => {
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: [
      "-c",
      ONE_LINERS,
      new URL("sessh_helper.py", dir).pathname,
      new URL("loader.py", dir).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.equal(new TextDecoder().decode(stdout), "");
});

Deno.test("bridgeCommand() carries the loader hex-encoded, with no shell metacharacters", () => {
  const command = bridgeCommand();
  const match =
    /^exec env SESSH_PATH="\$PATH" PATH="\/usr\/bin:\/bin:\$PATH" python3 -S -c 'exec\(bytes\.fromhex\("([0-9a-f]+)"\)\)' ([0-9a-f]{16}) bridge$/
      .exec(command);
  assert.ok(match, command);
  assert.equal(match[2], HELPER_HASH);
  const loader = new TextDecoder().decode(
    Uint8Array.from(match[1].match(/../g)!, (h) => parseInt(h, 16)),
  );
  assert.match(loader, /SESSH-SEND/);
});

Deno.test("bridgeCommand() marks a pushed helper with + after its hash", () => {
  assert.ok(
    bridgeCommand({ pushHelper: true }).endsWith(` ${HELPER_HASH}+ bridge`),
  );
  assert.ok(bridgeCommand().endsWith(` ${HELPER_HASH} bridge`));
});
