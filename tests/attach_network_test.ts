import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";
import { attach, enter, PROMPT } from "./_attach.ts";
import { startRelay } from "./_relay.ts";
import { daemonPid, rssKiB } from "./_probes.ts";

Deno.test("attach survives the network: partition, reset, and a session killed during a cut", async (t) => {
  await using sshd = await startSshd();
  await using relay = startRelay(sshd.port);
  const dest = sshd.dest;
  // ssh's own keepalive gives up after 3 s here; the partitions last longer.
  const viaRelay = ["-p", String(relay.port)];
  const env = { SESSH_KEEPALIVE: "1" };

  await t.step(
    "a partition is noticed within seconds and the client re-attaches afterwards",
    async () => {
      await using pane = await attach(sshd, ["net", dest, ...viaRelay], {
        env,
      });
      await pane.waitFor(PROMPT);
      await enter(pane, "export KEPT=yes; echo kept-set");
      await pane.waitFor(/^kept-set$/m);
      relay.partition();
      const cut = Date.now();
      await pane.waitFor(/connection lost; reconnecting/, 8000);
      const noticedMs = Date.now() - cut;
      assert.ok(noticedMs < 6000, `noticed after ${noticedMs} ms`);
      const during = await sessh(sshd, [
        "run",
        "net",
        dest,
        "--",
        "echo during-$((2*3))-cut",
      ]);
      assert.equal(during.code, 0, during.stderr);
      await pane.type("lost-keys");
      await new Promise((r) => setTimeout(r, 4000));
      relay.heal();
      await pane.waitFor(/^during-6-cut$/m, 30_000);
      await enter(pane, "echo KEPT=$KEPT");
      const screen = await pane.waitFor(/^KEPT=yes$/m, 15_000);
      assert.doesNotMatch(screen, /lost-keys/);
      await pane.keys("C-b", "d");
      assert.equal(await pane.exitStatus(), 0);
    },
  );

  await t.step(
    "a reset connection is re-attached at once, showing output made meanwhile",
    async () => {
      await using pane = await attach(sshd, ["net", dest, ...viaRelay], {
        env,
      });
      await pane.waitFor(PROMPT);
      const before = relay.accepted;
      relay.partition();
      await sessh(sshd, [
        "run",
        "net",
        dest,
        "--",
        "echo while-$((3*3))-reset",
      ]);
      relay.reset();
      relay.heal();
      await pane.waitFor(/^while-9-reset$/m, 30_000);
      assert.ok(relay.accepted > before, "a fresh ssh connection was made");
      await enter(pane, "echo alive");
      await pane.waitFor(/^alive$/m);
      await pane.keys("C-b", "d");
      assert.equal(await pane.exitStatus(), 0);
    },
  );

  await t.step(
    "a session killed during the cut: non-zero exit and a clear message",
    async () => {
      await using pane = await attach(sshd, ["doomed", dest, ...viaRelay], {
        env,
      });
      await pane.waitFor(PROMPT);
      relay.partition();
      await pane.waitFor(/connection lost; reconnecting/, 8000);
      const closed = await sessh(sshd, [
        "close",
        "doomed",
        dest,
        "--keep-master",
      ]);
      assert.equal(closed.code, 0, closed.stderr);
      relay.heal();
      const status = await pane.exitStatus(30_000);
      assert.notEqual(status, 0);
      assert.match(await pane.screen(), /session doomed is gone/);
    },
  );
});

Deno.test("with agent forwarding, SSH_AUTH_SOCK keeps working after a reconnect", async () => {
  await using sshd = await startSshd();
  await using relay = startRelay(sshd.port);
  const sock = `${sshd.dir}/agent.sock`;
  const agent = new Deno.Command("ssh-agent", {
    args: ["-D", "-a", sock],
    stdout: "null",
    stderr: "null",
  })
    .spawn();
  try {
    const added = await waitForAgent(sock, sshd.identity);
    assert.equal(added, 0, "ssh-add loaded the test key");
    await using pane = await attach(sshd, [
      "agent",
      sshd.dest,
      "-A",
      "-p",
      String(relay.port),
    ], { env: { SSH_AUTH_SOCK: sock } });
    await pane.waitFor(PROMPT);
    await enter(pane, "ssh-add -l | grep -c sessh-test-user; echo first-check");
    await pane.waitFor(/^1\nfirst-check$/m);
    relay.reset();
    await pane.waitFor(/connection lost; reconnecting/, 8000);
    // Keys typed before the re-attach are dropped: wait for the status line to go.
    await pane.waitFor(/^(?![\s\S]*connection lost)/, 30_000);
    await enter(
      pane,
      "ssh-add -l | grep -c sessh-test-user; echo second-check",
    );
    await pane.waitFor(/^1\nsecond-check$/m, 30_000);
    await pane.keys("C-b", "d");
    assert.equal(await pane.exitStatus(), 0);
  } finally {
    agent.kill();
    await agent.status;
  }
});

/** Waits for ssh-agent's socket, then adds `key`; returns ssh-add's exit code. */
async function waitForAgent(sock: string, key: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    if (await Deno.stat(sock).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const out = await new Deno.Command("ssh-add", {
    args: [key],
    env: { SSH_AUTH_SOCK: sock },
    stderr: "null",
  })
    .output();
  return out.code;
}

Deno.test("output floods never block the shell; buffers stay bounded", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;

  await t.step(
    "50 MB printed while detached does not block and the buffer stays bounded",
    async () => {
      await sessh(sshd, ["open", "flood", dest]);
      const run = await sesshJson(sshd, [
        "run",
        "flood",
        dest,
        "--timeout",
        "120",
        "--",
        "head -c 50000000 /dev/zero | tr '\\0' x | fold -w 100; echo flood-done",
      ], { timeoutMs: 150_000 });
      assert.equal(run.code, 0, run.stderr);
      assert.match(String(run.json.output), /flood-done\n$/);
      assert.equal(run.json.truncated, true);
      const status = await sesshJson(sshd, ["status", "flood", dest]);
      const session = status.json.session as {
        buffer_used: number;
        buffer_size: number;
        cursor: number;
      };
      assert.ok(
        session.buffer_used <= session.buffer_size,
        JSON.stringify(session),
      );
      assert.ok(
        session.cursor > 50_000_000,
        "all output passed through the buffer",
      );
      await using pane = await attach(sshd, ["flood", dest]);
      await pane.waitFor(/^flood-done$/m);
      await pane.keys("C-b", "d");
      assert.equal(await pane.exitStatus(), 0);
    },
  );

  await t.step(
    "a stopped client while the shell floods stays attached, status and list answer, and detached meanwhile it leaves once continued",
    async () => {
      await using pane = await attach(sshd, ["stopped", dest]);
      await pane.waitFor(PROMPT);
      const client = await pane.pid();
      Deno.kill(client, "SIGSTOP");
      let continued = 0;
      try {
        await floodAndWait(sshd, "stopped", 100_000_000);
        const status = await sesshJson(sshd, ["status", "stopped", dest]);
        assert.equal(status.code, 0, status.stderr);
        assert.equal(
          (status.json.session as { attached: boolean }).attached,
          true,
          "the daemon kept the slow client",
        );
        const list = await sesshJson(sshd, ["list", dest]);
        assert.equal(list.code, 0, list.stderr);
        assert.ok(
          rssKiB(daemonPid(sshd)) < 200 * 1024,
          "daemon memory bounded",
        );
        const detach = await sesshJson(sshd, ["detach", "stopped", dest]);
        assert.equal(detach.json.detached, true);
      } finally {
        Deno.kill(client, "SIGCONT");
        continued = Date.now();
      }
      assert.equal(await pane.exitStatus(), 0);
      const ms = Date.now() - continued;
      assert.ok(ms < 5000, `the client left ${ms} ms after SIGCONT`);
      assert.match(await pane.screen(), /^\[detached from stopped\]$/m);
    },
  );

  await t.step(
    "a stopped client, continued while far behind, leaves within seconds of sessh detach",
    async () => {
      await using pane = await attach(sshd, ["stopped", dest]);
      await pane.waitFor(PROMPT);
      const client = await pane.pid();
      Deno.kill(client, "SIGSTOP");
      try {
        await floodAndWait(sshd, "stopped", 30_000_000);
      } finally {
        Deno.kill(client, "SIGCONT");
      }
      const asked = Date.now();
      const detach = await sesshJson(sshd, ["detach", "stopped", dest]);
      assert.equal(detach.json.detached, true);
      assert.equal(await pane.exitStatus(), 0);
      const ms = Date.now() - asked;
      assert.ok(ms < 5000, `the client left ${ms} ms after sessh detach`);
      assert.match(await pane.screen(), /^\[detached from stopped\]$/m);
    },
  );
});

/** Has session `name` print `bytes` of y lines, and waits until it is done. */
async function floodAndWait(
  sshd: TestSshd,
  name: string,
  bytes: number,
): Promise<void> {
  const typed = await sesshJson(sshd, [
    "run",
    name,
    sshd.dest,
    "--no-wait",
    "--",
    `head -c ${bytes} /dev/zero | tr '\\0' y | fold -w 100; echo flood-done`,
  ]);
  assert.equal(typed.code, 0, typed.stderr);
  const done = await sesshJson(sshd, [
    "wait",
    name,
    sshd.dest,
    "--done",
    "--timeout",
    "120",
  ], { timeoutMs: 150_000 });
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.json.exit_code, 0);
}

Deno.test("replay inside a full-screen program whose mode changes were evicted renders correctly", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const file = `${sshd.dir}/pager.txt`;
  await Deno.writeTextFile(
    file,
    Array.from({ length: 3000 }, (_, i) => `pager line ${i + 1}`).join("\n"),
  );
  await sessh(sshd, [
    "open",
    "pager",
    dest,
    "--buffer-size",
    "8k",
    "--cols",
    "100",
    "--rows",
    "30",
  ]);
  const less = await sesshJson(sshd, [
    "run",
    "pager",
    dest,
    "--no-wait",
    "--",
    `less '${file}'`,
  ]);
  assert.equal(less.code, 0, less.stderr);
  await sessh(sshd, [
    "wait",
    "pager",
    dest,
    "--for",
    "pager line 20",
    "--timeout",
    "10",
  ]);
  await sessh(sshd, ["keys", "pager", dest, "--", ...Array(40).fill("Space")]);
  await sessh(sshd, [
    "wait",
    "pager",
    dest,
    "--idle",
    "300",
    "--timeout",
    "10",
  ]);
  const status = await sesshJson(sshd, ["status", "pager", dest]);
  const session = status.json.session as {
    cursor: number;
    buffer_used: number;
  };
  assert.ok(
    session.cursor > session.buffer_used,
    "the start of less was evicted",
  );

  await using pane = await attach(sshd, ["pager", dest], {
    cols: 100,
    rows: 30,
  });
  const screen = await pane.waitFor(/pager line \d+/);
  assert.equal(await pane.altScreen(), true, "the alternate screen is back on");
  const numbers = [...screen.matchAll(/^pager line (\d+)$/gm)].map((m) =>
    Number(m[1])
  );
  assert.ok(numbers.length >= 20, screen);
  assert.deepEqual(
    numbers,
    numbers.map((_, i) => numbers[0] + i),
    "consecutive lines, no garbage",
  );
  assert.doesNotMatch(screen, /\[\?1049/);
  assert.ok(!screen.includes("\x1b"), "no raw escapes on the screen");
  await pane.keys("q");
  await pane.waitFor(PROMPT);
  assert.equal(await pane.altScreen(), false);
  await pane.keys("C-b", "d");
  assert.equal(await pane.exitStatus(), 0);
});
