import assert from "node:assert/strict";
import { runCommand } from "../lib/process.ts";
import { isRunning, listPids, readEnviron } from "../lib/ssh/procfs.ts";
import { startSshd } from "./_sshd.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function portAccepts(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("startSshd() serves ssh logins with the generated client config", async () => {
  await using sshd = await startSshd();
  const result = await runCommand([
    "ssh",
    ...sshd.sshArgs,
    sshd.dest,
    "--",
    "echo",
    "hello",
  ], { timeoutMs: 10_000 });
  assert.equal(text(result.stdout), "hello\n", text(result.stderr));
  assert.equal(result.code, 0);
  assert.equal(
    text(result.stderr),
    "",
    "known_hosts was pre-filled, so nothing is added",
  );
});

Deno.test("startSshd() isolates the remote runtime and cache directories", async () => {
  await using sshd = await startSshd();
  const result = await runCommand(
    [
      "ssh",
      ...sshd.sshArgs,
      sshd.dest,
      "--",
      "printenv XDG_RUNTIME_DIR XDG_CACHE_HOME; id -un",
    ],
    { timeoutMs: 10_000 },
  );
  assert.equal(
    text(result.stdout),
    `${sshd.remoteRuntimeDir}\n${sshd.remoteCacheDir}\n${sshd.user}\n`,
  );
  const info = await Deno.lstat(sshd.remoteRuntimeDir);
  assert.ok(info.isDirectory);
  assert.equal(info.mode! & 0o777, 0o700);
});

Deno.test("startSshd() describes itself", async () => {
  await using sshd = await startSshd({ extraConfig: ["MaxAuthTries 3"] });
  assert.equal(sshd.dest, "sessh-test");
  assert.deepEqual(sshd.sshArgs, ["-F", sshd.configFile]);
  assert.deepEqual(sshd.env, {
    SESSH_CONTROL_DIR: sshd.controlDir,
    SESSH_CONNECT_TIMEOUT: "5",
    DENO_NO_UPDATE_CHECK: "1",
  });
  assert.equal(sshd.controlDir, `${sshd.dir}/ctl`);
  assert.match(sshd.hostPublicKey, /^ssh-ed25519 \S+ sessh-test-host$/);
  assert.match(
    await Deno.readTextFile(sshd.knownHosts),
    new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 `),
  );
  assert.match(
    await Deno.readTextFile(`${sshd.dir}/sshd_config`),
    /^MaxAuthTries 3$/m,
  );
  assert.ok(isRunning(sshd.pid));
  assert.ok((await Deno.stat(sshd.identity)).isFile);
});

Deno.test("startSshd() closes the port and leaves no processes behind once disposed", async () => {
  let port: number;
  let dir: string;
  let pid: number;
  let runtime: string;
  {
    await using sshd = await startSshd();
    ({ port, dir, pid, remoteRuntimeDir: runtime } = sshd);
    await Deno.mkdir(sshd.controlDir, { mode: 0o700 });
    // A master and a detached remote process, as sessh would leave them.
    const master = await runCommand(
      [
        "ssh",
        ...sshd.sshArgs,
        "-o",
        `ControlPath=${sshd.controlDir}/%C`,
        "-o",
        "ControlMaster=yes",
        "-o",
        "ControlPersist=60",
        "-f",
        "-N",
        sshd.dest,
      ],
      { timeoutMs: 10_000 },
    );
    assert.equal(master.code, 0, text(master.stderr));
    const detached = await runCommand(
      [
        "ssh",
        ...sshd.sshArgs,
        sshd.dest,
        "--",
        "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo started",
      ],
      { timeoutMs: 10_000 },
    );
    assert.equal(text(detached.stdout), "started\n");
    assert.ok(await portAccepts(port));
  }
  assert.equal(await portAccepts(port), false);
  assert.equal(isRunning(pid), false);
  const leftovers = listPids().filter((candidate) =>
    readEnviron(candidate)?.XDG_RUNTIME_DIR === runtime
  );
  assert.deepEqual(leftovers.filter(isRunning), []);
  await assert.rejects(() => Deno.stat(dir), Deno.errors.NotFound);
});
