/**
 * `sessh forward`: port forwards through the running master, listed by
 * `status` and `list`, set up again when a reconnect replaces the master.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";
import { masterPid } from "./_probes.ts";
import { waitForExit } from "../lib/ssh/procfs.ts";

/** A loopback port nothing listens on now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The body of GET / on a loopback port, or the error's name. */
async function get(port: number): Promise<string> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      signal: AbortSignal.timeout(5000),
    });
    return await response.text();
  } catch (error) {
    return `failed: ${(error as Error).name}`;
  }
}

Deno.test("a -L forward reaches a server started in the session, survives a new master, and is cancelled", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const remote = freePort();
  const local = freePort();
  const spec = `127.0.0.1:${local}:127.0.0.1:${remote}`;
  const served = await sessh(sshd, [
    "run",
    "srv",
    dest,
    "--no-wait",
    "--",
    `mkdir -p /tmp/fwd-${remote} && cd /tmp/fwd-${remote} && echo served-$((6*7)) > index.html && python3 -m http.server ${remote} --bind 127.0.0.1`,
  ]);
  assert.equal(served.code, 0, served.stderr);
  await sessh(sshd, [
    "wait",
    "srv",
    dest,
    "--for",
    "Serving HTTP",
    "--timeout",
    "20",
  ]);

  await t.step("set up, reached and listed", async () => {
    const set = await sesshJson(sshd, ["forward", dest, "-L", spec]);
    assert.equal(set.code, 0, JSON.stringify(set.json));
    assert.deepEqual(set.json.forwards, [{ kind: "L", spec }]);
    assert.equal((await get(local)).trim(), "served-42");
    const status = await sesshJson(sshd, ["status", "srv", dest]);
    assert.deepEqual(status.json.forwards, [{ kind: "L", spec }]);
    const list = await sesshJson(sshd, ["list", dest]);
    assert.deepEqual(list.json.forwards, [{ kind: "L", spec }]);
    const listed = await sessh(sshd, ["forward", dest]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout, `-L ${spec}\n`);
  });

  await t.step(
    "set up again by the master that replaces a killed one",
    async () => {
      const old = await masterPid(sshd, "srv");
      Deno.kill(old, "SIGKILL");
      assert.ok(await waitForExit([old], 5000));
      assert.match(await get(local), /^failed/);
      const fresh = await masterPid(sshd, "srv");
      assert.notEqual(fresh, old);
      assert.equal((await get(local)).trim(), "served-42");
    },
  );

  await t.step("cancelled", async () => {
    const cancelled = await sessh(sshd, [
      "forward",
      dest,
      "-L",
      spec,
      "--cancel",
    ]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(await get(local), /^failed/);
    const status = await sesshJson(sshd, ["status", "srv", dest]);
    assert.deepEqual(status.json.forwards, []);
    const listed = await sessh(sshd, ["forward", dest]);
    assert.equal(listed.stdout, `no forwards through the master of ${dest}\n`);
  });

  await t.step(
    "a spec written differently cancels the forward set up",
    async () => {
      const port = freePort();
      const set = await sessh(sshd, [
        "forward",
        dest,
        "-L",
        `${port}:localhost:${remote}`,
      ]);
      assert.equal(set.code, 0, set.stderr);
      assert.equal((await get(port)).trim(), "served-42");
      const cancelled = await sesshJson(sshd, [
        "forward",
        dest,
        "-L",
        `LocalHost:${port}:LOCALHOST:${remote}`,
        "--cancel",
      ]);
      assert.equal(cancelled.code, 0, JSON.stringify(cancelled.json));
      assert.deepEqual(cancelled.json.cancelled, {
        kind: "L",
        spec: `${port}:localhost:${remote}`,
      });
      assert.deepEqual(cancelled.json.forwards, []);
      assert.match(await get(port), /^failed/);
    },
  );

  await t.step(
    "cancelling a forward never set up fails with what ssh says",
    async () => {
      const port = freePort();
      const spec = `127.0.0.1:${port}:127.0.0.1:${remote}`;
      const cancelled = await sessh(sshd, [
        "forward",
        dest,
        "-L",
        spec,
        "--cancel",
      ]);
      assert.equal(
        cancelled.stderr,
        `sessh: No forward -L ${spec} to cancel through the master of "${dest}": ssh says "port not forwarded"; no forward is set up through it\n`,
      );
      assert.equal(cancelled.code, 1);
      assert.equal(cancelled.stdout, "");
      const json = await sesshJson(sshd, [
        "forward",
        dest,
        "-D",
        String(port),
        "--cancel",
      ]);
      assert.equal(json.code, 1);
      assert.equal(
        (json.json.error as Record<string, unknown>).code,
        "no_forward",
      );
    },
  );

  await t.step("open --forward sets one up as it opens a session", async () => {
    const other = freePort();
    const opened = await sessh(sshd, [
      "open",
      "second",
      dest,
      "--forward",
      `L:127.0.0.1:${other}:127.0.0.1:${remote}`,
    ]);
    assert.equal(opened.code, 0, opened.stderr);
    assert.equal((await get(other)).trim(), "served-42");
    const bad = await sessh(sshd, ["open", "third", dest, "--forward", "X:1"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid --forward "X:1"/);
  });

  await t.step("a malformed spec is refused before ssh runs", async () => {
    const glued = await sessh(sshd, [
      "forward",
      dest,
      "-L",
      "-oProxyCommand=x",
    ]);
    assert.equal(glued.code, 2);
    assert.match(glued.stderr, /Refusing "-oProxyCommand=x"/);
    const bad = await sessh(sshd, ["forward", dest, "-L=8080;touch x"]);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /Invalid -L "8080;touch x"; give \[bind:\]port:host:hostport/,
    );
    // Without a forward, forward DEST lists them; --cancel needs one.
    const none = await sessh(sshd, ["forward", dest, "--cancel"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Give exactly one forward/);
  });
  await sessh(sshd, ["keys", "srv", dest, "--", "C-c"]);
});
