/**
 * `install.sh` end to end against a release served on 127.0.0.1: fake
 * executables and a SHA256SUMS written by `scripts/release.ts sums`, as the
 * release workflow writes it, and a `uname` of our own to play each machine.
 */
import assert from "node:assert/strict";
import { runCommand } from "../lib/process.ts";
import { powershellSyntaxErrors } from "./_powershell.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const INSTALL = `${ROOT}install.sh`;
const decoder = new TextDecoder();

/** A release directory served over loopback HTTP, and a scratch home. */
interface Release extends AsyncDisposable {
  /** Where the release's files are; edit them to change what is served. */
  files: string;
  /** The URL of `files`. */
  url: string;
  /** A directory for the installs and the fake `uname`. */
  home: string;
}

async function serveRelease(assets: Record<string, string>): Promise<Release> {
  const home = await Deno.makeTempDir({ prefix: "sessh-install-" });
  const files = `${home}/release`;
  await Deno.mkdir(files);
  for (const [name, text] of Object.entries(assets)) {
    await Deno.writeTextFile(`${files}/${name}`, text);
  }
  const sums = await runCommand([
    Deno.execPath(),
    "run",
    "-A",
    `${ROOT}scripts/release.ts`,
    "sums",
    files,
  ]);
  assert.equal(sums.code, 0, decoder.decode(sums.stderr));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const name = new URL(request.url).pathname.split("/").pop() ?? "";
      try {
        return new Response(await Deno.readFile(`${files}/${name}`));
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  return {
    files,
    url: `http://127.0.0.1:${server.addr.port}/download/v0.1.0`,
    home,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await Deno.remove(home, { recursive: true });
    },
  };
}

/** `sh install.sh ARGS…` as a machine `uname` says is `os`/`arch`. */
async function install(
  release: Release,
  args: string[],
  machine: { os: string; arch: string } = { os: "Linux", arch: "x86_64" },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = `${release.home}/fakebin`;
  await Deno.mkdir(bin, { recursive: true });
  await Deno.writeTextFile(
    `${bin}/uname`,
    `#!/bin/sh\ncase $1 in -s) echo ${machine.os} ;; -m) echo ${machine.arch} ;; esac\n`,
    { mode: 0o755 },
  );
  const result = await runCommand(["sh", INSTALL, ...args], {
    env: {
      PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
      HOME: release.home,
      TMPDIR: release.home,
      SESSH_RELEASE_URL: release.url,
      SESSH_INSTALL_DIR: `${release.home}/bin`,
    },
    timeoutMs: 30_000,
  });
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

const FAKE = (name: string) => `#!/bin/sh\necho ${name} "$@"\n`;
const ASSETS = {
  "sessh-x86_64-unknown-linux-gnu": FAKE("linux-x86_64"),
  "sessh-aarch64-unknown-linux-gnu": FAKE("linux-aarch64"),
  "sessh-x86_64-apple-darwin": FAKE("darwin-x86_64"),
  "sessh-aarch64-apple-darwin": FAKE("darwin-aarch64"),
  "sessh-x86_64-pc-windows-msvc.exe": "MZ",
};

Deno.test("install.sh passes shellcheck as POSIX sh", async () => {
  const result = await runCommand(["shellcheck", "-s", "sh", INSTALL]);
  assert.equal(result.code, 0, decoder.decode(result.stdout));
});

Deno.test("install.sh installs the asset of the machine after checking its sum", async (t) => {
  await using release = await serveRelease(ASSETS);
  for (
    const [os, arch, expected] of [
      ["Linux", "x86_64", "linux-x86_64"],
      ["Linux", "aarch64", "linux-aarch64"],
      ["Darwin", "x86_64", "darwin-x86_64"],
      ["Darwin", "arm64", "darwin-aarch64"],
    ]
  ) {
    await t.step(`${os} ${arch}`, async () => {
      const done = await install(release, ["v0.1.0"], { os, arch });
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, /^installed sessh-/);
      const ran = await runCommand([`${release.home}/bin/sessh`, "--version"]);
      assert.equal(decoder.decode(ran.stdout), `${expected} --version\n`);
    });
  }
});

Deno.test("install.sh refuses an asset that does not match SHA256SUMS and keeps the installed one", async () => {
  await using release = await serveRelease(ASSETS);
  const first = await install(release, []);
  assert.equal(first.code, 0, first.stderr);
  await Deno.writeTextFile(
    `${release.files}/sessh-x86_64-unknown-linux-gnu`,
    FAKE("tampered"),
  );
  const refused = await install(release, []);
  assert.equal(refused.code, 4, refused.stderr);
  assert.match(
    refused.stderr,
    /^install\.sh: sessh-x86_64-unknown-linux-gnu does not match SHA256SUMS \(expected [0-9a-f]{64}, got [0-9a-f]{64}\); nothing was installed/,
  );
  const ran = await runCommand([`${release.home}/bin/sessh`]);
  assert.equal(decoder.decode(ran.stdout), "linux-x86_64\n");
  const left = [...Deno.readDirSync(`${release.home}/bin`)].map((e) => e.name);
  assert.deepEqual(left, ["sessh"], "no staged file left behind");
});

Deno.test("install.sh refuses when SHA256SUMS names no asset for the machine", async () => {
  await using release = await serveRelease(ASSETS);
  await Deno.writeTextFile(`${release.files}/SHA256SUMS`, "");
  const refused = await install(release, []);
  assert.equal(refused.code, 4);
  assert.match(
    refused.stderr,
    /SHA256SUMS names no "sessh-x86_64-unknown-linux-gnu"/,
  );
});

Deno.test("install.sh replaces a link at the target instead of writing through it", async () => {
  await using release = await serveRelease(ASSETS);
  const victim = `${release.home}/victim`;
  await Deno.writeTextFile(victim, "keep");
  await Deno.mkdir(`${release.home}/bin`);
  await Deno.symlink(victim, `${release.home}/bin/sessh`);
  const done = await install(release, []);
  assert.equal(done.code, 0, done.stderr);
  assert.equal(await Deno.readTextFile(victim), "keep");
  assert.ok((await Deno.lstat(`${release.home}/bin/sessh`)).isFile);
});

Deno.test("install.sh refuses bad input with exit 2 or 3 and a message", async (t) => {
  await using release = await serveRelease(ASSETS);
  const cases: [
    string,
    string[],
    { os: string; arch: string },
    number,
    RegExp,
  ][] = [
    [
      "a word for a version",
      ["latest"],
      { os: "Linux", arch: "x86_64" },
      2,
      /"latest" is not a version/,
    ],
    [
      "two arguments",
      ["v1.0.0", "v2.0.0"],
      { os: "Linux", arch: "x86_64" },
      2,
      /at most one argument/,
    ],
    [
      "a version with a slash",
      ["v1.0.0/../x"],
      { os: "Linux", arch: "x86_64" },
      2,
      /is not a version/,
    ],
    [
      "FreeBSD",
      [],
      { os: "FreeBSD", arch: "amd64" },
      2,
      /no sessh build for "FreeBSD"; on Windows run install.ps1/,
    ],
    [
      "a 32-bit processor",
      [],
      { os: "Linux", arch: "i686" },
      2,
      /no sessh build for the "i686" processor/,
    ],
  ];
  for (const [label, args, machine, code, message] of cases) {
    await t.step(label, async () => {
      const refused = await install(release, args, machine);
      assert.equal(refused.code, code, refused.stderr);
      assert.match(refused.stderr, message);
    });
  }
  await t.step("a missing asset", async () => {
    await Deno.remove(`${release.files}/sessh-x86_64-unknown-linux-gnu`);
    const refused = await install(release, []);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(
      refused.stderr,
      /cannot download http:\/\/127\.0\.0\.1:\d+\/download\/v0\.1\.0\/sessh-x86_64-unknown-linux-gnu/,
    );
  });
});

Deno.test("install.ps1 parses as PowerShell, and the check finds a broken copy", async () => {
  const text = await Deno.readTextFile(`${ROOT}install.ps1`);
  assert.deepEqual(await powershellSyntaxErrors(text), []);
  const broken = text.replace("if (-not $expected) {", "if (-not $expected {");
  assert.notEqual(broken, text);
  assert.notDeepEqual(await powershellSyntaxErrors(broken), []);
});
