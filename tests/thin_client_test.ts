/**
 * The thin command line (`lib/cli/thin_client.ts`): with an agent running,
 * the calls it can run whole are run there, and print what the full
 * command line prints. Each test proves the thin path was taken by the
 * phases the call marks: only a call the agent ran marks `thin`.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { agentPidOf } from "./_probes.ts";
import { startFleet } from "./_fleet.ts";
import { cliArgv, type CliResult, sessh, startSessh } from "./_cli.ts";
import { agentFiles, newAgentKeys } from "../lib/transport/agent_protocol.ts";
import { runAgent } from "../lib/agent/server.ts";
import { runThinCall } from "../lib/cli/agent_call.ts";
import { PHASE_LINE_PREFIX } from "../lib/phases.ts";
import { parsePhaseLine, RUN_PHASES, THIN_PHASES } from "../bench/_phases.ts";
import { encodeRecord, RECORD } from "../lib/transport/thin_wire.ts";
import { lendInProcess, type LocalLender } from "../lib/transport/lease.ts";

const TRACE = { SESSH_TRACE_PHASES: "1" };

/**
 * The transport the agents of these tests listen on, read here and not
 * through the code under test.
 */
const listen = Deno.env.get("SESSH_AGENT_LISTEN") === "tcp" ? "tcp" : "unix";

/** The call's marks, and its stderr without the phase line. */
function traced(result: CliResult): CliResult & { marks: string[] } {
  const lines = result.stderr.split("\n");
  const line = lines.find((l) => l.startsWith(PHASE_LINE_PREFIX));
  assert.ok(line, `no phase line in ${JSON.stringify(result.stderr)}`);
  const marks = Object.keys(
    JSON.parse(line.slice(PHASE_LINE_PREFIX.length)).marks,
  );
  return {
    ...result,
    stderr: lines.filter((l) => l !== line).join("\n"),
    marks,
  };
}

/** Runs a call through the thin path, and fails if it went the full one. */
async function thin(
  sshd: TestSshd,
  args: string[],
  env: Record<string, string> = {},
) {
  const result = traced(
    await sessh(sshd, args, { env: { ...TRACE, ...env } }),
  );
  assert.ok(
    result.marks.includes("thin"),
    `${args.join(" ")} went the full path: ${result.marks}`,
  );
  return result;
}

/** Runs a call through the full path (the thin one turned off). */
async function full(
  sshd: TestSshd,
  args: string[],
  env: Record<string, string> = {},
) {
  const result = traced(
    await sessh(sshd, args, {
      env: { ...TRACE, SESSH_AGENT_THIN: "0", ...env },
    }),
  );
  assert.ok(!result.marks.includes("thin"), `${args.join(" ")} went thin`);
  return result;
}

/** Starts the fixture's agent with a first call, and waits until it answers. */
async function warm(sshd: TestSshd, name = "w"): Promise<void> {
  const first = await sessh(sshd, ["run", name, sshd.dest, "--", "true"]);
  assert.equal(first.code, 0, first.stderr);
  for (let i = 0; i < 100; i++) {
    // A thin call proves the agent is ready.
    const probe = traced(
      await sessh(sshd, ["status", name, sshd.dest], { env: TRACE }),
    );
    if (probe.marks.includes("thin")) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the agent did not start");
}

/** A `--json` object without the fields that differ from call to call. */
function steady(stdout: string): unknown {
  return stdout.trim().split("\n").map((line) => {
    const value = JSON.parse(line);
    for (
      const key of [
        "command_id",
        "cursor",
        "output_start",
        "duration_ms",
      ]
    ) delete value[key];
    return value;
  });
}

Deno.test("a thin call prints what the full command line prints", async (t) => {
  await using sshd = await startSshd();
  await warm(sshd);
  const d = sshd.dest;
  const same = async (
    args: string[],
    options: {
      json?: boolean;
      env?: Record<string, string>;
      /** Runs between the two calls (a command left running ends). */
      between?: string[];
      /** The agent declines it: both calls go the full path. */
      declined?: boolean;
      /** Its output holds times (`list`'s IDLE): compared without them. */
      timeless?: boolean;
    } = {},
  ) => {
    await t.step(args.join(" "), async () => {
      const a = options.declined
        ? await full(sshd, args, { ...options.env, SESSH_AGENT_THIN: "1" })
        : await thin(sshd, args, options.env);
      if (options.between) {
        const between = await thin(sshd, options.between);
        assert.equal(between.code, 0, between.stderr);
      }
      const b = await full(sshd, args, options.env);
      assert.equal(a.code, b.code, `${a.stderr} / ${b.stderr}`);
      // A cursor differs from call to call.
      const cursorless = (text: string) =>
        text.replaceAll(/--since \d+/g, "--since N");
      assert.equal(cursorless(a.stderr), cursorless(b.stderr));
      if (options.json) assert.deepEqual(steady(a.stdout), steady(b.stdout));
      else if (options.timeless) {
        // A longer time widens its column: spaces are compared as one.
        const untimed = (text: string) =>
          text.replaceAll(/\d+/g, "N").replaceAll(/ +/g, " ");
        assert.equal(untimed(a.stdout), untimed(b.stdout));
      } else assert.equal(a.stdout, b.stdout);
    });
  };
  await same(["run", "w", d, "--", "printf", "'a\\nb\\n'"]);
  await same(["run", "w", d, "--", "sh", "-c", "'exit 3'"]);
  await same(["--json", "run", "w", d, "--", "echo", "hi"], { json: true });
  await same(["run", "--json", "w", d, "--", "false"], { json: true });
  await same(["status", "nope", d]);
  await same(["--json", "status", "nope", d], { json: true });
  await same(["screen", "w", d, "5"]);
  await same(["pane", "w", d]);
  await same(["logs", "w", d, "4"]);
  await same(["list", d], { timeless: true });
  await same(["wait", "w", d, "--for", "never-printed", "--timeout", "1"]);
  const done = ["wait", "w", d, "--done", "--timeout", "10"];
  await same(["run", "w", d, "--timeout", "1", "--", "sleep", "2"], {
    between: done,
  });
  // The sleep above still runs: a run is refused as busy.
  await same(["--json", "run", "w", d, "--", "true"], { json: true });
  await same(["keys", "w", d, "--", "C-c"]);
  await same(done);
  await same(["send", "w", d, "--enter", "--", "echo", "sent"]);
  await same(["run", "w", d, "-i", "/nonexistent/key", "--", "true"]);
  // A fan-out runs whole in the agent, each host on a bridge it lends
  // itself; a set given in a file is the full path's.
  await same(["run", "w", "--hosts", d, "--", "echo", "fan"]);
  await same(["run", "w", "--hosts", d, "--group", "--", "echo", "fan"]);
  await same(["--json", "run", "w", "--hosts", d, "--", "echo", "fan"], {
    json: true,
  });
  await same(["status", "w", "--hosts", d]);
  await same(["logs", "w", "--hosts", d]);
  await same(["wait", "w", "--hosts", d, "--done", "--timeout", "10"]);
  await same(["list", "--hosts", d], { timeless: true });
  await same(["run", "w", d, "--max-output", "x", "--", "true"], {
    declined: true,
  });
  // Copies run in the agent too (`thin_copy_test`).
  await same(["cp", "/nonexistent", `${d}:x`]);
  await same(["cp", "-r", "/nonexistent", `${d}:x`]);
});

Deno.test("a thin call runs with the caller's environment, not the agent's", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  await thin(sshd, ["run", "w", sshd.dest, "--", "seq", "1", "5"]);
  // The agent was started without these: only the caller has them.
  const lines = await thin(sshd, ["logs", "w", sshd.dest], {
    SESSH_LOG_LINES_DEFAULT: "2",
  });
  assert.equal(lines.code, 0, lines.stderr);
  assert.equal(lines.stdout.trimEnd().split("\n").length, 2, lines.stdout);
  const late = await thin(sshd, ["run", "w", sshd.dest, "--", "sleep", "3"], {
    SESSH_TIMEOUT: "1",
  });
  assert.equal(late.code, 124, late.stderr);
  const json = await thin(sshd, ["status", "w", sshd.dest], {
    SESSH_JSON: "1",
  });
  assert.equal(JSON.parse(json.stdout).ok, true, json.stdout);
  // Read where the connection's settings are: not in the handler's words.
  const ssh = await thin(sshd, ["status", "w", sshd.dest], {
    SESSH_SSH: "bogus",
  });
  assert.equal(ssh.code, 2, ssh.stderr);
  assert.match(ssh.stderr, /SESSH_SSH "bogus" is not supported/);
});

Deno.test("a warm call reads -F relative to the caller's directory, thin or leased", async (t) => {
  await using sshd = await startSshd();
  await warm(sshd);
  // The agent runs in the directory of the call that started it, not this
  // one; the leased call's -F names a new pool entry, so the agent starts
  // ssh for it.
  const config = sshd.configFile.split("/").at(-1)!;
  const dir = sshd.configFile.slice(0, -config.length - 1);
  for (
    const [path, mark, thinEnv] of [["thin", "thin", "1"], [
      "leased",
      "lent",
      "0",
    ]]
  ) {
    await t.step(path, async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: cliArgv(sshd, [
          "run",
          "w",
          sshd.dest,
          "-F",
          config,
          "--",
          "echo",
          `from-relative-${path}`,
        ], false),
        cwd: dir,
        env: { ...sshd.env, ...TRACE, SESSH_AGENT_THIN: thinEnv },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const result = traced({
        code: out.code,
        stdout: new TextDecoder().decode(out.stdout),
        bytes: out.stdout,
        stderr: new TextDecoder().decode(out.stderr),
      });
      assert.ok(result.marks.includes(mark), `${result.marks}`);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, `from-relative-${path}\n`);
    });
  }
});

Deno.test("thin calls at once each get their own output", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  const names = ["a", "b", "c", "d"];
  for (const name of names) {
    const opened = await thin(sshd, ["run", name, sshd.dest, "--", "true"]);
    assert.equal(opened.code, 0, opened.stderr);
  }
  const results = await Promise.all(
    names.map((name) =>
      thin(sshd, [
        "run",
        name,
        sshd.dest,
        "--",
        "sleep",
        "0.3;",
        "echo",
        `out-${name};`,
        "sh",
        "-c",
        `'exit ${names.indexOf(name) + 1}'`,
      ])
    ),
  );
  results.forEach((result, i) => {
    assert.equal(result.stdout, `out-${names[i]}\n`);
    assert.equal(result.code, i + 1, result.stderr);
  });
});

Deno.test("a thin call stopped by Ctrl-C exits 130 and leaves its command running", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgv(sshd, [
      "run",
      "w",
      sshd.dest,
      "--",
      "sleep",
      "2;",
      "echo",
      "finished",
    ], true),
    // As the call below: the same variables, the same pool of bridges.
    env: { ...sshd.env, ...TRACE },
    stdout: "null",
    stderr: "null",
  }).spawn();
  await new Promise((resolve) => setTimeout(resolve, 400));
  child.kill("SIGINT");
  const status = await child.status;
  assert.equal(status.code, 130);
  // The agent stopped waiting for it, and took its bridge back: the next
  // call is lent the same one, not told it is busy.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const log = agentFiles(sshd.controlDir, listen).log;
  const before = await Deno.readTextFile(log);
  const next = await thin(sshd, ["status", "w", sshd.dest]);
  assert.equal(next.code, 0, next.stderr);
  const added = (await Deno.readTextFile(log)).slice(before.length);
  assert.doesNotMatch(added, /is busy/);
  // The agent abandoned the call, not the command, and serves on.
  const done = await thin(sshd, ["wait", "w", sshd.dest, "--done"]);
  assert.equal(done.code, 0, done.stderr);
  const logs = await thin(sshd, ["logs", "w", sshd.dest, "3"]);
  assert.match(logs.stdout, /^finished$/m);
});

Deno.test("a thin logs --follow prints output as it comes, and Ctrl-C ends it with 0", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  const d = sshd.dest;
  const before = await thin(sshd, [
    "run",
    "w",
    d,
    "--",
    "echo",
    "old-$((6*7))",
  ]);
  assert.equal(before.code, 0, before.stderr);
  const follower = startSessh(sshd, ["logs", "w", d, "--follow"], TRACE);
  await follower.until(/^old-42$/m);
  const live = await thin(sshd, ["run", "w", d, "--", "echo", "new-$((6*7))"]);
  assert.equal(live.code, 0, live.stderr);
  await follower.until(/^new-42$/m);
  follower.child.kill("SIGINT");
  const result = traced({
    ...await follower.finish(),
    stdout: "",
    bytes: new Uint8Array(),
  });
  assert.equal(result.code, 0, result.stderr);
  assert.ok(
    result.marks.includes("thin"),
    `went the full path: ${result.marks}`,
  );
  assert.equal(result.stderr.trim(), "");
});

Deno.test("a thin logs --follow --json stopped by Ctrl-C ends with the full one's last line", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  const d = sshd.dest;
  const mark = await thin(sshd, ["run", "w", d, "--", "echo", "m-$((6*7))"]);
  assert.equal(mark.code, 0, mark.stderr);
  const ended: { code: number; marks: string[]; last: string }[] = [];
  for (const env of [TRACE, { ...TRACE, SESSH_AGENT_THIN: "0" }]) {
    const follower = startSessh(
      sshd,
      ["--json", "logs", "w", d, "--follow"],
      env,
    );
    await follower.until(/m-42/);
    // Stopped once it follows live: Ctrl-C before that ends the command
    // line's own call at once (its listener comes with the follow).
    const live = await thin(sshd, ["run", "w", d, "--", "echo", "n-$((6*7))"]);
    assert.equal(live.code, 0, live.stderr);
    await follower.until(/n-42/);
    follower.child.kill("SIGINT");
    // What it prints once stopped: the outcome, as one JSON line.
    await follower.until(/"op":"logs"/);
    const last = follower.printed().trim().split("\n").at(-1)!;
    const result = traced({
      ...await follower.finish(),
      stdout: "",
      bytes: new Uint8Array(),
    });
    ended.push({ code: result.code, marks: result.marks, last });
  }
  const [thinEnd, fullEnd] = ended;
  assert.ok(
    thinEnd.marks.includes("thin"),
    `went the full path: ${thinEnd.marks}`,
  );
  assert.ok(!fullEnd.marks.includes("thin"));
  assert.equal(thinEnd.code, fullEnd.code);
  assert.equal(thinEnd.code, 0);
  assert.deepEqual(JSON.parse(thinEnd.last), JSON.parse(fullEnd.last));
});

Deno.test("a thin fan-out stopped by Ctrl-C starts no host it had not started", async () => {
  await using fleet = await startFleet(2);
  const { sshd } = fleet;
  await warm(sshd);
  const hosts = fleet.live.join(",");
  const warmed = await thin(sshd, ["run", "w", "--hosts", hosts, "--", "true"]);
  assert.equal(warmed.code, 0, warmed.stderr);
  // Each host that runs the command adds a line; the first sleeps on.
  const ran = `${sshd.dir}/ran`;
  await Deno.writeTextFile(ran, "");
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgv(sshd, [
      "run",
      "w",
      "--hosts",
      hosts,
      "--parallel",
      "1",
      "--",
      "echo",
      "ran",
      ">>",
      `${ran};`,
      "sleep",
      "2",
    ], true),
    env: { ...sshd.env, ...TRACE },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const lines = async () =>
    (await Deno.readTextFile(ran)).split("\n").filter(Boolean).length;
  for (let i = 0; await lines() === 0; i++) {
    assert.ok(i < 300, "the first host never ran the command");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill("SIGINT");
  assert.equal((await child.status).code, 130);
  // Once the first host's command is done, the second would long have
  // had its line had the agent gone on with the fan-out.
  const done = await thin(sshd, ["wait", "w", fleet.live[0], "--done"]);
  assert.equal(done.code, 0, done.stderr);
  assert.equal(await lines(), 1);
});

Deno.test("a thin call borrows its agent's bridge in the agent's own process, not over its socket", async () => {
  await using sshd = await startSshd();
  await Deno.mkdir(sshd.controlDir, { recursive: true, mode: 0o700 });
  const files = agentFiles(sshd.controlDir, listen);
  const endpoint = listen === "tcp" ? files.port : files.socket;
  // The agent runs here; its second call finds its endpoint gone, so a
  // lease over the socket would find no agent and go its own way.
  let calls = 0;
  const serving = runAgent({
    controlDir: sshd.controlDir,
    idleMs: 60_000,
    runCall: (call, io) => {
      if (++calls === 2) Deno.removeSync(endpoint);
      return runThinCall(call, io);
    },
  });
  for (let i = 0; i < 100; i++) {
    try {
      Deno.statSync(endpoint);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const opened = await thin(sshd, ["run", "w", sshd.dest, "--", "true"]);
  assert.equal(opened.code, 0, opened.stderr);
  const result = await thin(sshd, ["--json", "status", "w", sshd.dest]);
  assert.equal(result.code, 0, result.stderr);
  const path = JSON.parse(result.stdout).path;
  assert.equal(path.warm, true, JSON.stringify(path));
  assert.equal(path.agent_pid, Deno.pid);
  assert.equal(await serving, true);
});

Deno.test("a thin call of a command that prints nothing gets no output record, only its exit code", async () => {
  await using sshd = await startSshd();
  await Deno.mkdir(sshd.controlDir, { recursive: true, mode: 0o700 });
  const files = agentFiles(sshd.controlDir, listen);
  const endpoint = listen === "tcp" ? files.port : files.socket;
  const sent: [number, number][] = [];
  const serving = runAgent({
    controlDir: sshd.controlDir,
    idleMs: 60_000,
    runCall: (call, io) =>
      runThinCall(call, {
        ...io,
        send: (kind, bytes) => {
          sent.push([kind, bytes.length]);
          return io.send(kind, bytes);
        },
      }),
  });
  for (let i = 0; i < 100; i++) {
    try {
      Deno.statSync(endpoint);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const result = await thin(sshd, ["run", "w", sshd.dest, "--", "true"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "");
  const output = sent.filter(([kind]) =>
    kind === RECORD.stdout || kind === RECORD.stderr
  );
  assert.deepEqual(output, []);
  // Its deadline is all the runner sent: the exit code is the agent's own.
  assert.deepEqual(sent.map(([kind]) => kind), [RECORD.deadline]);
  // Its endpoint gone, the agent retires.
  Deno.removeSync(endpoint);
  assert.equal(await serving, true);
});

Deno.test("a thin call's exit code goes before its connection's release is done", async () => {
  await using sshd = await startSshd();
  await Deno.mkdir(sshd.controlDir, { recursive: true, mode: 0o700 });
  const files = agentFiles(sshd.controlDir, listen);
  const endpoint = listen === "tcp" ? files.port : files.socket;
  const order: string[] = [];
  let open = () => {};
  const gate = new Promise<void>((resolve) => open = resolve);
  let released = () => {};
  const releaseDone = new Promise<void>((resolve) => released = resolve);
  const serving = runAgent({
    controlDir: sshd.controlDir,
    idleMs: 60_000,
    runCall: async (call, io) => {
      const code = await runThinCall(call, io);
      // The agent sends the code once this returns: the release, held
      // until then, is still under way.
      order.push("code");
      open();
      return code;
    },
  });
  for (let i = 0; i < 100; i++) {
    try {
      Deno.statSync(endpoint);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  // The agent's own lender, its lease's release held at the gate: the
  // connection's close waits for its reader's cancel.
  const agentLender = lendInProcess(null) as LocalLender;
  const holding: LocalLender = async (dir, request) => {
    const leased = await agentLender(dir, request);
    if (!leased) return leased;
    const { reader } = leased.channel;
    const channel = {
      ...leased.channel,
      reader: {
        read: () => reader.read(),
        cancel: async (reason?: unknown) => {
          order.push("release started");
          await gate;
          await reader.cancel(reason);
          order.push("release done");
          released();
        },
      },
    };
    return { ...leased, channel };
  };
  lendInProcess(holding);
  try {
    // Without the code going first the call waits for its release, which
    // waits for the code: the client is killed by our deadline, far short
    // of the call's own.
    const result = await sessh(
      sshd,
      ["run", "w", sshd.dest, "--timeout", "600", "--", "true"],
      { timeoutMs: 30_000 },
    );
    assert.equal(result.code, 0, result.stderr);
    await releaseDone;
    assert.deepEqual(order, ["release started", "code", "release done"]);
  } finally {
    lendInProcess(null, holding);
    open();
    Deno.removeSync(endpoint);
    assert.equal(await serving, true);
  }
});

Deno.test("a thin call is declined by an agent of another version, and runs in full", async () => {
  await using sshd = await startSshd();
  await Deno.mkdir(sshd.controlDir, { recursive: true, mode: 0o700 });
  const serving = runAgent({
    controlDir: sshd.controlDir,
    version: "0/0/other",
    idleMs: 60_000,
    runCall: runThinCall,
  });
  const files = agentFiles(sshd.controlDir, listen);
  for (let i = 0; i < 100; i++) {
    try {
      Deno.statSync(listen === "tcp" ? files.port : files.socket);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const result = traced(
    await sessh(sshd, ["run", "w", sshd.dest, "--", "echo", "ok"], {
      env: TRACE,
    }),
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "ok\n");
  assert.ok(!result.marks.includes("thin"), `${result.marks}`);
  // The full path's lease retired the outdated agent.
  assert.equal(await serving, true);
});

Deno.test("a thin client gives up on an agent that goes silent, by the call's deadline", async () => {
  await using sshd = await startSshd();
  await Deno.mkdir(sshd.controlDir, { recursive: true, mode: 0o700 });
  const files = agentFiles(sshd.controlDir, listen);
  const { keys, text } = newAgentKeys();
  await Deno.writeTextFile(files.token, text, { mode: 0o600 });
  let listener: Deno.Listener;
  if (listen === "tcp") {
    listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    await Deno.writeTextFile(files.port, `${port}\n`, { mode: 0o600 });
  } else {
    listener = Deno.listen({ transport: "unix", path: files.socket });
    await Deno.chmod(files.socket, 0o600);
  }
  const held: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      held.push(conn);
      const key = new Uint8Array(36);
      let got = 0;
      while (got < 36) got += (await conn.read(key.subarray(got))) ?? 36;
      await conn.write(new TextEncoder().encode(keys.agent));
      const deadline = new Uint8Array(4);
      new DataView(deadline.buffer).setUint32(0, 200);
      // Says the call has a deadline of 200 ms, then nothing more.
      await conn.write(encodeRecord(RECORD.deadline, deadline));
    }
  })().catch(() => {});
  const started = Date.now();
  const result = await sessh(sshd, [
    "run",
    "w",
    sshd.dest,
    "--",
    "true",
  ], { timeoutMs: 20_000 });
  const took = Date.now() - started;
  listener.close();
  for (const conn of held) conn.close();
  await serving;
  assert.equal(result.code, 124, result.stderr);
  assert.match(result.stderr, /did not end the call by its deadline/);
  assert.ok(took < 10_000, `took ${took} ms`);
});

Deno.test("a thin client gives up on an agent that reads nothing, however large its call", async () => {
  await using sshd = await startSshd();
  await Deno.mkdir(sshd.controlDir, { recursive: true, mode: 0o700 });
  const files = agentFiles(sshd.controlDir, listen);
  const { text } = newAgentKeys();
  await Deno.writeTextFile(files.token, text, { mode: 0o600 });
  let listener: Deno.Listener;
  if (listen === "tcp") {
    listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    await Deno.writeTextFile(files.port, `${port}\n`, { mode: 0o600 });
  } else {
    listener = Deno.listen({ transport: "unix", path: files.socket });
    await Deno.chmod(files.socket, 0o600);
  }
  // A frozen agent: its connections are accepted (by the kernel) and never
  // read, so a call larger than the socket's buffer cannot be written whole.
  const held: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  // The call sends its environment: 1.2 MB of it.
  const env: Record<string, string> = {};
  for (let i = 0; i < 12; i++) {
    env[`SESSH_TEST_FILL_${i}`] = "x".repeat(100_000);
  }
  const result = await sessh(sshd, ["run", "w", sshd.dest, "--", "true"], {
    env,
    timeoutMs: 60_000,
  });
  listener.close();
  for (const conn of held) conn.close();
  await serving;
  // Given up on by its deadline (not killed by ours): the full path then
  // finds the agent frozen too, and says so.
  assert.match(result.stderr, /local sessh agent .* did not answer within/);
  assert.equal(result.code, 255, result.stderr);
});

Deno.test("a thin call whose agent is killed mid-call says the connection was lost", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  const pid = await agentPidOf(sshd, "w");
  const call = sessh(sshd, [
    "--json",
    "run",
    "w",
    sshd.dest,
    "--timeout",
    "20",
    "--",
    "read _; echo mid",
  ], { env: TRACE });
  for (let i = 0; i < 100; i++) {
    const status = await sessh(sshd, ["--json", "status", "w", sshd.dest], {
      env: { SESSH_AGENT: "0" },
    });
    if (JSON.parse(status.stdout).session?.running) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  Deno.kill(pid, "SIGKILL");
  const result = await call;
  assert.equal(result.code, 255, result.stdout);
  const error = JSON.parse(result.stdout).error;
  assert.equal(error.code, "connection_lost");
  assert.equal(error.sent, "unknown");
  const go = await sessh(sshd, ["send", "w", sshd.dest, "--enter", "--", "go"]);
  assert.equal(go.code, 0, go.stderr);
  const done = await sessh(sshd, ["wait", "w", sshd.dest, "--done"]);
  assert.equal(done.code, 0, done.stderr);
});

Deno.test("a warm call marks every moment the bench splits it at, in order", async (t) => {
  await using sshd = await startSshd();
  await warm(sshd);
  const run = ["run", "w", sshd.dest, "--", "true"];
  for (
    const [form, phases, env] of [
      ["thin", THIN_PHASES, {}],
      ["full", RUN_PHASES, { SESSH_AGENT_THIN: "0" }],
    ] as const
  ) {
    await t.step(form, async () => {
      const result = await sessh(sshd, run, { env: { ...TRACE, ...env } });
      assert.equal(result.code, 0, result.stderr);
      const { marks } = parsePhaseLine(result.stderr);
      // The bench's own moments: the spawn, the runtime's origin, the end.
      const at = (mark: string) =>
        mark === "spawn"
          ? -Infinity
          : mark === "origin"
          ? 0
          : mark === "end"
          ? Infinity
          : marks[mark];
      for (const phase of phases) {
        const [from, to] = [at(phase.from), at(phase.to)];
        assert.ok(from !== undefined, `no "${phase.from}" in ${form} marks`);
        assert.ok(to !== undefined, `no "${phase.to}" in ${form} marks`);
        assert.ok(from <= to, `${phase.key}: ${phase.from} after ${phase.to}`);
      }
    });
  }
});

Deno.test("a thin call whose reader goes away exits 141, as the full one does", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  const argv = cliArgv(sshd, [
    "run",
    "w",
    sshd.dest,
    "--",
    "seq",
    "1",
    "300000",
  ], true);
  const quoted = [Deno.execPath(), ...argv].map((word) => `'${word}'`).join(
    " ",
  );
  for (const thin of ["1", "0"]) {
    const out = await new Deno.Command("bash", {
      args: ["-c", `set -o pipefail; ${quoted} | head -n 1`],
      env: { ...sshd.env, ...TRACE, SESSH_AGENT_THIN: thin },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.match(new TextDecoder().decode(out.stdout), /^\d+\n$/);
    const stderr = new TextDecoder().decode(out.stderr);
    // It ended before the exit code came: the agent reached, no handler here.
    assert.equal(stderr.includes('"agent":'), thin === "1", stderr);
    assert.equal(stderr.includes('"handler":'), thin === "0", stderr);
    assert.equal(
      out.code,
      141,
      `SESSH_AGENT_THIN=${thin}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
});
