/**
 * The remote helper without procfs, against a real sshd: on a host whose
 * /proc is hidden (a login whose command runs in a mount namespace with an
 * empty /proc over it, as on macOS and the BSDs, which have none), and with
 * `SESSH_NO_PROCFS=1` on a host that has one. Either way the daemon is found
 * by its locked pid file, `status` reports the working directory from the
 * prompt's markers and says what it cannot know, and C-c and close still
 * reach the session's processes.
 *
 * This file reads the test host's own /proc (the remote processes are local
 * here) only to check what happened remotely.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { SesshClient, type Session } from "../mod.ts";
import {
  isRunning,
  listPids,
  parentPid,
  readCmdline,
  readEnviron,
  waitForExit,
} from "../lib/ssh/procfs.ts";
import { daemonsOf } from "./_probes.ts";

/**
 * An sshd whose sessions run their command with /proc hidden: ForceCommand
 * runs it in a private mount namespace with an empty tmpfs on /proc, so the
 * daemon, its sessions and everything they start see no procfs.
 */
async function sshdWithoutProcfs(): Promise<TestSshd> {
  const dir = await Deno.makeTempDir({ prefix: "sessh-noproc-" });
  const wrapper = `${dir}/hide-proc`;
  await Deno.writeTextFile(
    wrapper,
    [
      "#!/bin/sh",
      "exec unshare --mount --propagation private /bin/sh -c " +
      `'mount -t tmpfs none /proc && exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"'`,
      "",
    ].join("\n"),
  );
  await Deno.chmod(wrapper, 0o755);
  try {
    const sshd = await startSshd({ extraConfig: [`ForceCommand ${wrapper}`] });
    const dispose = sshd[Symbol.asyncDispose].bind(sshd);
    sshd[Symbol.asyncDispose] = async () => {
      await dispose();
      await Deno.remove(dir, { recursive: true });
    };
    return sshd;
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

function connectTo(
  sshd: TestSshd,
  env: Record<string, string>,
): Promise<SesshClient> {
  return SesshClient.connect({
    destination: sshd.dest,
    env: { ...sshd.env, ...env },
    ssh: { configFile: sshd.configFile },
  });
}

/** Polls `status` until `running` is as wanted; returns that status. */
async function untilRunning(session: Session, running: boolean) {
  const deadline = Date.now() + 10_000;
  while (true) {
    const status = await session.status();
    if (status.running === running) return status;
    assert.ok(Date.now() < deadline, `running stayed ${status.running}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Waits until the shell's child runs `sleep`: a C-c typed before the child
 * took the terminal's foreground would reach the shell instead.
 */
async function untilSleeping(shellPid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (
    !listPids().some((pid) =>
      parentPid(pid) === shellPid && readCmdline(pid)?.[0] === "sleep"
    )
  ) {
    assert.ok(Date.now() < deadline, "the sleep did not start");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The checks both ways of going without procfs must pass. */
async function portableChecks(
  t: Deno.TestContext,
  sshd: TestSshd,
  env: Record<string, string>,
): Promise<void> {
  await using client = await connectTo(sshd, env);
  const session = client.session("np");

  await t.step("open and run", async () => {
    const opened = await session.open({ shell: "bash" });
    assert.equal(opened.created, true);
    const result = await session.run("echo hello-$((6 * 7))");
    assert.equal(result.output, "hello-42\n");
    assert.equal(result.exitCode, 0);
  });

  await t.step(
    "status: the cwd the prompt reported, right after cd",
    async () => {
      await session.run("cd /tmp");
      const status = await session.status();
      assert.equal(status.cwd, "/tmp");
      assert.equal(status.running, false);
      assert.equal(status.command, null);
      assert.deepEqual(status.unknown, []);
      await session.run("mkdir -p 'a dir' && cd 'a dir'");
      assert.equal((await session.status()).cwd, "/tmp/a dir");
      await session.run("cd /tmp && rmdir 'a dir'");
    },
  );

  await t.step("status: the command run typed is reported", async () => {
    await session.run("sleep 30", { wait: false });
    const status = await untilRunning(session, true);
    assert.equal(status.command, "sleep 30");
    assert.deepEqual(status.unknown, []);
  });

  await t.step("C-c interrupts the sleep", async () => {
    await untilSleeping((await session.status()).pid);
    await session.keys(["C-c"]);
    const status = await untilRunning(session, false);
    assert.equal(status.lastExit, 130);
  });

  await t.step(
    "status: a command typed by hand is running, command unknown",
    async () => {
      await session.send("sleep 30\n");
      const status = await untilRunning(session, true);
      assert.equal(status.command, null);
      assert.deepEqual(status.unknown, ["command"]);
      await untilSleeping(status.pid);
      await session.keys(["C-c"]);
      await untilRunning(session, false);
    },
  );

  await t.step(
    "a second connection finds the same daemon by its pid file",
    async () => {
      const [daemon] = daemonsOf(sshd);
      assert.deepEqual(daemonsOf(sshd), [daemon]);
      const rt = `${sshd.remoteRuntimeDir}/sessh`;
      const pidFile = await Deno.readTextFile(`${rt}/daemon-1.pid`);
      assert.equal(pidFile, `${daemon}\n${rt}\n`);
      await session.run("export KEPT=yes");
      const shellPid = (await session.status()).pid;
      // Without its socket, only the pid file leads to the daemon: a bridge
      // that found none would start a second daemon, without this session.
      await Deno.remove(`${rt}/daemon-1.sock`);
      await using second = await connectTo(sshd, env);
      const again = second.session("np");
      const result = await again.run('echo "[$KEPT]"');
      assert.equal(result.output, "[yes]\n");
      assert.equal((await again.status()).pid, shellPid);
      assert.deepEqual(daemonsOf(sshd), [daemon]);
    },
  );

  for (const shell of ["bash", "dash"]) {
    // bash passes SIGHUP on to its jobs; dash does not, so there only the
    // job its prompt reported ($!) tells the daemon where to send it.
    await t.step(`close kills a background job of ${shell}`, async () => {
      const closing = shell === "bash" ? session : client.session("np-dash");
      if (shell === "dash") await closing.open({ shell });
      const started = await closing.run("sleep 300 & echo $!");
      const job = Number(started.output.trim());
      assert.ok(job > 0 && isRunning(job), started.output);
      // Until the shell's child has become the sleep, a SIGHUP may reach it
      // in the shell's own handler, which defers it and loses it at exec.
      const deadline = Date.now() + 10_000;
      while (readCmdline(job)?.[0] !== "sleep") {
        assert.ok(Date.now() < deadline, "the job did not start its sleep");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await closing.close();
      assert.ok(await waitForExit([job], 5000), `the job ${job} still runs`);
    });
  }
}

Deno.test("on a host without procfs, the helper finds its daemon, reports status and signals sessions", async (t) => {
  await using sshd = await sshdWithoutProcfs();
  await t.step("the sessions see no /proc", async () => {
    await using client = await connectTo(sshd, {});
    const result = await client.session("probe").run(
      "test -e /proc/self && echo procfs || echo none",
    );
    assert.equal(result.output, "none\n");
    await client.session("probe").close();
  });
  await portableChecks(t, sshd, {});
});

Deno.test("SESSH_NO_PROCFS=1 makes the helper go without procfs on a host that has one", async (t) => {
  await using sshd = await startSshd();
  await portableChecks(t, sshd, { SESSH_NO_PROCFS: "1" });
  const [daemon] = daemonsOf(sshd);
  assert.equal(readEnviron(daemon)?.SESSH_NO_PROCFS, "1");
});
