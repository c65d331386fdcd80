/**
 * The warm path: calls borrow an open bridge from the local agent. Its
 * faults: a killed agent, a stale socket, an outdated agent, two first
 * calls at once, another user, a master replaced under it. With
 * `SESSH_AGENT_LISTEN=tcp` in the environment, the same on TCP.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd, usesControlMaster } from "./_sshd.ts";
import { runInBash, sessh, sesshJson } from "./_cli.ts";
import { agentFiles } from "../lib/transport/agent_protocol.ts";
import {
  isRunning,
  listPids,
  parentPid,
  readCmdline,
  waitForExit,
} from "../lib/ssh/procfs.ts";
import { runCommand } from "../lib/process.ts";

type Json = Record<string, unknown>;

/**
 * The transport the agents of these tests must listen on, read here and not
 * through the code under test.
 */
const listen = Deno.env.get("SESSH_AGENT_LISTEN") === "tcp" ? "tcp" : "unix";

/** The file a call finds the agent of `controlDir` by. */
function endpointOf(controlDir: string): string {
  const files = agentFiles(controlDir, listen);
  return listen === "tcp" ? files.port : files.socket;
}

/** Whether the agent of `controlDir` accepts a connection. */
async function reachable(controlDir: string): Promise<boolean> {
  try {
    const conn = listen === "tcp"
      ? await Deno.connect({
        hostname: "127.0.0.1",
        port: Number(await Deno.readTextFile(endpointOf(controlDir))),
      })
      : await Deno.connect({
        transport: "unix",
        path: endpointOf(controlDir),
      });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Agents serving this fixture's control directory. */
function agents(sshd: TestSshd): number[] {
  return listPids().filter((pid) => {
    const argv = readCmdline(pid) ?? [];
    return isRunning(pid) && argv.at(-2) === "agent" &&
      argv.at(-1) === sshd.controlDir;
  });
}

/** The session id of `pid` (field 6 of /proc/PID/stat). */
function sessionOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
}

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await check()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function path(
  sshd: TestSshd,
  name: string,
  env: Record<string, string> = {},
): Promise<Json> {
  const status = await sesshJson(sshd, ["status", name, sshd.dest], { env });
  assert.equal(status.code, 0, status.stderr);
  return status.json.path as Json;
}

/** Runs calls until one goes the warm way (the agent starts in the background). */
async function warmUp(
  sshd: TestSshd,
  name: string,
  env: Record<string, string> = {},
): Promise<number> {
  const reasons: string[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    const via = await path(sshd, name, env);
    if (via.warm) return via.agent_pid as number;
    reasons.push(`${new Date().toISOString()} ${String(via.reason)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // The agents' own account of their starts and retirements, for whoever
  // reads the failure.
  const log = await Deno.readTextFile(agentFiles(sshd.controlDir, listen).log)
    .catch((error: Error) => `(no agent log: ${error.message})`);
  assert.fail(
    `no call went through the local agent; its log:\n${log}\nwhy each call went direct:\n${
      reasons.join("\n")
    }`,
  );
}

Deno.test("calls go through the local agent once it runs, and survive its faults", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const name = "warm";
  await runInBash(sshd, name, "export KEPT=yes");
  const files = agentFiles(sshd.controlDir, listen);
  const endpoint = endpointOf(sshd.controlDir);

  await t.step(
    "the first call starts one agent; later calls are warm and keep the shell",
    async () => {
      const agent = await warmUp(sshd, name);
      assert.deepEqual(agents(sshd), [agent]);
      // Started as a call ends, it leads a session of its own: no signal
      // to the terminal or process group of that call reaches it.
      assert.equal(sessionOf(agent), agent);
      const run = await sessh(sshd, [
        "run",
        name,
        dest,
        "--",
        "echo $KEPT-$((6*7))",
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "yes-42\n");
      const mode = (await Deno.stat(endpoint)).mode! & 0o777;
      assert.equal(mode, 0o600);
      assert.equal((await Deno.stat(files.token)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(sshd.controlDir)).mode! & 0o777, 0o700);
    },
  );

  await t.step(
    "what one call subscribed to does not reach the next",
    async () => {
      const follow = await sessh(sshd, ["wait", name, dest, "--idle", "300"]);
      assert.equal(follow.code, 0, follow.stderr);
      const logs = await sesshJson(sshd, [
        "run",
        name,
        dest,
        "--",
        "echo after-wait",
      ]);
      assert.equal(logs.code, 0, logs.stderr);
      assert.equal(logs.json.output, "after-wait\n");
    },
  );

  await t.step(
    "the agent killed with SIGKILL mid-call: that call says so, the next works",
    async () => {
      const agent = await warmUp(sshd, name);
      const call = sesshJson(sshd, [
        "run",
        name,
        dest,
        "--timeout",
        "20",
        "--",
        // It runs until told to end, so the kill lands mid-call however
        // late the poll below sees it running.
        "read _; echo mid",
        // The lease's own account (a call the agent runs whole has none:
        // see thin_client_test.ts).
      ], { env: { SESSH_AGENT_THIN: "0" } });
      // Once the command runs, the call holds its lease.
      await waitFor("the command to start", async () => {
        const status = await sesshJson(sshd, ["status", name, dest], {
          env: { SESSH_AGENT: "0" },
        });
        return (status.json.session as Json).running === true;
      });
      Deno.kill(agent, "SIGKILL");
      const result = await call;
      assert.equal(result.code, 255, JSON.stringify(result.json));
      const error = result.json.error as Json;
      assert.equal(error.code, "connection_lost");
      assert.equal(error.sent, "sent");
      const go = await sessh(sshd, ["send", name, dest, "--enter", "--", "go"]);
      assert.equal(go.code, 0, go.stderr);
      const done = await sessh(sshd, ["wait", name, dest, "--done"]);
      assert.equal(done.code, 0, done.stderr);
      const output = await sessh(sshd, [
        "logs",
        name,
        dest,
        "--since",
        String(error.cursor),
      ]);
      assert.match(output.stdout, /^mid$/m, "the command ran to its end");
      const next = await sessh(sshd, ["run", name, dest, "--", "echo next"]);
      assert.equal(next.code, 0, next.stderr);
      assert.equal(next.stdout, "next\n");
    },
  );

  await t.step("a stale socket file is replaced by a new agent", async () => {
    const agent = await warmUp(sshd, name);
    Deno.kill(agent, "SIGKILL");
    assert.ok(await waitForExit([agent], 5000));
    const left = await Deno.lstat(endpoint);
    assert.ok(
      listen === "tcp" ? left.isFile : left.isSocket,
      "the socket or port file stays",
    );
    const run = await sessh(sshd, ["run", name, dest, "--", "echo stale"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "stale\n");
    const fresh = await warmUp(sshd, name);
    assert.notEqual(fresh, agent);
  });

  await t.step(
    "a garbage token: the call goes direct, says why, and the next one goes through a new agent",
    async () => {
      const agent = await warmUp(sshd, name);
      await Deno.writeTextFile(files.token, "garbage");
      const via = await path(sshd, name);
      assert.equal(via.warm, false);
      // The agent hears of the change from the file system and retires, or
      // the call reaches it first and it refuses the token: either way the
      // call goes direct and says why.
      assert.match(
        String(via.reason),
        /refused the token|no local agent answered/,
      );
      assert.ok(await waitForExit([agent], 5000), "the agent retires");
      const run = await sessh(sshd, ["run", name, dest, "--", "echo ok"]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "ok\n");
      const fresh = await warmUp(sshd, name);
      assert.notEqual(fresh, agent);
    },
  );

  await t.step(
    "a token file open to others: the call goes direct without reading it, and a new agent replaces the old",
    async () => {
      const agent = await warmUp(sshd, name);
      await Deno.chmod(files.token, 0o644);
      const via = await path(sshd, name);
      assert.equal(via.warm, false);
      assert.match(String(via.reason), /has mode 0644, open to others/);
      assert.ok(await waitForExit([agent], 10_000), "the old agent retires");
      const fresh = await warmUp(sshd, name);
      assert.notEqual(fresh, agent);
      assert.equal((await Deno.stat(files.token)).mode! & 0o777, 0o600);
    },
  );

  await t.step(
    "an agent of another version is retired and replaced",
    async () => {
      // A control directory of its own: no agent of the earlier steps (nor
      // one still starting) shares its lock or its socket.
      const controlDir = `${sshd.dir}/ctl-upgrade`;
      const env = { SESSH_CONTROL_DIR: controlDir };
      const old = new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `import { runAgent } from "${
            new URL("../lib/agent/server.ts", import.meta.url).href
          }";
         await runAgent({ controlDir: ${
            JSON.stringify(controlDir)
          }, version: "0/old" });`,
        ],
        env: { ...sshd.env, ...env },
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      await waitFor("the old agent to listen", async () => {
        assert.ok(isRunning(old.pid), "the old agent runs");
        return await reachable(controlDir);
      });
      const via = await path(sshd, name, env);
      assert.equal(via.warm, false);
      assert.match(String(via.reason), /outdated/);
      const status = await old.status;
      assert.equal(status.success, true, "the old agent exits once retired");
      const fresh = await warmUp(sshd, name, env);
      assert.notEqual(fresh, old.pid);
    },
  );

  await t.step("two first calls at once start exactly one agent", async () => {
    const running = agents(sshd);
    for (const pid of running) Deno.kill(pid, "SIGKILL");
    assert.ok(await waitForExit(running, 5000));
    const [a, b] = await Promise.all([
      sessh(sshd, ["run", name, dest, "--", "echo a"]),
      sessh(sshd, ["status", name, dest]),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const agent = await warmUp(sshd, name);
    // Both calls start an agent; the one that finds the lock taken exits,
    // which on a loaded machine may take a while after the first serves.
    const deadline = Date.now() + 10_000;
    let left = agents(sshd);
    while (left.join() !== String(agent)) {
      assert.ok(Date.now() < deadline, `agents: ${left}; warm: ${agent}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = agents(sshd);
    }
  });

  await t.step({
    name: "another Unix user cannot reach the agent's socket",
    ignore: listen === "tcp",
    fn: async () => {
      await warmUp(sshd, name);
      const user = "sessh-squatter";
      await runCommand(["useradd", "--no-create-home", user], {
        timeoutMs: 10_000,
      });
      const probe = await runCommand([
        "runuser",
        "-u",
        user,
        "--",
        "python3",
        "-c",
        "import socket, sys\ns = socket.socket(socket.AF_UNIX)\ntry:\n  s.connect(sys.argv[1])\nexcept PermissionError:\n  sys.exit(13)\nsys.exit(0)",
        files.socket,
      ], { timeoutMs: 10_000 });
      assert.equal(probe.code, 13, new TextDecoder().decode(probe.stderr));
    },
  });

  await t.step({
    name:
      "another Unix user reaches the agent's port, but a wrong key gets nothing but a close",
    ignore: listen !== "tcp",
    fn: async () => {
      const agent = await warmUp(sshd, name);
      const user = "sessh-squatter";
      await runCommand(["useradd", "--no-create-home", user], {
        timeoutMs: 10_000,
      });
      // Exit 0: closed with no byte sent; 1: it answered; 13: no token file
      // to read (as it must be); 2: no connection at all.
      const probe = await runCommand([
        "runuser",
        "-u",
        user,
        "--",
        "python3",
        "-c",
        [
          "import socket, sys",
          "try:",
          "  open(sys.argv[2]).read()",
          "  sys.exit(3)",
          "except PermissionError:",
          "  pass",
          "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), 5)",
          "s.sendall(b'0' * 36 + b'\\x00\\x00\\x00\\x05hello')",
          "sys.exit(0 if s.recv(100) == b'' else 1)",
        ].join("\n"),
        (await Deno.readTextFile(endpoint)).trim(),
        files.token,
      ], { timeoutMs: 15_000 });
      assert.equal(probe.code, 0, new TextDecoder().decode(probe.stderr));
      assert.ok(isRunning(agent), "the agent stays up");
      assert.equal((await path(sshd, name)).agent_pid, agent);
    },
  });

  await t.step(
    "a master killed under a live warm path is replaced by the next call",
    async () => {
      const agent = await warmUp(sshd, name);
      const status = await sesshJson(sshd, ["status", name, dest]);
      // Without a master (SESSH_CONTROL_MASTER=no) the agent's own plain
      // connection is what carries the bridge, and what is killed.
      const master = usesControlMaster()
        ? (status.json.master as Json).pid as number
        : listPids().find((pid) =>
          parentPid(pid) === agent &&
          (readCmdline(pid) ?? []).includes("ControlPath=none")
        );
      assert.ok(master, "found no connection under the warm path");
      Deno.kill(master, "SIGKILL");
      assert.ok(await waitForExit([master], 5000));
      const run = await sessh(sshd, [
        "run",
        name,
        dest,
        "--",
        "echo $KEPT-again",
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "yes-again\n");
      const after = await sesshJson(sshd, ["status", name, dest]);
      if (usesControlMaster()) {
        assert.notEqual((after.json.master as Json).pid, master);
      }
      assert.equal((after.json.path as Json).warm, true);
    },
  );

  await t.step("SESSH_AGENT=0 goes direct and says why", async () => {
    const status = await sesshJson(sshd, ["status", name, dest], {
      env: { SESSH_AGENT: "0" },
    });
    assert.equal(status.code, 0, status.stderr);
    assert.equal((status.json.path as Json).warm, false);
  });
});
