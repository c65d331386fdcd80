/**
 * The remote side refuses directories that others could tamper with, before
 * anything runs from them; each refusal has its own exit code, which sessh
 * turns into what to fix.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";

Deno.test("a helper cache others can write to is refused, and used once fixed", async () => {
  await using sshd = await startSshd();
  const cache = `${sshd.remoteCacheDir}/sessh`;
  await Deno.mkdir(cache, { recursive: true, mode: 0o755 });
  await Deno.chmod(cache, 0o775);
  const refused = await sesshJson(sshd, ["open", "c", sshd.dest]);
  assert.equal(refused.code, 1);
  const error = refused.json.error as { code: string; message: string };
  assert.equal(error.code, "helper_failed");
  assert.match(error.message, /exit 3\)/);
  assert.match(
    error.message,
    /~\/\.cache\/sessh on the host must be a directory of yours with mode 0700/,
  );
  assert.deepEqual(
    [...Deno.readDirSync(cache)],
    [],
    "no helper was written into it",
  );
  await Deno.chmod(cache, 0o700);
  const opened = await sessh(sshd, ["open", "c", sshd.dest]);
  assert.equal(opened.code, 0, opened.stderr);
});

Deno.test("a runtime directory others can write to is refused by the helper with its own code", async () => {
  await using sshd = await startSshd();
  const runtime = `${sshd.remoteRuntimeDir}/sessh`;
  await Deno.mkdir(runtime, { mode: 0o755 });
  await Deno.chmod(runtime, 0o777);
  const refused = await sesshJson(sshd, ["open", "r", sshd.dest]);
  assert.equal(refused.code, 1);
  const error = refused.json.error as { code: string; message: string };
  assert.equal(error.code, "helper_failed");
  assert.match(error.message, /exit 6\)/);
  assert.match(
    error.message,
    /refusing .*\/sessh: it must be a directory owned by uid/,
  );
  assert.match(
    error.message,
    /runtime or state directory on the host is not a private directory/,
  );
});

Deno.test("an XDG_RUNTIME_DIR others can write to is passed over, and the daemon's log says why", async () => {
  await using sshd = await startSshd();
  await Deno.chmod(sshd.remoteRuntimeDir, 0o777);
  const opened = await sessh(sshd, ["open", "x", sshd.dest]);
  assert.equal(opened.code, 0, opened.stderr);
  assert.deepEqual(
    [...Deno.readDirSync(sshd.remoteRuntimeDir)],
    [],
    "nothing was made in it",
  );
  const host = Deno.hostname().split(".")[0].replace(/[^A-Za-z0-9_-]/g, "_");
  const log = await Deno.readTextFile(
    `${sshd.home}/.local/state/sessh/${host}/daemon.log`,
  );
  assert.match(
    log,
    /XDG_RUNTIME_DIR=\S+ is not a private directory of uid \d+: .*mode 777; the socket is in /,
  );
});
