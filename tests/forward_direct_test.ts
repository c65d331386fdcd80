/**
 * `sessh forward` without a ControlMaster (`SESSH_CONTROL_MASTER=no`): one
 * `ssh -N` per forward, held by the local agent so that it outlives the
 * call, listed, cancelled, and reported once its ssh died.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";
import { isRunning, waitForExit } from "../lib/ssh/procfs.ts";

type Json = Record<string, unknown>;

const NO_MASTER = { SESSH_CONTROL_MASTER: "no" };

/** A loopback port nothing listens on now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** A loopback server that sends back what it is sent, until disposed. */
function echoServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      conn.readable.pipeTo(conn.writable).catch(() => {});
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await serving;
    },
  };
}

/** What comes back through a loopback port for `text`, or the error's name. */
async function echoed(port: number, text: string): Promise<string> {
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), 5000);
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode(text));
    const buffer = new Uint8Array(1024);
    let got = "";
    while (got.length < text.length) {
      const n = await conn.read(buffer);
      if (n === null) break;
      got += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return got;
  } catch (error) {
    return `failed: ${(error as Error).name}`;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed by the timer */ }
  }
}

async function forwardJson(sshd: TestSshd, args: string[]) {
  return await sesshJson(sshd, ["forward", sshd.dest, ...args], {
    env: NO_MASTER,
  });
}

Deno.test("forward without a ControlMaster: the agent holds a -L forward, lists it, cancels it, and reports it dead", async (t) => {
  await using sshd = await startSshd();
  await using echo = echoServer();
  const local = freePort();
  const spec = `127.0.0.1:${local}:127.0.0.1:${echo.port}`;
  let pid = 0;

  await t.step(
    "set up by an ssh of its own that outlives the call",
    async () => {
      const set = await forwardJson(sshd, ["-L", spec]);
      assert.equal(set.code, 0, JSON.stringify(set.json));
      const forwards = set.json.forwards as Json[];
      assert.equal(forwards.length, 1);
      assert.equal(forwards[0].kind, "L");
      assert.equal(forwards[0].spec, spec);
      assert.equal(forwards[0].state, "up");
      pid = forwards[0].pid as number;
      assert.ok(isRunning(pid), "its ssh runs after the call ended");
      assert.equal(await echoed(local, "ping-42"), "ping-42");
      const masters = [...Deno.readDirSync(sshd.controlDir)]
        .filter((entry) => /^[0-9a-f]{40}$/.test(entry.name));
      assert.deepEqual(masters, [], "no ControlMaster was started");
    },
  );

  await t.step("the same forward again is the one held", async () => {
    const again = await forwardJson(sshd, ["-L", spec]);
    assert.equal(again.code, 0, JSON.stringify(again.json));
    assert.deepEqual(
      (again.json.forwards as Json[]).map((f) => f.pid),
      [pid],
    );
  });

  await t.step("listed", async () => {
    const list = await forwardJson(sshd, ["--list"]);
    assert.equal(list.code, 0, JSON.stringify(list.json));
    assert.deepEqual(list.json.forwards, [
      { kind: "L", spec, pid, state: "up" },
    ]);
    const text = await sessh(sshd, ["forward", sshd.dest, "--list"], {
      env: NO_MASTER,
    });
    assert.equal(
      text.stdout,
      `-L ${spec} (ssh pid ${pid}) to ${sshd.dest}, held by the local agent\n`,
    );
  });

  await t.step(
    "status and list show the forwards the agent holds",
    async () => {
      const ran = await sessh(sshd, ["run", "fw", sshd.dest, "--", "true"], {
        env: NO_MASTER,
      });
      assert.equal(ran.code, 0, ran.stderr);
      const held = [{ kind: "L", spec, pid, state: "up" }];
      const status = await sesshJson(sshd, ["status", "fw", sshd.dest], {
        env: NO_MASTER,
      });
      assert.equal(status.code, 0, JSON.stringify(status.json));
      assert.deepEqual(status.json.forwards, held);
      const list = await sesshJson(sshd, ["list", sshd.dest], {
        env: NO_MASTER,
      });
      assert.equal(list.code, 0, JSON.stringify(list.json));
      assert.deepEqual(list.json.forwards, held);
      const text = await sessh(sshd, ["status", "fw", sshd.dest], {
        env: NO_MASTER,
      });
      assert.match(text.stdout, new RegExp(`^forward: -L ${spec}$`, "m"));
    },
  );

  await t.step("cancelled: its ssh ends and the port is closed", async () => {
    const cancelled = await forwardJson(sshd, ["-L", spec, "--cancel"]);
    assert.equal(cancelled.code, 0, JSON.stringify(cancelled.json));
    assert.deepEqual(cancelled.json.forwards, []);
    assert.equal((cancelled.json.cancelled as Json).pid, pid);
    assert.ok(await waitForExit([pid], 5000), "its ssh ended");
    assert.match(await echoed(local, "gone"), /^failed/);
    const again = await forwardJson(sshd, ["-L", spec, "--cancel"]);
    assert.equal(again.code, 1);
    assert.equal((again.json.error as Json).code, "no_forward");
  });

  await t.step(
    "a forward whose ssh died is listed as dead, with why",
    async () => {
      const port = freePort();
      const other = `127.0.0.1:${port}:127.0.0.1:${echo.port}`;
      const set = await forwardJson(sshd, ["-L", other]);
      assert.equal(set.code, 0, JSON.stringify(set.json));
      const dying = (set.json.forwards as Json[])[0].pid as number;
      assert.equal(await echoed(port, "before"), "before");
      Deno.kill(dying, "SIGKILL");
      assert.ok(await waitForExit([dying], 5000));
      const list = await forwardJson(sshd, ["--list"]);
      assert.equal(list.code, 0, JSON.stringify(list.json));
      assert.deepEqual(list.json.forwards, [
        {
          kind: "L",
          spec: other,
          pid: dying,
          state: "dead",
          why: "ssh was killed by SIGKILL",
        },
      ]);
      const cancelled = await forwardJson(sshd, ["-L", other, "--cancel"]);
      assert.equal(cancelled.code, 0, JSON.stringify(cancelled.json));
      assert.equal((cancelled.json.cancelled as Json).state, "dead");
      assert.deepEqual(cancelled.json.forwards, []);
    },
  );

  await t.step("a -R forward is up once the server said yes", async () => {
    const port = freePort();
    const remote = `127.0.0.1:${port}:127.0.0.1:${echo.port}`;
    const set = await forwardJson(sshd, ["-R", remote]);
    assert.equal(set.code, 0, JSON.stringify(set.json));
    // The sshd is on this machine: its side of -R is a loopback port here.
    assert.equal(await echoed(port, "back-42"), "back-42");
    const cancelled = await forwardJson(sshd, ["-R", remote, "--cancel"]);
    assert.equal(cancelled.code, 0, JSON.stringify(cancelled.json));
    assert.match(await echoed(port, "gone"), /^failed/);
  });

  await t.step("a port already taken fails with what ssh says", async () => {
    await using taken = echoServer();
    const set = await forwardJson(sshd, [
      "-L",
      `127.0.0.1:${taken.port}:127.0.0.1:${echo.port}`,
    ]);
    assert.equal(set.code, 2, JSON.stringify(set.json));
    const error = set.json.error as Json;
    assert.equal(error.code, "forward_refused");
    assert.match(
      String(error.message),
      /^Cannot forward -L .* ssh exited 255 \(.*Address already in use/,
    );
    const list = await forwardJson(sshd, ["--list"]);
    assert.deepEqual(list.json.forwards, []);
  });

  await t.step("open --forward has the agent hold it too", async () => {
    const port = freePort();
    const spec = `127.0.0.1:${port}:127.0.0.1:${echo.port}`;
    const opened = await sessh(sshd, [
      "open",
      "fwd",
      sshd.dest,
      "--forward",
      `L:${spec}`,
    ], { env: NO_MASTER });
    assert.equal(opened.code, 0, opened.stderr);
    assert.equal(await echoed(port, "opened-42"), "opened-42");
    const list = await forwardJson(sshd, ["--list"]);
    assert.deepEqual(
      (list.json.forwards as Json[]).map((f) => [f.spec, f.state]),
      [[spec, "up"]],
    );
  });
});
