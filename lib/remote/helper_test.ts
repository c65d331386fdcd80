import assert from "node:assert/strict";
import {
  generateEmbeddedSource,
  generateHashSource,
  helperHash,
  packHelper,
  readHelperFiles,
  readUpload,
} from "./embed.ts";
import { HELPER_HASH, HELPER_PACKED } from "./_helper_source.ts";
import { decodeBase64 } from "../bytes.ts";
import { inflateSync } from "node:zlib";
import { bridgeCommand } from "./bootstrap.ts";
import { PROTOCOL_VERSION as HASH_PROTOCOL_VERSION } from "./_helper_hash.ts";
import { PROTOCOL_VERSION } from "../contract/spec.ts";

const dir = new URL("./", import.meta.url);
const helperDir = new URL("helper/", dir);

// What a first call uploads, as `deno task embed` reads it.
const uploaded = () => readUpload(dir);

Deno.test("generateEmbeddedSource() output is in sync with the helper package and the loader", async () => {
  const { files, loader } = await uploaded();
  const committed = await Deno.readTextFile(new URL("_helper_source.ts", dir));
  assert.equal(
    committed,
    await generateEmbeddedSource(files, loader),
    "lib/remote/_helper_source.ts is stale: run `deno task embed`",
  );
  // What the loader inflates is the packed package, under its hash.
  const inflated = inflateSync(decodeBase64(HELPER_PACKED));
  assert.deepEqual(new Uint8Array(inflated), packHelper(files));
  assert.equal(HELPER_HASH, await helperHash(new Uint8Array(inflated)));
});

Deno.test("generateHashSource() output is in sync with the helper package and the contract", async () => {
  const { files } = await uploaded();
  const committed = await Deno.readTextFile(new URL("_helper_hash.ts", dir));
  assert.equal(
    committed,
    await generateHashSource(files, PROTOCOL_VERSION),
    "lib/remote/_helper_hash.ts is stale: run `deno task embed`",
  );
  assert.ok(committed.includes(JSON.stringify(HELPER_HASH)));
  // The warm path's copy of the version is the contract's.
  assert.equal(HASH_PROTOCOL_VERSION, PROTOCOL_VERSION);
});

Deno.test("generateEmbeddedSource() changes with any shipped module, and only with those", async () => {
  const files = await readHelperFiles(helperDir);
  const loader = await Deno.readTextFile(new URL("loader.py", dir));
  const names = files.map((f) => f.name);
  assert.ok(names.includes("__main__.py") && names.includes("protocol.py"));
  assert.ok(!names.some((n) => n.endsWith("_test.py") || n === "testing.py"));
  const edited = files.map((f, i) =>
    i === files.length - 1 ? { ...f, text: f.text + "\n" } : f
  );
  assert.notEqual(
    await generateEmbeddedSource(edited, loader),
    await generateEmbeddedSource(files, loader),
  );
});

Deno.test("the helper package passes its own unit tests under python3 -m unittest discover", async () => {
  const result = await new Deno.Command("python3", {
    args: [
      "-m",
      "unittest",
      "discover",
      "-s",
      helperDir.pathname,
      "-p",
      "*_test.py",
    ],
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  assert.equal(result.code, 0, stderr);
  assert.match(stderr, /^OK$/m);
});

// The first call to a host ships the helper, compressed, over the ssh
// channel, and Python compiles it once into the cache: both sizes are paid
// on the cold path.
Deno.test("the helper a first call uploads stays under 40 KiB, its sources under 136 KiB", () => {
  const packed = decodeBase64(HELPER_PACKED);
  const source = inflateSync(packed);
  assert.ok(
    source.length < 136 * 1024,
    `the helper's modules have ${source.length} bytes`,
  );
  assert.ok(
    packed.length <= 40 * 1024,
    `the upload has ${packed.length} bytes`,
  );
});

// Modules of one concern each: none much over 500 lines.
Deno.test("every module of the helper package stays under 520 lines", async () => {
  for (const { name, text } of await readHelperFiles(helperDir)) {
    const lines = text.split("\n").length;
    assert.ok(lines < 520, `${name} has ${lines} lines`);
  }
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
      ...(await readHelperFiles(helperDir)).map((f) =>
        new URL(f.name, helperDir).pathname
      ),
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

Deno.test("bridgeCommand() passes SESSH_NO_PROCFS=1 to the helper as a fixed prefix", () => {
  const plain = bridgeCommand({ pushHelper: true });
  const command = bridgeCommand({ pushHelper: true, noProcfs: true });
  assert.equal(
    command,
    plain.replace(/^exec env /, "exec env SESSH_NO_PROCFS=1 "),
  );
  assert.ok(!plain.includes("SESSH_NO_PROCFS"));
});

Deno.test("bridgeCommand() marks a pushed helper with + after its hash", () => {
  assert.ok(
    bridgeCommand({ pushHelper: true }).endsWith(` ${HELPER_HASH}+ bridge`),
  );
  assert.ok(bridgeCommand().endsWith(` ${HELPER_HASH} bridge`));
});

Deno.test("the loader inflates a pushed helper into its cache, and refuses one altered on the way", async () => {
  const packed = decodeBase64(HELPER_PACKED);
  const load = async (upload: Uint8Array) => {
    const cache = await Deno.makeTempDir();
    // A role that imports modules: outside a session, `detach` refuses.
    // PYTHONDONTWRITEBYTECODE is set on some hosts: the helper writes its
    // bytecode all the same.
    const out = await runLoader(cache, {
      upload,
      args: ["detach"],
      env: { PYTHONDONTWRITEBYTECODE: "1", SESSH_SESSION: "" },
    });
    const unpacked = `${cache}/sessh/helper-${HELPER_HASH}`;
    const cached = await readHelperFiles(new URL(`file://${unpacked}/`))
      .catch(() => null);
    const left = await Array.fromAsync(Deno.readDir(`${cache}/sessh`))
      .then((entries) => entries.map((e) => e.name));
    // What Python compiled, cached for the next call and for the daemon.
    const compiled = await Array.fromAsync(
      Deno.readDir(`${unpacked}/__pycache__`),
    ).then((entries) => entries.map((e) => e.name)).catch(() => []);
    await Deno.remove(cache, { recursive: true });
    return {
      ...out,
      cached,
      left,
      compiled,
    };
  };
  const good = await load(packed);
  assert.equal(good.code, 1, good.stderr);
  assert.match(good.stderr, /^sessh detach: not inside a sessh session/);
  // Unpacked whole under its hash, with no temporary directory left.
  assert.deepEqual(good.cached, (await uploaded()).files);
  assert.deepEqual(good.left, [`helper-${HELPER_HASH}`]);
  assert.ok(
    good.compiled.some((n) => /^bridge\.\w+-\d+\.pyc$/.test(n)),
    good.compiled.join(" "),
  );
  const altered = packed.slice();
  altered[altered.length >> 1] ^= 0x40;
  const bad = await load(altered);
  assert.equal(bad.code, 4);
  assert.match(bad.stderr, /the helper arrived corrupted/);
  assert.equal(bad.cached, null);
  assert.deepEqual(bad.left, []);
});

/**
 * Runs the loader on a pushed helper (`upload`, by default the embedded one)
 * with `XDG_CACHE_HOME` set to `cache`.
 */
async function runLoader(
  cache: string,
  options: {
    upload?: Uint8Array;
    args?: string[];
    env?: Record<string, string>;
  } = {},
): Promise<{ code: number; stderr: string }> {
  const loader = await Deno.readTextFile(new URL("loader.py", dir));
  const upload = options.upload ?? decodeBase64(HELPER_PACKED);
  const child = new Deno.Command("python3", {
    args: ["-S", "-c", loader, `${HELPER_HASH}+`, ...options.args ?? []],
    env: { XDG_CACHE_HOME: cache, ...options.env },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(`${upload.length}\n`));
  await writer.write(upload);
  await writer.close();
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("the loader refuses a cache that others could swap, and says why", async (t) => {
  // How the directories are set up; the exit code and stderr expected (2:
  // the helper ran, with no role).
  const table: [string, (top: string) => Promise<void>, number, RegExp][] = [
    ["a private cache", async () => {}, 2, /^usage: sessh list/],
    [
      "XDG_CACHE_HOME writable by others",
      (top) => Deno.chmod(top, 0o777),
      3,
      /refusing cache dir .*\/sessh: .* \(uid \d+, mode 777\) lets others replace it/,
    ],
    [
      "XDG_CACHE_HOME writable by others but sticky, as /tmp",
      (top) => Deno.chmod(top, 0o1777),
      2,
      /^usage: sessh list/,
    ],
    [
      "sessh a symlink to a private directory",
      async (top) => {
        await Deno.mkdir(`${top}.elsewhere`, { mode: 0o700 });
        await Deno.symlink(`${top}.elsewhere`, `${top}/sessh`);
      },
      3,
      /refusing cache dir .*: .*(Too many levels of symbolic links|Not a directory)/,
    ],
    [
      "sessh readable by others",
      async (top) => {
        await Deno.mkdir(`${top}/sessh`);
        await Deno.chmod(`${top}/sessh`, 0o755);
      },
      3,
      /it must be owned by you with mode 0700/,
    ],
  ];
  for (const [name, setUp, code, stderr] of table) {
    await t.step(name, async () => {
      const base = await Deno.makeTempDir();
      try {
        const top = `${base}/cache`;
        await Deno.mkdir(top, { mode: 0o700 });
        await setUp(top);
        const result = await runLoader(top);
        assert.equal(result.code, code, result.stderr);
        assert.match(result.stderr, stderr);
      } finally {
        await Deno.remove(base, { recursive: true });
      }
    });
  }
});
