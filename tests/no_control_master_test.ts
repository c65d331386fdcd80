/**
 * `SESSH_CONTROL_MASTER=no`: every bridge is a plain ssh connection, with
 * and without the local agent; attach, cp, deadlines and status work; and
 * no control socket is ever made or asked (`ssh -O`). Every ssh the command
 * line and its agent start goes through a logging shim on PATH.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";
import { attach, enter, PROMPT } from "./_attach.ts";
import {
  isRunning,
  listPids,
  parentPid,
  readCmdline,
} from "../lib/ssh/procfs.ts";
import { agentFiles, agentListen } from "../lib/transport/agent_protocol.ts";

type Json = Record<string, unknown>;

/** Fields of one logged ssh invocation are separated by this byte. */
const SEP = "\x1f";

/**
 * A directory holding an `ssh` that appends its argv to `log` and runs the
 * real one, for a PATH that starts with it.
 */
async function sshShim(dir: string): Promise<{ bin: string; log: string }> {
  const real = (await new Deno.Command("sh", {
    args: ["-c", "command -v ssh"],
    stdout: "piped",
  }).output()).stdout;
  const bin = `${dir}/shim`;
  const log = `${dir}/ssh-argv.log`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(
    `${bin}/ssh`,
    `#!/bin/sh\nprintf '%s${SEP}' "$@" >> '${log}'\necho >> '${log}'\n` +
      `exec '${new TextDecoder().decode(real).trim()}' "$@"\n`,
    { mode: 0o755 },
  );
  await Deno.writeTextFile(log, "");
  return { bin, log };
}

/** Every ssh invocation logged so far, each as its argv. */
async function invocations(log: string): Promise<string[][]> {
  return (await Deno.readTextFile(log)).split("\n").filter(Boolean).map(
    (line) => line.split(SEP).slice(0, -1),
  );
}

/** Pids of the plain ssh connections the fixture's agent holds. */
function agentBridges(sshd: TestSshd, agentPid: number): number[] {
  return listPids().filter((pid) =>
    parentPid(pid) === agentPid && isRunning(pid) &&
    (readCmdline(pid) ?? []).includes("ControlPath=none") &&
    (readCmdline(pid) ?? []).includes(sshd.configFile)
  );
}

async function timed<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

Deno.test("SESSH_CONTROL_MASTER=no works over plain ssh connections and never makes a control socket", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const { bin, log } = await sshShim(sshd.dir);
  const env = {
    SESSH_CONTROL_MASTER: "no",
    PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
  };
  const cold = { ...env, SESSH_AGENT: "0" };

  await t.step(
    "without the agent: open, run, status, logs, each call a connection of its own",
    async () => {
      const open = await sessh(sshd, ["open", "d1", dest, "--shell", "bash"], {
        env: cold,
      });
      assert.equal(open.code, 0, open.stderr);
      const before = (await invocations(log)).length;
      const run = await sesshJson(sshd, [
        "run",
        "d1",
        dest,
        "--",
        "export KEPT=yes; echo direct-$((6*7))",
      ], { env: cold });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json.output, "direct-42\n");
      assert.equal((await invocations(log)).length, before + 1);
      const status = await sesshJson(sshd, ["status", "d1", dest], {
        env: cold,
      });
      assert.equal(status.code, 0, status.stderr);
      assert.equal(status.json.master, null);
      const path = status.json.path as Json;
      assert.equal(path.transport, "direct");
      assert.equal(path.warm, false);
      const plain = await sessh(sshd, ["status", "d1", dest], { env: cold });
      assert.match(plain.stdout, /^master: none \(SESSH_CONTROL_MASTER=no\)$/m);
      assert.match(
        plain.stdout,
        /^transport: direct \(a plain ssh connection/m,
      );
      const logs = await sessh(sshd, ["logs", "d1", dest, "--since", "0"], {
        env: cold,
      });
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /^direct-42$/m);
    },
  );

  let agentPid = 0;
  await t.step(
    "with the agent: calls borrow its plain connection, warm, and keep the shell",
    async () => {
      for (let attempt = 0; attempt < 40 && !agentPid; attempt++) {
        const status = await sesshJson(sshd, ["status", "d1", dest], { env });
        assert.equal(status.code, 0, status.stderr);
        const path = status.json.path as Json;
        assert.equal(path.transport, "direct");
        if (path.warm) agentPid = path.agent_pid as number;
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(agentPid, "no call went through the local agent");
      const before = (await invocations(log)).length;
      const run = await sesshJson(sshd, [
        "run",
        "d1",
        dest,
        "--",
        "echo $KEPT-warm",
      ], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json.output, "yes-warm\n");
      // Lent, not made: no ssh was started for this call.
      assert.equal((await invocations(log)).length, before);
      assert.equal(agentBridges(sshd, agentPid).length, 1);
    },
  );

  await t.step(
    "a deadline holds when the agent's connection freezes, and the next call goes around it",
    async () => {
      const lent = agentBridges(sshd, agentPid);
      assert.ok(lent.length, "the agent holds no plain ssh connection");
      const started = `${sshd.dir}/freeze-now`;
      try {
        const call = timed(() =>
          sesshJson(sshd, [
            "run",
            "d1",
            dest,
            "--timeout",
            "4",
            "--",
            `touch ${started}; sleep 2; echo frozen`,
          ], { env })
        );
        // Freeze once the command surely runs: the call then waits on a
        // connection that carries nothing.
        const deadline = Date.now() + 15_000;
        while (!await Deno.stat(started).catch(() => null)) {
          assert.ok(Date.now() < deadline, "the command never started");
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        for (const pid of lent) Deno.kill(pid, "SIGSTOP");
        const { value, ms } = await call;
        assert.notEqual(value.code, 0, JSON.stringify(value.json));
        assert.ok(ms < 4000 + 15_000, `run --timeout 4 took ${ms} ms`);
        const next = await sesshJson(sshd, [
          "run",
          "d1",
          dest,
          "--",
          "echo after-freeze",
        ], { env });
        assert.equal(next.code, 0, next.stderr);
        assert.equal(next.json.output, "after-freeze\n");
      } finally {
        for (const pid of lent) {
          try {
            Deno.kill(pid, "SIGKILL");
          } catch { /* the agent killed it */ }
        }
      }
    },
  );

  await t.step(
    "a stopped idle connection is judged by its own ssh and not lent",
    async () => {
      const [idle] = agentBridges(sshd, agentPid);
      assert.ok(idle, "the agent holds no plain ssh connection");
      Deno.kill(idle, "SIGSTOP");
      try {
        const { value, ms } = await timed(() =>
          sesshJson(sshd, [
            "run",
            "d1",
            dest,
            "--timeout",
            "10",
            "--",
            "echo around-$((6*7))",
          ], { env })
        );
        assert.equal(value.code, 0, JSON.stringify(value.json));
        assert.equal(value.json.output, "around-42\n");
        assert.ok(ms < 10_000, `the call took ${ms} ms`);
        assert.ok(!agentBridges(sshd, agentPid).includes(idle));
      } finally {
        try {
          Deno.kill(idle, "SIGKILL");
        } catch { /* the agent killed it */ }
      }
    },
  );

  await t.step(
    "run --timeout gives up with 124, with and without the agent",
    async () => {
      for (const e of [env, cold]) {
        const { value, ms } = await timed(() =>
          sesshJson(sshd, [
            "run",
            "d1",
            dest,
            "--timeout",
            "2",
            "--",
            "sleep 30",
          ], {
            env: e,
          })
        );
        assert.equal(value.code, 124, JSON.stringify(value.json));
        assert.ok(ms < 2000 + 15_000, `run --timeout 2 took ${ms} ms`);
        const stop = await sessh(sshd, ["keys", "d1", dest, "--", "C-c"], {
          env: e,
        });
        assert.equal(stop.code, 0, stop.stderr);
      }
    },
  );

  await t.step(
    "cp goes through the daemon by default, sftp when asked",
    async () => {
      // Several parts of the daemon's file requests, and not a repeating pattern.
      const bytes = new Uint8Array(300_000);
      for (let at = 0; at < bytes.length; at += 65_536) {
        crypto.getRandomValues(bytes.subarray(at, at + 65_536));
      }
      const local = `${sshd.dir}/up.bin`;
      await Deno.writeFile(local, bytes);
      for (const e of [env, cold]) {
        const up = await sesshJson(sshd, ["cp", local, `${dest}:up.bin`], {
          env: e,
        });
        assert.equal(up.code, 0, up.stderr);
        assert.equal(up.json.via, "helper");
        assert.deepEqual(await Deno.readFile(`${sshd.home}/up.bin`), bytes);
        const back = `${sshd.dir}/down.bin`;
        await Deno.remove(back).catch(() => {});
        const down = await sesshJson(sshd, ["cp", `${dest}:up.bin`, back], {
          env: e,
        });
        assert.equal(down.code, 0, down.stderr);
        assert.equal(down.json.via, "helper");
        assert.deepEqual(await Deno.readFile(back), bytes);
      }
      // sftp asked for makes a plain connection of its own.
      const sftp = await sesshJson(sshd, [
        "cp",
        "--via",
        "sftp",
        `${dest}:up.bin`,
        `${sshd.dir}/sftp.bin`,
      ], { env: cold });
      assert.equal(sftp.code, 0, sftp.stderr);
      assert.equal(sftp.json.via, "sftp");
      assert.deepEqual(await Deno.readFile(`${sshd.dir}/sftp.bin`), bytes);
    },
  );

  await t.step(
    "forward is refused with a usage error that says why",
    async () => {
      const forward = await sesshJson(sshd, [
        "forward",
        dest,
        "-L",
        "127.0.0.1:45873:127.0.0.1:22",
      ], { env: cold });
      assert.equal(forward.code, 2);
      const error = forward.json.error as Json;
      assert.equal(error.code, "usage");
      assert.match(String(error.message), /SESSH_CONTROL_MASTER=no/);
      const marker = `${sshd.dir}/forwarded-run`;
      const run = await sesshJson(sshd, [
        "run",
        "d1",
        dest,
        "--forward",
        "L:127.0.0.1:45873:127.0.0.1:22",
        "--",
        `touch ${marker}`,
      ], { env: cold });
      assert.equal(run.code, 2, JSON.stringify(run.json));
      assert.equal((run.json.error as Json).code, "usage");
      assert.match(
        String((run.json.error as Json).message),
        /SESSH_CONTROL_MASTER=no/,
      );
      // Refused before the command was sent.
      assert.equal(await Deno.stat(marker).catch(() => null), null);
    },
  );

  await t.step("attach and watch use a connection of their own", async () => {
    const before = (await invocations(log)).length;
    await using pane = await attach(sshd, ["d1", dest], { env });
    await pane.waitFor(PROMPT);
    await enter(pane, "echo attached-$((40+2))");
    await pane.waitFor(/^attached-42$/m);
    await pane.keys("C-b", "d");
    assert.equal(await pane.exitStatus(), 0);
    assert.match(await pane.screen(), /^\[detached from d1\]$/m);
    assert.ok((await invocations(log)).length > before);
    await using watch = await attach(sshd, ["d1", dest], {
      env,
      verb: "watch",
    });
    await watch.waitFor(/attached-42/);
    const run = await sessh(sshd, [
      "run",
      "d1",
      dest,
      "--",
      "echo seen-by-watch",
    ], {
      env,
    });
    assert.equal(run.code, 0, run.stderr);
    await watch.waitFor(/^seen-by-watch$/m);
  });

  await t.step("close ends the session and stops no master", async () => {
    const close = await sesshJson(sshd, ["close", "d1", dest], { env: cold });
    assert.equal(close.code, 0, close.stderr);
    assert.equal(close.json.master_stopped, false);
    const list = await sesshJson(sshd, ["list", dest], { env: cold });
    assert.deepEqual(list.json.sessions, []);
  });

  await t.step("no control socket was made and no ssh -O was run", async () => {
    const calls = await invocations(log);
    assert.ok(calls.length > 5, `only ${calls.length} ssh calls were logged`);
    for (const argv of calls) {
      assert.ok(!argv.includes("-O"), `ssh -O was run: ${argv.join(" ")}`);
      assert.ok(
        argv.includes("ControlPath=none") && argv.includes("ControlMaster=no"),
        `an ssh could use a master: ${argv.join(" ")}`,
      );
    }
    const agent = agentFiles(
      sshd.controlDir,
      agentListen(Deno.env.toObject()),
    );
    const own = new Set(Object.values(agent));
    for await (const entry of Deno.readDir(sshd.controlDir)) {
      const path = `${sshd.controlDir}/${entry.name}`;
      assert.ok(own.has(path), `${path} is not the agent's`);
    }
  });
});
