import assert from "node:assert/strict";
import { keygen, startSshd, type TestSshd } from "../../tests/_sshd.ts";
import { ConnectError } from "../errors.ts";
import { runCommand } from "../process.ts";
import { type Destination, parseDestination } from "./destination.ts";
import { ensureMaster, masterState, stopMaster } from "./master.ts";
import { masterFiles } from "./master_pid.ts";
import { clientArgv, NO_MASTER_MESSAGE } from "./options.ts";
import { settingsFromEnv, type SshSettings } from "./settings.ts";
import { isRunning, waitForExit } from "./procfs.ts";
import { classifySshFailure } from "./ssh_errors.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function setup(
  sshd: TestSshd,
  env: Record<string, string> = {},
): { dest: Destination; settings: SshSettings } {
  return {
    dest: parseDestination(sshd.dest),
    settings: settingsFromEnv({ ...sshd.env, ...env }, {
      configFile: sshd.configFile,
    }),
  };
}

/** Settings that reach the fixture by address, with a config of our own making. */
async function direct(
  sshd: TestSshd,
  config: string[],
  flags: { identity?: string; port?: number } = {},
  env: Record<string, string> = {},
): Promise<{ dest: Destination; settings: SshSettings }> {
  const configFile = `${sshd.dir}/direct_config`;
  await Deno.writeTextFile(
    configFile,
    ["Host *", "  GlobalKnownHostsFile /dev/null", ...config, ""].join("\n"),
  );
  return {
    dest: parseDestination(
      `${sshd.user}@127.0.0.1`,
      String(flags.port ?? sshd.port),
    ),
    settings: settingsFromEnv({ ...sshd.env, ...env }, {
      configFile,
      identity: flags.identity ?? sshd.identity,
    }),
  };
}

async function otherKey(sshd: TestSshd): Promise<string> {
  const path = `${sshd.dir}/other_ed25519`;
  await keygen(path);
  return path;
}

async function assertConnectError(
  promise: Promise<unknown>,
  code: ConnectError["code"],
  pattern: RegExp,
): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof ConnectError, String(error));
    assert.equal(error.code, code, error.message);
    assert.equal(error.exitCode, 255);
    assert.match(error.message, pattern);
    return true;
  });
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("ensureMaster() starts a master once and then reuses it", async () => {
  await using sshd = await startSshd();
  const { dest, settings } = setup(sshd);
  const first = await ensureMaster(dest, settings);
  assert.equal(first.started, true);
  assert.ok(first.controlPath.startsWith(`${sshd.controlDir}/`));
  assert.ok(isRunning(first.pid));
  assert.equal(
    (await Deno.readTextFile(masterFiles(first.controlPath).pidFile)).trim(),
    String(first.pid),
  );
  assert.equal((await Deno.lstat(sshd.controlDir)).mode! & 0o777, 0o700);

  const second = await ensureMaster(dest, settings);
  assert.deepEqual(second, { ...first, started: false });
  assert.deepEqual(await masterState(dest, settings), {
    state: "alive",
    pid: first.pid,
  });
});

// A first call's bridge starts as soon as the master listens, beside the
// `ssh -O check` that learns the master's pid.
Deno.test("ensureMaster() says when a master it starts listens, before it returns", async () => {
  await using sshd = await startSshd();
  const { dest, settings } = setup(sshd);
  const heard: { path: string; socket: boolean; returned: boolean }[] = [];
  let returned = false;
  const onListening = (path: string) => {
    const socket = Deno.lstatSync(path).isSocket === true;
    heard.push({ path, socket, returned });
  };
  const first = await ensureMaster(dest, settings, { onListening });
  returned = true;
  assert.deepEqual(heard, [
    { path: first.controlPath, socket: true, returned: false },
  ]);
  await ensureMaster(dest, settings, { onListening });
  assert.equal(heard.length, 1, "a running master is not announced again");
});

Deno.test("clientArgv() runs a command through the master", async () => {
  await using sshd = await startSshd();
  const { dest, settings } = setup(sshd);
  const master = await ensureMaster(dest, settings);
  const guarded = await runCommand(
    clientArgv(dest, settings, "echo ok", { controlPath: master.controlPath }),
    {
      timeoutMs: 10_000,
    },
  );
  assert.equal(text(guarded.stdout), "ok\n", text(guarded.stderr));
  assert.equal(guarded.code, 0);
  const plain = await runCommand(clientArgv(dest, settings, "echo ok"), {
    timeoutMs: 10_000,
  });
  assert.equal(text(plain.stdout), "ok\n", text(plain.stderr));
});

Deno.test("clientArgv() with the socket path fails instead of connecting when the master is gone", async () => {
  await using sshd = await startSshd();
  const { dest, settings } = setup(sshd);
  const master = await ensureMaster(dest, settings);
  assert.equal(await stopMaster(dest, settings), true);
  const result = await runCommand(
    clientArgv(dest, settings, "echo ok", { controlPath: master.controlPath }),
    {
      timeoutMs: 10_000,
    },
  );
  assert.equal(result.code, 255);
  assert.equal(text(result.stdout), "");
  assert.match(text(result.stderr), new RegExp(NO_MASTER_MESSAGE));
  assert.equal(
    classifySshFailure(dest, result.code, text(result.stderr)).code,
    "connect_failed",
  );
});

Deno.test("ensureMaster() replaces a master killed with SIGKILL", async () => {
  await using sshd = await startSshd();
  const { dest, settings } = setup(sshd);
  const old = await ensureMaster(dest, settings);
  Deno.kill(old.pid, "SIGKILL");
  assert.ok(await waitForExit([old.pid], 2000));
  const state = await masterState(dest, settings);
  assert.equal(state.state, "dead");
  const fresh = await ensureMaster(dest, settings);
  assert.equal(fresh.started, true);
  assert.notEqual(fresh.pid, old.pid);
  assert.equal(fresh.controlPath, old.controlPath);
  const result = await runCommand(
    clientArgv(dest, settings, "echo ok", fresh),
    { timeoutMs: 10_000 },
  );
  assert.equal(text(result.stdout), "ok\n");
});

Deno.test("ensureMaster() retires a frozen master and starts a new one", async () => {
  await using sshd = await startSshd();
  const { dest, settings } = setup(sshd);
  const old = await ensureMaster(dest, settings);
  Deno.kill(old.pid, "SIGSTOP");
  try {
    const started = performance.now();
    assert.deepEqual(await masterState(dest, settings, { timeoutMs: 1000 }), {
      state: "frozen",
    });
    assert.ok(performance.now() - started < 2500, "the check gave up in time");

    const fresh = await ensureMaster(dest, settings, { checkTimeoutMs: 1000 });
    assert.equal(fresh.started, true);
    assert.notEqual(fresh.pid, old.pid);
    assert.equal(isRunning(old.pid), false, "the frozen master is gone");
    assert.deepEqual(await masterState(dest, settings), {
      state: "alive",
      pid: fresh.pid,
    });
  } finally {
    if (isRunning(old.pid)) Deno.kill(old.pid, "SIGKILL");
  }
});

Deno.test("ensureMaster() finds a frozen master among all processes when its pid file is gone", async (t) => {
  await using sshd = await startSshd();
  for (const noProcfs of ["0", "1"]) {
    await t.step(`SESSH_NO_PROCFS=${noProcfs}`, async () => {
      const { dest, settings } = setup(sshd, { SESSH_NO_PROCFS: noProcfs });
      const old = await ensureMaster(dest, settings);
      await Deno.remove(masterFiles(old.controlPath).pidFile);
      Deno.kill(old.pid, "SIGSTOP");
      try {
        const fresh = await ensureMaster(dest, settings, {
          checkTimeoutMs: 1000,
        });
        assert.notEqual(fresh.pid, old.pid);
        assert.equal(isRunning(old.pid), false);
      } finally {
        if (isRunning(old.pid)) Deno.kill(old.pid, "SIGKILL");
      }
    });
  }
});

Deno.test("ensureMaster() retires a master that lost its socket and pid file, and keeps the new one", async (t) => {
  await using sshd = await startSshd();
  for (const noProcfs of ["0", "1"]) {
    await t.step(`SESSH_NO_PROCFS=${noProcfs}`, async () => {
      const { dest, settings } = setup(sshd, { SESSH_NO_PROCFS: noProcfs });
      const old = await ensureMaster(dest, settings);
      await Deno.remove(old.controlPath);
      await Deno.remove(masterFiles(old.controlPath).pidFile);
      try {
        const fresh = await ensureMaster(dest, settings);
        assert.notEqual(fresh.pid, old.pid);
        assert.equal(
          await waitForExit([old.pid], 2000),
          true,
          "the old one ends",
        );
        assert.equal(isRunning(fresh.pid), true, "the new one runs");
        assert.equal((await masterState(dest, settings)).state, "alive");
        await stopMaster(dest, settings);
      } finally {
        if (isRunning(old.pid)) Deno.kill(old.pid, "SIGKILL");
      }
    });
  }
});

Deno.test("ensureMaster() called concurrently starts exactly one master", async () => {
  await using sshd = await startSshd();
  const { dest, settings } = setup(sshd);
  const results = await Promise.all(
    [1, 2, 3].map(() => ensureMaster(dest, settings)),
  );
  assert.equal(results.filter((result) => result.started).length, 1);
  assert.equal(new Set(results.map((result) => result.pid)).size, 1);
});

Deno.test("ensureMaster() called by two processes at once starts exactly one master", async () => {
  await using sshd = await startSshd();
  const code = `
    import { parseDestination } from ${
    JSON.stringify(new URL("./destination.ts", import.meta.url).href)
  };
    import { ensureMaster } from ${
    JSON.stringify(new URL("./master.ts", import.meta.url).href)
  };
    import { settingsFromEnv } from ${
    JSON.stringify(new URL("./settings.ts", import.meta.url).href)
  };
    const settings = settingsFromEnv(Deno.env.toObject(), { configFile: ${
    JSON.stringify(sshd.configFile)
  } });
    console.log(JSON.stringify(await ensureMaster(parseDestination(${
    JSON.stringify(sshd.dest)
  }), settings)));
  `;
  const run = () =>
    runCommand([Deno.execPath(), "eval", code], {
      env: sshd.env,
      timeoutMs: 60_000,
    });
  const results = await Promise.all([run(), run()]);
  const masters = results.map((result) => {
    assert.equal(result.code, 0, text(result.stderr));
    return JSON.parse(text(result.stdout));
  });
  assert.equal(masters.filter((master) => master.started).length, 1);
  assert.equal(masters[0].pid, masters[1].pid);
});

Deno.test("stopMaster() stops the master and reports whether one ran", async () => {
  await using sshd = await startSshd();
  const { dest, settings } = setup(sshd);
  const master = await ensureMaster(dest, settings);
  assert.equal(await stopMaster(dest, settings), true);
  assert.equal(isRunning(master.pid), false);
  assert.equal((await masterState(dest, settings)).state, "dead");
  assert.equal(await stopMaster(dest, settings), false);
});

Deno.test("stopMaster() kills a frozen master", async () => {
  await using sshd = await startSshd();
  const { dest, settings } = setup(sshd);
  const master = await ensureMaster(dest, settings);
  Deno.kill(master.pid, "SIGSTOP");
  try {
    assert.equal(await stopMaster(dest, settings, { timeoutMs: 1000 }), true);
    assert.equal(isRunning(master.pid), false);
  } finally {
    if (isRunning(master.pid)) Deno.kill(master.pid, "SIGKILL");
  }
});

Deno.test("ensureMaster() reports a wrong identity as auth_failed without hanging", async () => {
  await using sshd = await startSshd();
  const { dest, settings } = await direct(sshd, [
    `  UserKnownHostsFile ${sshd.knownHosts}`,
  ], {
    identity: await otherKey(sshd),
  });
  const started = performance.now();
  await assertConnectError(
    ensureMaster(dest, settings),
    "auth_failed",
    /^Cannot reach ".*@127\.0\.0\.1:\d+": ssh exited 255 \(Permission denied \(publickey\)\); check SESSH_IDENTITY or the ssh identity option$/,
  );
  assert.ok(performance.now() - started < 15_000);
});

Deno.test("ensureMaster() refuses an unknown host key under SESSH_STRICT_HOST=yes", async () => {
  await using sshd = await startSshd();
  await Deno.writeTextFile(`${sshd.dir}/empty_known_hosts`, "");
  const { dest, settings } = await direct(
    sshd,
    [`  UserKnownHostsFile ${sshd.dir}/empty_known_hosts`],
    {},
    { SESSH_STRICT_HOST: "yes" },
  );
  await assertConnectError(
    ensureMaster(dest, settings),
    "host_key",
    /No ED25519 host key is known .*UNKNOWN/,
  );
  assert.equal(await Deno.readTextFile(`${sshd.dir}/empty_known_hosts`), "");
});

Deno.test("ensureMaster() refuses a changed host key and says so", async () => {
  await using sshd = await startSshd();
  const other = (await Deno.readTextFile(`${await otherKey(sshd)}.pub`)).split(
    " ",
  ).slice(0, 2).join(" ");
  const knownHosts = `${sshd.dir}/changed_known_hosts`;
  await Deno.writeTextFile(knownHosts, `[127.0.0.1]:${sshd.port} ${other}\n`);
  const { dest, settings } = await direct(sshd, [
    `  UserKnownHostsFile ${knownHosts}`,
  ]);
  await assertConnectError(
    ensureMaster(dest, settings),
    "host_key",
    new RegExp(
      `has changed\\); the host key CHANGED since it was recorded in ${knownHosts}:1`,
    ),
  );
});

Deno.test("ensureMaster() reports a closed port as connect_failed", async () => {
  await using sshd = await startSshd();
  const { dest, settings } = await direct(sshd, [
    `  UserKnownHostsFile ${sshd.knownHosts}`,
  ], { port: freePort() });
  await assertConnectError(
    ensureMaster(dest, settings),
    "connect_failed",
    /Connection refused/,
  );
});

Deno.test("ensureMaster() works with the default algorithms against OpenSSH", async () => {
  await using sshd = await startSshd();
  const { dest, settings } = setup(sshd);
  const master = await ensureMaster(dest, settings);
  const log = await Deno.readTextFile(sshd.logFile);
  assert.match(log, /Accepted publickey/);
  const result = await runCommand(
    clientArgv(dest, settings, "echo $SSH_CONNECTION", master),
    { timeoutMs: 10_000 },
  );
  assert.match(text(result.stdout), /^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+\n$/);
});
