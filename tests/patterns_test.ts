/**
 * `wait --for` against a real sshd: patterns see the text that `output`
 * shows, whether the daemon searches or the client does, and no pattern
 * stalls the daemon for other sessions.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { sesshJson } from "./_cli.ts";
import { SesshClient, SesshError } from "../mod.ts";

function connectTo(sshd: TestSshd): Promise<SesshClient> {
  return SesshClient.connect({
    destination: sshd.dest,
    env: sshd.env,
    ssh: { configFile: sshd.configFile },
  });
}

Deno.test("wait({ pattern }) matches the text output shows, in the daemon and in the client", async (t) => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const session = client.session("lines");
  await session.open({ shell: "bash" });
  // Translatable patterns are searched by the daemon; a lookbehind makes the
  // client search.
  const table: [string, RegExp][] = [
    ["daemon", /hello 1\n/],
    ["daemon", /^hello 1$/m],
    ["client", /(?<=hello )1\n/],
    ["client", /(?<=^hello )1$/m],
  ];
  for (const [where, pattern] of table) {
    await t.step(`${where}: ${pattern}`, async () => {
      // The command's echo holds no "hello 1": only its output can match.
      const ran = await session.run("printf 'hello %s\\n' 1", { check: true });
      assert.equal(ran.output, "hello 1\n");
      const waited = await session.wait({
        pattern,
        since: ran.outputStart,
        timeoutMs: 10_000,
      });
      assert.equal(waited.met, true, `${pattern} in ${JSON.stringify(ran)}`);
      assert.match(waited.output, pattern);
    });
  }
  await t.step("python3's REPL", async () => {
    await session.run("python3 -q", { wait: false });
    const prompt = await session.wait({ pattern: />>> $/, timeoutMs: 15_000 });
    assert.equal(prompt.met, true, prompt.output);
    await session.send('print("42 " + "ünï")', { enter: true });
    const waited = await session.wait({
      pattern: /42 ünï\n/,
      timeoutMs: 10_000,
    });
    assert.equal(waited.met, true, JSON.stringify(waited.output));
    assert.equal(waited.match, "42 ünï\n");
    await session.send("exit()", { enter: true });
    assert.equal((await session.wait({ done: true })).met, true);
  });
  await t.step(
    "a wait after send with Enter shows the text's echo",
    async () => {
      // The terminal echoes what cat reads as soon as it is written, before
      // the Enter is: the wait counts from the text, not from the Enter.
      await session.run("cat", { wait: false });
      await session.wait({ idleMs: 300, timeoutMs: 10_000 });
      await session.send("echoed-text", { enter: true });
      const waited = await session.wait({
        pattern: /^echoed-text\n(.*\n)?echoed-text\n/,
        timeoutMs: 10_000,
      });
      assert.equal(waited.met, true, JSON.stringify(waited.output));
      assert.match(waited.output, /^echoed-text\n/);
      await session.keys(["C-d"]);
      assert.equal((await session.wait({ done: true })).met, true);
    },
  );
  await t.step("sessh wait --for", async () => {
    const ran = await session.run("printf 'hello %s\\n' 2", { check: true });
    const waited = await sesshJson(sshd, [
      "wait",
      "lines",
      sshd.dest,
      "--for",
      "hello 2\\n",
      "--since",
      String(ran.outputStart),
      "--timeout",
      "10",
    ]);
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal(waited.json.match, "hello 2\n");
  });
});

Deno.test("a catastrophic pattern fails its wait with pattern_too_slow and stalls no other session", async (t) => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  // The timed runs go through a client of their own: only the daemon is shared.
  await using other = await connectTo(sshd);
  const victim = client.session("victim");
  await victim.open({ shell: "bash" });
  const bystander = other.session("bystander");
  await bystander.open({ shell: "bash" });
  // Each pattern backtracks for ever on its text: no match, and no end.
  const table: [string, string][] = [
    ["(a+)+$", "printf '%.0sa' $(seq 27); echo '!'"],
    ["(a|aa)+$", "printf '%.0sa' $(seq 40); echo '!'"],
    [
      "(.*a){20}",
      "printf '%.0sa' $(seq 19); printf '%.0sb' $(seq 20000); echo",
    ],
  ];
  for (const [pattern, command] of table) {
    await t.step(pattern, async () => {
      const ran = await victim.run(command, { check: true });
      let waiting = true;
      const wait = sesshJson(sshd, [
        "wait",
        "victim",
        sshd.dest,
        "--for",
        pattern,
        "--since",
        String(ran.outputStart),
        "--timeout",
        "60",
      ]).finally(() => waiting = false);
      const times: number[] = [];
      while (waiting) {
        const started = performance.now();
        const echoed = await bystander.run("echo ok", { timeoutMs: 10_000 });
        times.push(performance.now() - started);
        assert.equal(echoed.output, "ok\n");
      }
      const waited = await wait;
      assert.equal(waited.code, 1, waited.stderr);
      const error = waited.json.error as Record<string, unknown>;
      assert.equal(error.code, "pattern_too_slow", JSON.stringify(waited));
      assert.match(String(error.message), /simplify it/);
      assert.ok(times.length >= 3, `runs while the wait lasted: ${times}`);
      const slowest = Math.max(...times);
      assert.ok(slowest < 1000, `a run took ${slowest} ms: ${times}`);
      console.log(
        `${pattern}: ${times.length} runs beside the wait, slowest ` +
          `${slowest.toFixed(1)} ms`,
      );
    });
  }
  // The daemon still searches after a worker was killed.
  const ran = await victim.run("echo fine-$((6*7))", { check: true });
  const waited = await victim.wait({
    pattern: /fine-42/,
    since: ran.outputStart,
    timeoutMs: 10_000,
  });
  assert.equal(waited.met, true);
  await assert.rejects(
    victim.wait({ pattern: /(a+)+$/, since: 0, timeoutMs: 30_000 }),
    (error) => error instanceof SesshError && error.code === "pattern_too_slow",
  );
});
