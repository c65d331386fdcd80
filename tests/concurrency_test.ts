/**
 * Calls side by side on one client, against a real sshd: each gets its own
 * result whatever runs beside it (fifty sessions at once, long beside short,
 * waits, follows and copies beside commands), events of sessions nobody
 * waits for never clog the connection, a script that forgets to disconnect
 * still exits, and every call with a signal is cancelled by the one rule.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { SesshClient, type SesshError } from "../mod.ts";
import { isRunning } from "../lib/ssh/procfs.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** A client of the fixture's sshd, as a script would make one. */
function connectTo(
  sshd: TestSshd,
  options: { signal?: AbortSignal } = {},
): Promise<SesshClient> {
  return SesshClient.connect({
    destination: sshd.dest,
    env: sshd.env,
    ssh: { configFile: sshd.configFile },
    signal: options.signal,
  });
}

/** What session `i` prints in round `r`, and the status it exits with. */
function expected(i: number, r: number): { text: string; code: number } {
  return { text: `s${i}-r${r}-${(i * 31 + r * 7) % 1000}`, code: (i + r) % 7 };
}

Deno.test("run() side by side on fifty sessions of one client: every result its own, 20 rounds", async () => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const sessions = Array.from(
    { length: 50 },
    (_, i) => client.session(`p${i}`),
  );
  await Promise.all(sessions.map((s) => s.open({ shell: "bash" })));
  const wrong: string[] = [];
  for (let r = 0; r < 20; r++) {
    const results = await Promise.all(
      sessions.map((s, i) => {
        const { text, code } = expected(i, r);
        return s.run(`echo ${text}; (exit ${code})`, { timeoutMs: 30_000 });
      }),
    );
    results.forEach((result, i) => {
      const { text, code } = expected(i, r);
      if (result.output !== `${text}\n` || result.exitCode !== code) {
        wrong.push(
          `round ${r} session ${i}: ${
            JSON.stringify(result.output)
          } exit ${result.exitCode} running ${result.running}`,
        );
      }
    });
  }
  assert.deepEqual(wrong, []);
});

Deno.test("run() of a long command beside short ones on other sessions: each its own result", async () => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const long = client.session("long");
  const short = client.session("short");
  await Promise.all([long.open(), short.open()]);
  for (let round = 0; round < 3; round++) {
    const [slow, quick] = await Promise.all([
      long.run(`sleep 1.5; echo slow-${round}; (exit 3)`),
      (async () => {
        const outputs: string[] = [];
        for (let n = 0; n < 5; n++) {
          const result = await short.run(`echo quick-${round}-${n}`);
          assert.equal(result.exitCode, 0);
          outputs.push(result.output);
        }
        return outputs;
      })(),
    ]);
    assert.equal(slow.output, `slow-${round}\n`);
    assert.equal(slow.exitCode, 3);
    assert.deepEqual(
      quick,
      [0, 1, 2, 3, 4].map((n) => `quick-${round}-${n}\n`),
    );
  }
});

Deno.test("wait(), follow() and file copies beside running commands on one client", async () => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const dir = await Deno.makeTempDir();
  try {
    const data = crypto.getRandomValues(new Uint8Array(64 * 1024))
      .map((b, i) => b ^ i);
    const payload = new Uint8Array(6 << 20);
    for (let at = 0; at < payload.length; at += data.length) {
      payload.set(data.subarray(0, payload.length - at), at);
    }
    await Deno.writeFile(`${dir}/up.bin`, payload);
    const workers = ["w0", "w1", "w2"].map((name) => client.session(name));
    const watched = client.session("watched");
    const followed = client.session("followed");
    await Promise.all([...workers, watched, followed].map((s) => s.open()));
    const runs = Promise.all(workers.map(async (s, i) => {
      for (let n = 0; n < 8; n++) {
        const result = await s.run(`echo ${s.name}-${n}; (exit ${n % 3})`);
        assert.equal(result.output, `${s.name}-${n}\n`);
        assert.equal(result.exitCode, n % 3, `${s.name} run ${n} (${i})`);
      }
    }));
    // A run and a wait for its end on the same session both see it end.
    await watched.run("sleep 1; echo watched-end; (exit 4)", { wait: false });
    const waited = Promise.all([
      watched.wait({ pattern: /watched-end/, timeoutMs: 20_000 }),
      watched.wait({ done: true, timeoutMs: 20_000 }),
    ]);
    const since = (await followed.status()).bufferEnd;
    const follow = (async () => {
      const seen: string[] = [];
      for await (const piece of followed.follow({ since })) {
        if (piece.type === "output") seen.push(piece.text);
        if (seen.join("").includes("follow-9")) break;
      }
      return seen.join("");
    })();
    const typed = followed.run(
      "for i in 0 1 2 3 4 5 6 7 8 9; do echo follow-$i; sleep 0.1; done",
    );
    const copies = (async () => {
      const up = await client.upload(`${dir}/up.bin`, "up.bin");
      assert.equal(up.bytes, payload.length);
      await client.download("up.bin", `${dir}/down.bin`);
      return await Deno.readFile(`${dir}/down.bin`);
    })();
    const [, [match, done], followedText, followedRun, copied] = await Promise
      .all([runs, waited, follow, typed, copies]);
    assert.equal(match.met, true);
    assert.equal(match.match, "watched-end");
    assert.equal(done.met, true);
    assert.equal(done.exitCode, 4);
    for (let i = 0; i < 10; i++) {
      // Each line once, whole (line ends as the terminal sent them).
      const lines = followedText.replaceAll("\r", "").split("\n");
      assert.equal(
        lines.filter((line) => line === `follow-${i}`).length,
        1,
        JSON.stringify(followedText),
      );
    }
    assert.equal(followedRun.exitCode, 0);
    assert.ok(copied.length === payload.length, "the copy is whole");
    assert.ok(copied.every((b, i) => b === payload[i]), "the copy is exact");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("follow() that falls far behind a flood reads what it missed back: every byte, in order", async () => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const flood = client.session("flood");
  await flood.open({ bufferSize: 64 << 20 });
  const since = (await flood.status()).bufferEnd;
  // 24 MB, three times what a mailbox holds, while the reader sleeps.
  const typed = flood.run(
    "head -c 24000000 /dev/zero | tr '\\0' x; echo; echo FLOOD-$((6*7))",
    { timeoutMs: 120_000 },
  );
  let cursor = since;
  let text = "";
  let slept = false;
  for await (const piece of flood.follow({ since, raw: true })) {
    assert.notEqual(piece.type, "gap", "the buffer held it all");
    if (piece.type !== "output") continue;
    if (!slept) {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      slept = true;
    }
    assert.equal(piece.cursor - piece.raw.length, cursor, "no byte skipped");
    cursor = piece.cursor;
    const tail = new TextDecoder().decode(piece.raw.subarray(-64));
    text = (text + tail).slice(-64);
    if (text.includes("FLOOD-42")) break;
  }
  assert.equal((await typed).exitCode, 0);
  assert.ok(cursor - since > 24_000_000, `${cursor - since} bytes`);
});

Deno.test("run() and wait() on one session both see the command's end; a second run is refused", async () => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const work = client.session("both");
  await work.open();
  const [ran, waited] = await Promise.all([
    work.run("sleep 0.5; echo both-done; (exit 6)"),
    (async () => {
      // Once the command runs, so that the wait is for its end.
      while (!(await work.status()).running) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return await work.wait({ done: true, timeoutMs: 20_000 });
    })(),
  ]);
  assert.equal(ran.exitCode, 6);
  assert.equal(ran.output, "both-done\n");
  assert.equal(waited.met, true);
  assert.equal(waited.exitCode, 6);
  // Two runs on one session at once: one runs, the other is refused.
  const [first, second] = await Promise.allSettled([
    work.run("sleep 0.3; echo first"),
    work.run("echo second"),
  ]);
  const outcomes = [first, second].map((o) =>
    o.status === "fulfilled" ? o.value.output : (o.reason as SesshError).code
  ).sort();
  assert.deepEqual(outcomes, ["first\n", "session_busy"]);
});

Deno.test("run() with wait: false 200 times: list() and status() still answer at once", async () => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const sessions = Array.from(
    { length: 10 },
    (_, i) => client.session(`nw${i}`),
  );
  await Promise.all(sessions.map((s) => s.open()));
  for (let n = 0; n < 200; n++) {
    // force: a session whose last `true` has not ended yet is not refused.
    await sessions[n % 10].run("true", { wait: false, force: true });
  }
  const started = performance.now();
  const [list, status] = await Promise.all([
    client.list(),
    sessions[3].status({ timeoutMs: 5000 }),
  ]);
  const ms = performance.now() - started;
  assert.equal(list.length, 10);
  assert.equal(status.name, "nw3");
  assert.ok(ms < 5000, `answered after ${Math.round(ms)} ms`);
  // And a run that waits still gets its own result.
  const result = await sessions[0].run("echo still-fine", {
    timeoutMs: 10_000,
  });
  assert.equal(result.output, "still-fine\n");
});

Deno.test("run() with wait: false, then wait() for a pattern: the command's echo is not a match", async () => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  // Fresh sessions, ten at once: the echo of a command comes soon after it
  // is typed, so a wait that started before it would match it.
  const early: (string | null)[] = [];
  for (let round = 0; round < 2; round++) {
    const sessions = Array.from(
      { length: 10 },
      (_, i) => client.session(`echo${round}-${i}`),
    );
    await Promise.all(sessions.map((s) => s.open()));
    early.push(
      ...await Promise.all(sessions.map(async (work) => {
        const started = performance.now();
        await work.run("sleep 1.5; echo MARK-$((40+2))", { wait: false });
        const met = await work.wait({ pattern: /MARK/, timeoutMs: 20_000 });
        const ms = performance.now() - started;
        assert.equal(met.met, true);
        return ms < 1400 || !met.output.includes("MARK-42")
          ? `${work.name}: met after ${Math.round(ms)} ms, ${
            JSON.stringify(met.output)
          }`
          : null;
      })),
    );
  }
  assert.deepEqual(early.filter(Boolean), [], "the echo matched");
});

// Half a second: a timer left armed after the last call (the heartbeat's beat
// is a second) would hold it about twice that.
Deno.test("a script that never disconnects exits within half a second of its last line", async () => {
  await using sshd = await startSshd();
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/forgets.ts`;
    await Deno.writeTextFile(
      script,
      `import { SesshClient } from ${JSON.stringify(MOD)};
const client = await SesshClient.connect(${
        JSON.stringify({
          destination: sshd.dest,
          env: sshd.env,
          ssh: { configFile: sshd.configFile },
        })
      });
const session = client.session("script");
console.log((await session.run("echo one")).output.trim());
console.log((await session.run("echo two")).output.trim());
console.log(Date.now());
`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--config", CONFIG, script],
      stdout: "piped",
      stderr: "piped",
      env: { DENO_NO_UPDATE_CHECK: "1" },
    }).spawn();
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const output = await child.output();
    const exitedAt = Date.now();
    clearTimeout(killer);
    const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.deepEqual(lines.slice(0, 2), ["one", "two"]);
    const lastLine = Number(lines[2]);
    assert.ok(
      exitedAt - lastLine < 500,
      `exited ${exitedAt - lastLine} ms after its last line`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("disconnect({ stopMaster: true }) stops the master this client started, and only that one", async () => {
  await using sshd = await startSshd();
  const first = await connectTo(sshd);
  assert.equal(first.master!.started, true);
  const second = await connectTo(sshd);
  assert.equal(second.master!.started, false);
  await second.disconnect({ stopMaster: true });
  assert.ok(isRunning(first.master!.pid), "a master found running stays up");
  const result = await first.session("m").run("echo still-up");
  assert.equal(result.output, "still-up\n");
  await first.disconnect({ stopMaster: true });
  const deadline = Date.now() + 5000;
  while (isRunning(first.master!.pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(isRunning(first.master!.pid), false, "the master is gone");
  // The sessions outlive it: a new client (and master) finds the shell.
  await using again = await connectTo(sshd);
  assert.deepEqual((await again.list()).map((s) => s.name), ["m"]);
});

/** Asserts that `call` rejects with an `AbortError`, or with `reason` when given. */
async function rejectsWith(
  call: Promise<unknown>,
  reason?: unknown,
): Promise<void> {
  await assert.rejects(call, (error: Error) => {
    if (reason !== undefined) return error === reason;
    return error instanceof DOMException && error.name === "AbortError";
  });
}

Deno.test("An aborted signal rejects every call that takes one with its reason", async (t) => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const work = client.session("cancel");
  await work.open();
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/big.bin`, new Uint8Array(48 << 20));
  await client.upload(`${dir}/big.bin`, "big.bin");
  const custom = new Error("the caller's own reason");
  // A copy is aborted once it reports progress, the others after 300 ms: on
  // a quiet machine 48 MB can be copied whole in less. The copies go
  // through the daemon, which reports each part; library_copy_test.ts
  // aborts them through sftp.
  const calls: Record<
    string,
    (signal: AbortSignal, underway?: () => void) => Promise<unknown>
  > = {
    "run": (signal) => work.run("sleep 5", { signal }),
    "wait": (signal) =>
      work.wait({ pattern: /never-printed/, timeoutMs: 20_000, signal }),
    "follow (callback)": (signal) => work.follow(() => {}, { signal }),
    "follow (iterator)": async (signal) => {
      for await (const _ of work.follow({ signal }));
    },
    "upload": (signal, underway) =>
      client.upload(`${dir}/big.bin`, "big2.bin", {
        signal,
        onProgress: underway,
        via: "helper",
      }),
    "download": (signal, underway) =>
      client.download("big.bin", `${dir}/got.bin`, {
        signal,
        onProgress: underway,
        via: "helper",
      }),
    "connect": (signal) => connectTo(sshd, { signal }),
  };
  try {
    for (const [name, call] of Object.entries(calls)) {
      await t.step(`${name}: already aborted`, async () => {
        await rejectsWith(call(AbortSignal.abort()));
        await rejectsWith(call(AbortSignal.abort(custom)), custom);
      });
    }
    for (const [name, call] of Object.entries(calls)) {
      if (name === "connect") continue;
      await t.step(`${name}: aborted during the call`, async () => {
        for (const reason of [undefined, custom]) {
          const controller = new AbortController();
          const started = performance.now();
          const abort = () => controller.abort(reason);
          const copy = name === "upload" || name === "download";
          const pending = call(controller.signal, copy ? abort : undefined);
          if (!copy) setTimeout(abort, 300);
          await rejectsWith(pending, reason);
          const ms = performance.now() - started;
          assert.ok(ms < 3000, `rejected after ${Math.round(ms)} ms`);
          if (name === "run") {
            // The command runs on; interrupt it for the next step.
            await work.keys(["C-c"]);
            await work.wait({ done: true, timeoutMs: 10_000 });
          }
        }
      });
    }
    await t.step(
      "connect: aborted while ssh waits on a silent server",
      async () => {
        // A port that accepts and never speaks: ssh waits for its banner.
        using silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const held: Deno.Conn[] = [];
        const accepting = (async () => {
          for await (const conn of silent) held.push(conn);
        })().catch(() => {});
        for (const reason of [undefined, custom]) {
          const controller = new AbortController();
          const started = performance.now();
          const pending = SesshClient.connect({
            destination: "127.0.0.1",
            env: sshd.env,
            ssh: {
              configFile: sshd.configFile,
              port: String(silent.addr.port),
            },
            signal: controller.signal,
          });
          setTimeout(() => controller.abort(reason), 300);
          await rejectsWith(pending, reason);
          assert.ok(performance.now() - started < 3000);
        }
        for (const conn of held) conn.close();
        silent.close();
        await accepting;
      },
    );
    await t.step("a timeout still returns its result", async () => {
      const result = await work.run("sleep 2", { timeoutMs: 300 });
      assert.equal(result.running, true);
      await work.wait({ done: true, timeoutMs: 10_000 });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
