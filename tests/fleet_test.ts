/**
 * `--hosts` end to end: 48 live hosts, each its own master and daemon, one
 * alias on a closed port and one behind a relay in blackout (`_fleet.ts`).
 */
import assert from "node:assert/strict";
import { startFleet } from "./_fleet.ts";
import { sessh } from "./_cli.ts";
import { SesshFleet } from "../mod.ts";
import { call, connectMcp } from "./_mcp.ts";

type Json = Record<string, unknown>;

/** Cold starts of 48 masters and daemons share 2 loaded cores with sshd. */
const COLD = { SESSH_CONNECT_TIMEOUT: "30" };
/** Deno's start-up under load, beyond a call's deadline and grace. */
const MARGIN_MS = 8000;

function jsonLines(stdout: string): Json[] {
  return stdout.trim().split("\n").map((line) => JSON.parse(line));
}

Deno.test("sessh --hosts runs on every host once and reports each under its own name", async (t) => {
  await using fleet = await startFleet(48);
  const { sshd, live, closed, blackout } = fleet;
  // 48 hosts' calls share 2 loaded cores with their sshds and daemons: give
  // connecting room, so that only the dead hosts fail. The blackout then
  // ends by its call's deadline rather than by ssh's ConnectTimeout.
  sshd.env.SESSH_CONNECT_TIMEOUT = COLD.SESSH_CONNECT_TIMEOUT;
  const all = `fan[01-${live.length + 2}]`;
  const lives = `fan[01-${live.length}]`;

  await t.step("open across the set", async () => {
    const r = await sessh(
      sshd,
      ["open", "fan", "--hosts", lives, "--parallel", "8", "--shell", "bash"],
      { env: COLD, timeoutMs: 300_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    for (const host of live) {
      assert.match(r.stdout, new RegExp(`^${host}: opened session fan`, "m"));
    }
  });

  await t.step(
    "a closed port and a blackout fail by their deadline; the 48 succeed",
    async () => {
      const started = performance.now();
      const r = await sessh(sshd, [
        "run",
        "fan",
        "--hosts",
        all,
        "--timeout",
        "15",
        "--",
        "echo at ${XDG_RUNTIME_DIR##*/}",
      ], { timeoutMs: 120_000 });
      const elapsed = performance.now() - started;
      assert.equal(r.code, 255, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines.length, live.length, r.stdout);
      for (const host of live) {
        assert.equal(
          lines.filter((l) => l === `${host}: at ${host}`).length,
          1,
          `${host}'s output once, under its name:\n${r.stdout}`,
        );
      }
      assert.match(
        r.stderr,
        new RegExp(`^sessh: ${closed}: .*Connection refused`, "m"),
      );
      assert.match(r.stderr, new RegExp(`^sessh: ${blackout}: `, "m"));
      assert.match(
        r.stderr,
        /^sessh: 50 hosts: 48 succeeded: fan\[01-48\]; (2 failed: fan\[49-50\]|1 failed: fan49; 1 timed out: fan50)$/m,
      );
      assert.ok(elapsed < 15_000 + 2000 + MARGIN_MS, `took ${elapsed} ms`);
    },
  );

  await t.step(
    "--json: one line per host, in the order they finish, then the summary",
    async () => {
      const r = await sessh(sshd, [
        "--json",
        "run",
        "fan",
        "--hosts",
        all,
        "--timeout",
        "10",
        "--",
        "echo $((6*7))",
      ], { timeoutMs: 120_000 });
      assert.equal(r.code, 255, r.stderr);
      const lines = jsonLines(r.stdout);
      const summary = lines.pop()!;
      assert.equal(lines.length, 50);
      // The blackout's result comes last: the others did not wait for it.
      assert.equal(lines.at(-1)!.host, blackout);
      for (const host of live) {
        const mine = lines.filter((l) => l.host === host);
        assert.equal(mine.length, 1, host);
        const [line] = mine;
        assert.equal(line.ok, true);
        assert.equal(line.exit_code, 0);
        assert.equal(line.output, "42\n");
        assert.equal(typeof line.command_id, "number");
        assert.equal(typeof line.duration_ms, "number");
      }
      const dead = lines.find((l) => l.host === closed)!;
      assert.equal(dead.ok, false);
      assert.equal((dead.error as Json).code, "connect_failed");
      assert.equal(lines.find((l) => l.host === blackout)!.ok, false);
      assert.equal(summary.ok, false);
      assert.equal(summary.op, "run");
      assert.equal(summary.hosts, 50);
      assert.equal((summary.succeeded as string[]).length, 48);
      assert.equal(summary.exit_code, 255);
    },
  );

  await t.step(
    "--group: hosts with the same output under one heading",
    async () => {
      const r = await sessh(
        sshd,
        ["run", "fan", "--hosts", lives, "--group", "--", "echo same"],
        { timeoutMs: 120_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        `${"-".repeat(16)}\nfan[01-48] (48)\n${"-".repeat(16)}\nsame\n`,
      );
      assert.match(r.stderr, /^sessh: 48 hosts: 48 succeeded: fan\[01-48\]$/m);
    },
  );

  await t.step("--hosts-file with ranges and comments", async () => {
    const file = `${sshd.dir}/hosts`;
    await Deno.writeTextFile(
      file,
      "# the first two\nfan[01-02]\n\nfan05  # and one more\n",
    );
    const r = await sessh(
      sshd,
      ["--json", "run", "fan", "--hosts-file", file, "--", "true"],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    lines.pop();
    assert.deepEqual(lines.map((l) => l.host).sort(), [
      "fan01",
      "fan02",
      "fan05",
    ]);
  });

  await t.step("the exit status is the worst host's", async () => {
    // fan01 exits 1, fan02 2, fan03 3: the highest is the status.
    const r = await sessh(sshd, [
      "run",
      "fan",
      "--hosts",
      "fan[01-03]",
      "--",
      "(exit $((${XDG_RUNTIME_DIR##*fan})))",
    ], { timeoutMs: 120_000 });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /^sessh: 3 hosts: 3 failed: fan\[01-03\]$/m);
    // A host still running at the deadline is 124, over any command's status.
    const slow = await sessh(sshd, [
      "run",
      "fan",
      "--hosts",
      "fan[01-03]",
      "--timeout",
      "2",
      "--",
      "if [ ${XDG_RUNTIME_DIR##*/} = fan01 ]; then sleep 4; else (exit 3); fi",
    ], { timeoutMs: 120_000 });
    assert.equal(slow.code, 124, slow.stderr);
    assert.match(slow.stderr, /2 failed: fan\[02-03\]; 1 timed out: fan01$/m);
  });

  await t.step(
    "wait --done, result, logs and status across the set",
    async () => {
      const wait = await sessh(
        sshd,
        ["wait", "fan", "--hosts", "fan[01-03]", "--done", "--timeout", "20"],
        { timeoutMs: 120_000 },
      );
      assert.equal(wait.code, 0, wait.stderr);
      const result = await sessh(
        sshd,
        ["--json", "result", "fan", "--hosts", "fan01"],
        { timeoutMs: 120_000 },
      );
      const [one] = jsonLines(result.stdout);
      assert.equal(one.host, "fan01");
      assert.equal(one.exit_code, 0);
      const logs = await sessh(
        sshd,
        ["logs", "fan", "--hosts", "fan[01-02]"],
        { timeoutMs: 120_000 },
      );
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, /^fan02: 42$/m);
      const status = await sessh(
        sshd,
        ["--json", "status", "fan", "--hosts", "fan[01-02]"],
        { timeoutMs: 120_000 },
      );
      assert.equal(status.code, 0, status.stderr);
      const states = jsonLines(status.stdout);
      assert.equal(states.pop()!.hosts, 2);
      assert.deepEqual(states.map((s) => (s.session as Json).name), [
        "fan",
        "fan",
      ]);
    },
  );

  await t.step("list --hosts prints one table with a HOST column", async () => {
    const r = await sessh(sshd, ["list", "--hosts", "fan[01-03]"], {
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split("\n");
    assert.match(rows[0], /^HOST\s+NAME\s+PID/);
    assert.deepEqual(rows.slice(1).map((row) => row.split(/\s+/)[0]).sort(), [
      "fan01",
      "fan02",
      "fan03",
    ]);
  });

  await t.step(
    "refusals: DEST with --hosts, --group without it, a bad range",
    async () => {
      const cases: [string[], RegExp][] = [
        [
          ["run", "fan", "fan01", "--hosts", "fan02", "--", "true"],
          /DEST "fan01" given together with --hosts/,
        ],
        [
          ["status", "fan", "fan01", "--group"],
          /--parallel and --group apply to a set of hosts/,
        ],
        [["status", "fan", "--hosts", "fan[1-"], /Unbalanced bracket/],
        [["status", "fan"], /No DEST given/],
      ];
      for (const [args, message] of cases) {
        const r = await sessh(sshd, args);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, message);
      }
    },
  );

  await t.step(
    "SesshFleet runs on many clients and yields each host's result",
    async () => {
      await using fleet = new SesshFleet(["fan01", "fan02", "fan03", closed], {
        ssh: { configFile: sshd.configFile },
        env: sshd.env,
        deadlineMs: 20_000,
      });
      const seen: Record<string, string> = {};
      for await (
        const r of fleet.run("fan", "echo lib ${XDG_RUNTIME_DIR##*/}")
      ) {
        assert.equal(seen[r.host], undefined, `${r.host} twice`);
        seen[r.host] = r.ok ? r.value.output : r.error.code;
      }
      assert.deepEqual(seen, {
        fan01: "lib fan01\n",
        fan02: "lib fan02\n",
        fan03: "lib fan03\n",
        [closed]: "connect_failed",
      });
      // The clients stay connected for the next call.
      const counts = [];
      for await (const r of fleet.each((client) => client.list())) {
        if (r.ok) counts.push(r.value.length);
      }
      assert.deepEqual(counts, [1, 1, 1]);
    },
  );

  await t.step(
    "MCP run with destinations: each checked, results per host",
    async () => {
      await using mcp = await connectMcp(sshd, ["--allow-host", "fan0*"]);
      const refused = await call(mcp, "run", {
        destinations: ["fan01", "fan10"],
        session: "fan",
        command: "true",
      });
      assert.match(refused.error ?? "", /"fan10" is not allowed here/);
      const r = await call(mcp, "run", {
        destinations: ["fan01", "fan02", "fan03"],
        session: "fan",
        command: "echo mcp ${XDG_RUNTIME_DIR##*/}",
        timeout_seconds: 20,
      });
      assert.equal(r.error, undefined, r.text);
      const results = r.results as Json[];
      assert.deepEqual(
        results.map((x) => [x.host, x.ok, x.exit_code, x.output]).sort(),
        [1, 2, 3].map((i) => [`fan0${i}`, true, 0, `mcp fan0${i}\n`]),
      );
      const summary = r.summary as Json;
      assert.equal(summary.ok, true);
      assert.equal(summary.exit_code, 0);
    },
  );

  await t.step("close across the set", async () => {
    const r = await sessh(sshd, ["close", "fan", "--hosts", lives], {
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, 48);
  });
});
