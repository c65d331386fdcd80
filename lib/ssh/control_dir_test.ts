import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import {
  controlDir,
  ensureControlDir,
  MAX_CONTROL_DIR_BYTES,
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
    /bytes long; ssh socket paths need at most 49, so pick a shorter directory/,
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

Deno.test("controlDir() falls back to /tmp/sessh-<uid> when the choice is too long for sockets", async () => {
  await using dir = await tempDir();
  const deep = `${dir.path}/${"d".repeat(60)}`;
  await Deno.mkdir(deep);
  assert.equal(controlDir({ XDG_RUNTIME_DIR: deep }), `/tmp/sessh-${uid}`);
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
