import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import {
  chooseControlDir,
  controlDir,
  ensureControlDir,
  MAX_CONTROL_DIR_BYTES,
  MAX_SOCKET_PATH_BYTES,
  type Platform,
} from "./control_dir.ts";

const uid = Deno.uid() ?? 0;

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ dir: "/tmp", prefix: "sessh-cd-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

async function assertUnsafe(path: string, pattern: RegExp) {
  await assert.rejects(() => ensureControlDir(path), (error) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.match(error.message, pattern);
    assert.match(
      error.message,
      /set SESSH_CONTROL_DIR to a private directory$/,
    );
    return true;
  });
}

Deno.test("controlDir() prefers SESSH_CONTROL_DIR", () => {
  assert.equal(
    controlDir({ SESSH_CONTROL_DIR: "/tmp/ctl/", XDG_RUNTIME_DIR: "/tmp" }),
    "/tmp/ctl",
  );
});

Deno.test("controlDir() takes the bash sessh's SESSH_CTRL_DIR, below SESSH_CONTROL_DIR", () => {
  assert.equal(controlDir({ SESSH_CTRL_DIR: "/tmp/old" }), "/tmp/old");
  assert.equal(
    controlDir({ SESSH_CTRL_DIR: "/tmp/old", SESSH_CONTROL_DIR: "/tmp/new" }),
    "/tmp/new",
  );
  assert.throws(
    () => controlDir({ SESSH_CTRL_DIR: "old" }),
    /^UsageError: SESSH_CTRL_DIR "old" is not an absolute path/,
  );
});

Deno.test("controlDir() refuses a relative or too long SESSH_CONTROL_DIR", () => {
  assert.throws(
    () => controlDir({ SESSH_CONTROL_DIR: "ctl" }),
    /is not an absolute path/,
  );
  const long = "/tmp/" + "x".repeat(MAX_CONTROL_DIR_BYTES);
  assert.throws(
    () => controlDir({ SESSH_CONTROL_DIR: long }),
    /bytes long; ssh socket paths need at most 45, so pick a shorter directory/,
  );
});

Deno.test("controlDir() uses $XDG_RUNTIME_DIR/sessh when it is a directory", async () => {
  await using dir = await tempDir();
  assert.equal(controlDir({ XDG_RUNTIME_DIR: dir.path }), `${dir.path}/sessh`);
});

Deno.test("controlDir() skips an XDG_RUNTIME_DIR that is missing", async () => {
  await using dir = await tempDir();
  const expected = isDirectory(`/run/user/${uid}`)
    ? `/run/user/${uid}/sessh`
    : `${dir.path}/sessh-${uid}`;
  assert.equal(
    controlDir({ XDG_RUNTIME_DIR: `${dir.path}/missing`, TMPDIR: dir.path }),
    expected,
  );
});

Deno.test("controlDir() passes over a choice too long for sockets", async () => {
  await using dir = await tempDir();
  const deep = `${dir.path}/${"d".repeat(60)}`;
  await Deno.mkdir(deep);
  const expected = isDirectory(`/run/user/${uid}`)
    ? `/run/user/${uid}/sessh`
    : `/tmp/sessh-${uid}`;
  assert.equal(controlDir({ XDG_RUNTIME_DIR: deep }), expected);
});

/** macOS's per-user temporary directory, as launchd sets TMPDIR. */
const MAC_TMPDIR = "/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T/";

Deno.test("chooseControlDir() follows the documented rule on each system", async (t) => {
  const longRuntime = `/r/${"x".repeat(45)}`;
  const dirs = new Set(["/run/user/1000", "/var/run/xdg/alice", longRuntime]);
  const isDirectory = (path: string) => dirs.has(path);
  const table: [string, Platform, string][] = [
    [
      "linux: XDG_RUNTIME_DIR",
      { os: "linux", uid: 1000, env: { XDG_RUNTIME_DIR: "/run/user/1000/" } },
      "/run/user/1000/sessh",
    ],
    [
      "linux: /run/user/UID without XDG_RUNTIME_DIR",
      { os: "linux", uid: 1000, env: { TMPDIR: "/scratch" } },
      "/run/user/1000/sessh",
    ],
    [
      "linux: an XDG_RUNTIME_DIR that is no directory",
      {
        os: "linux",
        uid: 1001,
        env: { XDG_RUNTIME_DIR: "/gone", TMPDIR: "/s" },
      },
      "/s/sessh-1001",
    ],
    [
      "linux: too long a TMPDIR",
      { os: "linux", uid: 1001, env: { TMPDIR: `/${"t".repeat(40)}` } },
      "/tmp/sessh-1001",
    ],
    [
      "linux: a relative TMPDIR",
      { os: "linux", uid: 1001, env: { TMPDIR: "tmp" } },
      "/tmp/sessh-1001",
    ],
    [
      "darwin: the long per-user TMPDIR",
      { os: "darwin", uid: 501, env: { TMPDIR: MAC_TMPDIR } },
      "/tmp/sessh-501",
    ],
    [
      "darwin: a short TMPDIR",
      { os: "darwin", uid: 501, env: { TMPDIR: "/private/tmp/" } },
      "/private/tmp/sessh-501",
    ],
    [
      "darwin: no /run/user even when it exists",
      { os: "darwin", uid: 1000, env: {} },
      "/tmp/sessh-1000",
    ],
    [
      "freebsd: XDG_RUNTIME_DIR",
      {
        os: "freebsd",
        uid: 1002,
        env: { XDG_RUNTIME_DIR: "/var/run/xdg/alice", TMPDIR: "/s" },
      },
      "/var/run/xdg/alice/sessh",
    ],
    [
      "freebsd: too long an XDG_RUNTIME_DIR falls to TMPDIR",
      {
        os: "freebsd",
        uid: 1002,
        env: { XDG_RUNTIME_DIR: longRuntime, TMPDIR: "/s" },
      },
      "/s/sessh-1002",
    ],
    [
      "windows: LOCALAPPDATA",
      {
        os: "windows",
        uid: null,
        env: { LOCALAPPDATA: "C:\\Users\\me\\AppData\\Local\\", TEMP: "C:\\T" },
      },
      "C:\\Users\\me\\AppData\\Local\\sessh",
    ],
    [
      "windows: TEMP",
      { os: "windows", uid: null, env: { TEMP: "D:/Temp" } },
      "D:/Temp\\sessh",
    ],
    [
      "windows: a long SESSH_CONTROL_DIR is fine without Unix sockets",
      {
        os: "windows",
        uid: null,
        env: { SESSH_CONTROL_DIR: `C:\\${"x".repeat(80)}\\` },
      },
      `C:\\${"x".repeat(80)}`,
    ],
  ];
  for (const [name, platform, expected] of table) {
    await t.step(name, () => {
      const dir = chooseControlDir(platform, { isDirectory });
      assert.equal(dir, expected);
      if (platform.os !== "windows") {
        assert.ok(
          new TextEncoder().encode(dir).length <= MAX_CONTROL_DIR_BYTES,
        );
      }
    });
  }
});

Deno.test("chooseControlDir() keeps socket paths within 104 bytes on every system", () => {
  assert.equal(MAX_SOCKET_PATH_BYTES, 103);
  // The longest control directory, ssh's 40-character %C and its 17-character temporary suffix.
  const longest = `/${"d".repeat(MAX_CONTROL_DIR_BYTES - 1)}`;
  const platform: Platform = {
    os: "darwin",
    uid: 501,
    env: { SESSH_CONTROL_DIR: longest },
  };
  assert.equal(chooseControlDir(platform), longest);
  assert.equal(`${longest}/${"c".repeat(40)}.${"r".repeat(16)}`.length, 103);
  assert.throws(
    () =>
      chooseControlDir({
        ...platform,
        env: { SESSH_CONTROL_DIR: `${longest}x` },
      }),
    /bytes long; ssh socket paths need at most 45, so pick a shorter directory$/,
  );
});

Deno.test("chooseControlDir() refuses what it cannot use on Windows", () => {
  assert.throws(
    () =>
      chooseControlDir({
        os: "windows",
        uid: null,
        env: { SESSH_CONTROL_DIR: "/tmp/x" },
      }),
    (error) => {
      assert.ok(error instanceof UsageError);
      assert.match(
        error.message,
        /is not an absolute path; set it to a private directory such as C:\\sessh$/,
      );
      return true;
    },
  );
  assert.throws(
    () => chooseControlDir({ os: "windows", uid: null, env: {} }),
    /^UsageError: None of LOCALAPPDATA, TEMP and TMP names a directory; set SESSH_CONTROL_DIR/,
  );
});

Deno.test("ensureControlDir() creates the directory and its parents with mode 0700", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/a/b/ctl`;
  await ensureControlDir(path);
  const info = await Deno.lstat(path);
  assert.ok(info.isDirectory);
  assert.equal(info.mode! & 0o7777, 0o700);
  assert.equal(info.uid, Deno.uid());
});

Deno.test("ensureControlDir() fixes the mode of a directory it creates under a strict umask", async () => {
  await using dir = await tempDir();
  const old = Deno.umask(0o277);
  try {
    await ensureControlDir(`${dir.path}/ctl`);
  } finally {
    Deno.umask(old);
  }
  assert.equal((await Deno.lstat(`${dir.path}/ctl`)).mode! & 0o7777, 0o700);
});

Deno.test("ensureControlDir() accepts an existing private directory", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/ctl`, { mode: 0o700 });
  await Deno.chmod(`${dir.path}/ctl`, 0o700);
  await ensureControlDir(`${dir.path}/ctl`);
});

Deno.test("ensureControlDir() refuses an existing directory with a loose mode", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/ctl`);
  await Deno.chmod(`${dir.path}/ctl`, 0o755);
  await assertUnsafe(`${dir.path}/ctl`, /has mode 0755; run chmod 700 on it/);
});

Deno.test("ensureControlDir() refuses a symlink to a directory", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/real`, { mode: 0o700 });
  await Deno.symlink(`${dir.path}/real`, `${dir.path}/ctl`);
  await assertUnsafe(`${dir.path}/ctl`, /is a symlink/);
});

Deno.test("ensureControlDir() refuses a file", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/ctl`, "");
  await assertUnsafe(`${dir.path}/ctl`, /is not a directory/);
});

Deno.test({
  name: "ensureControlDir() refuses a directory owned by someone else",
  ignore: Deno.uid() !== 0,
  async fn() {
    await using dir = await tempDir();
    await Deno.mkdir(`${dir.path}/ctl`, { mode: 0o700 });
    await Deno.chown(`${dir.path}/ctl`, 1, 1);
    await assertUnsafe(
      `${dir.path}/ctl`,
      /is owned by uid 1, not by us \(uid 0\)/,
    );
  },
});
