/**
 * No call waits without a deadline on a local agent that does not take
 * it, and a reader that stops reading makes the agent hold neither memory
 * without bound nor its bridges: real sshd, real agent, real frozen
 * processes (SIGSTOP), and readers that do not read.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import {
  type CliResult,
  cursorNow,
  openBuffered,
  sessh,
  startFollowRaw,
  startUnread,
} from "./_cli.ts";
import { agentFiles, parsePort } from "../lib/transport/agent_files.ts";
import { PHASE_LINE_PREFIX } from "../lib/phases.ts";

const TRACE = { SESSH_TRACE_PHASES: "1" };

/** The phases a call marked: only a call the agent ran marks `thin`. */
function marks(result: CliResult): string[] {
  const line = result.stderr.split("\n").find((l) =>
    l.startsWith(PHASE_LINE_PREFIX)
  );
  assert.ok(line, `no phase line in ${JSON.stringify(result.stderr)}`);
  return Object.keys(JSON.parse(line.slice(PHASE_LINE_PREFIX.length)).marks);
}

/**
 * Starts the fixture's agent with a first call, waits until it runs thin
 * calls, and returns its pid.
 */
async function warmAgent(
  sshd: TestSshd,
  env: Record<string, string>,
): Promise<number> {
  const first = await sessh(sshd, ["run", "w", sshd.dest, "--", "true"], {
    env,
  });
  assert.equal(first.code, 0, first.stderr);
  for (let i = 0; i < 100; i++) {
    const probe = await sessh(sshd, ["--json", "status", "w", sshd.dest], {
      env: { ...env, ...TRACE },
    });
    if (marks(probe).includes("thin")) {
      return JSON.parse(probe.stdout).path.agent_pid;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the agent did not start");
}

/**
 * Fills the listen backlog of a frozen agent: connections until the kernel
 * takes no more. A Unix connect then fails at once (EAGAIN); a TCP SYN is
 * dropped, so a connect would wait out its retries.
 */
async function fillBacklog(
  sshd: TestSshd,
  listen: "unix" | "tcp",
): Promise<Deno.Conn[]> {
  const files = agentFiles(sshd.controlDir, listen);
  const held: Deno.Conn[] = [];
  if (listen === "unix") {
    for (let i = 0; i < 100_000; i++) {
      try {
        held.push(
          await Deno.connect({ transport: "unix", path: files.socket }),
        );
      } catch (error) {
        assert.ok(error instanceof Deno.errors.WouldBlock, String(error));
        return held;
      }
    }
    throw new Error("the agent's backlog never filled");
  }
  const port = parsePort(await Deno.readTextFile(files.port));
  assert.ok(port !== null);
  // The queue's length and bound, as the kernel reports them: Linux takes
  // one connection past the bound, then drops SYNs.
  const queue = async () => {
    const out = await new Deno.Command("ss", {
      args: ["-Hltn", `sport = :${port}`],
    }).output();
    const [, length, bound] = new TextDecoder().decode(out.stdout).trim()
      .split(/\s+/).map(Number);
    return { length, bound };
  };
  const { bound } = await queue();
  assert.ok(bound > 0);
  while ((await queue()).length <= bound) {
    held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
  }
  return held;
}

for (const listen of ["unix", "tcp"] as const) {
  Deno.test(
    `a call to a frozen agent with a full backlog (${listen}) ends by a deadline`,
    {
      ignore: Deno.build.os !== "linux",
    },
    async () => {
      await using sshd = await startSshd();
      const env = { SESSH_AGENT_LISTEN: listen, SESSH_CONNECT_TIMEOUT: "2" };
      const agent = await warmAgent(sshd, env);
      Deno.kill(agent, "SIGSTOP");
      let held: Deno.Conn[] = [];
      try {
        held = await fillBacklog(sshd, listen);
        const result = await sessh(
          sshd,
          ["run", "w", sshd.dest, "--", "echo", "ok"],
          // Shorter than the kernel's SYN retries (127 s), far longer than
          // the call's own deadlines (5 s for the thin client, then the
          // connect timeout and 0.5 s).
          { env: { ...env, ...TRACE }, timeoutMs: 60_000 },
        );
        if (listen === "unix") {
          // Refused at once: nothing was sent, so the call goes its own way.
          assert.equal(result.code, 0, result.stderr);
          assert.equal(result.stdout.replaceAll("\r", ""), "ok\n");
        } else {
          // Never taken: the agent counts as silent, and the call says so.
          assert.equal(result.code, 255, result.stderr);
          assert.match(
            result.stderr,
            /local sessh agent .* did not take the connection within \d+ ms \(it is stopped or stuck\); nothing was sent/,
          );
        }
        assert.ok(!marks(result).includes("thin"), result.stderr);
      } finally {
        Deno.kill(agent, "SIGKILL");
        for (const conn of held) conn.close();
      }
    },
  );
}

/** Where the test run's agents listen, read here and not by the code under test. */
const LISTEN = Deno.env.get("SESSH_AGENT_LISTEN") === "tcp" ? "tcp" : "unix";

/** What the agent's log gained since `from` bytes. */
function logSince(sshd: TestSshd, from: number): string {
  const log = agentFiles(sshd.controlDir, LISTEN).log;
  return new TextDecoder().decode(Deno.readFileSync(log).subarray(from));
}

/** The agent's log's length now. */
function logLength(sshd: TestSshd): number {
  return Deno.statSync(agentFiles(sshd.controlDir, LISTEN).log).size;
}

/** The numbers `seq` printed, one a line, without the prompt's lines. */
function numbers(text: string): number[] {
  return [...text.replaceAll("\r", "").matchAll(/^(\d+)$/gm)].map((m) =>
    Number(m[1])
  );
}

Deno.test("a call whose reader stops gives the agent's bridge back before its output, and its reader gets all", async () => {
  await using sshd = await startSshd();
  await warmAgent(sshd, {});
  // The full path (a thin run keeps 100 KiB at most): it holds a lease on
  // the agent's bridge, and 0.6 MB of output more than its pipe holds.
  await using call = startUnread(sshd, [
    "run",
    "w",
    sshd.dest,
    "--max-output",
    "4M",
    "--",
    "seq",
    "1",
    "100000",
  ], { env: { ...TRACE, SESSH_AGENT_THIN: "0" } });
  const first = await call.first();
  // Its output has begun, its reader reads no more: other calls to the
  // same destination, with the same environment (it keys the pool),
  // find the agent's one bridge free again once its reset is done (each
  // call that finds it lent logs so, and opens a second bridge).
  let free = false;
  for (let i = 0; i < 50 && !free; i++) {
    const from = logLength(sshd);
    const other = await sessh(sshd, ["--json", "status", "w", sshd.dest], {
      env: { ...TRACE, SESSH_AGENT_THIN: "0" },
    });
    assert.equal(other.code, 0, other.stderr);
    assert.equal(JSON.parse(other.stdout).path.warm, true, other.stdout);
    free = !/is busy \(lent\)/.test(logSince(sshd, from));
    if (!free) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(free, "the stopped call still holds the agent's bridge");
  const result = await call.rest();
  assert.equal(result.code, 0, result.stderr);
  const seen = numbers(new TextDecoder().decode(first) + result.stdout);
  assert.equal(seen.length, 100_000, "every line, once");
  assert.equal(seen.findIndex((n, i) => n !== i + 1), -1);
});

Deno.test("a thin call whose reader stops past its deadline still gets all of its output", async () => {
  await using sshd = await startSshd();
  await warmAgent(sshd, {});
  const lines = 300_000;
  const open = await sessh(sshd, [
    "open",
    "big",
    sshd.dest,
    "--buffer-size",
    "8M",
  ]);
  assert.equal(open.code, 0, open.stderr);
  const cursor = await cursorNow(sshd, "big");
  const made = await sessh(sshd, [
    "run",
    "big",
    sshd.dest,
    "--",
    `seq 1 ${lines}`,
  ]);
  assert.equal(made.code, 0, made.stderr);
  // 2 MB of output: more than a record, the socket and the pipe hold, so
  // the agent sends the rest as the client reads it.
  await using call = startUnread(sshd, [
    "wait",
    "big",
    sshd.dest,
    "--done",
    "--since",
    cursor,
    "--timeout",
    "2",
    "--max-output",
    "4M",
  ], { env: TRACE });
  // Its deadline is 2 s, the client's 3 s more: the reader waits past
  // both before it reads a byte.
  await new Promise((resolve) => setTimeout(resolve, 8000));
  const result = await call.rest();
  assert.equal(result.code, 0, result.stderr);
  assert.ok(marks(result).includes("thin"), result.stderr);
  const seen = numbers(result.stdout);
  assert.equal(seen.length, lines, "every line, once");
  assert.equal(seen.findIndex((n, i) => n !== i + 1), -1);
});

/**
 * What the agent may hold of a 40 MB flood that a stopped reader follows or
 * reads back: under a third of it.
 */
const HELD = 12 * 1024 * 1024;

/** Every line of the flood once, in order. */
function assertFlood(text: string, lines: number): void {
  const seen = [...text.replaceAll("\r\n", "\n").matchAll(/^n(\d+)$/gm)]
    .map((m) => Number(m[1]));
  assert.equal(seen.length, lines, "every line, once");
  assert.equal(seen.findIndex((n, i) => n !== i + 1), -1);
}

/** The resident memory of process `pid`, in bytes (Linux). */
function rss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = status.match(/^VmRSS:\s+(\d+) kB$/m)?.[1];
  assert.ok(kb, status);
  return Number(kb) * 1024;
}

Deno.test(
  "logs --follow --raw held by a stopped reader: the agent stays small, other calls go on, and nothing is lost",
  {
    ignore: Deno.build.os !== "linux",
  },
  async () => {
    await using sshd = await startSshd();
    const agent = await warmAgent(sshd, {});
    const lines = 4_000_000;
    await openBuffered(sshd, "s", "64M");
    const cursor = await cursorNow(sshd, "s");
    // The follow goes through the agent (its bridge, lent over its socket),
    // and its reader reads nothing until the flood is over.
    await using follow = startFollowRaw(sshd, "s", cursor, {
      env: TRACE,
    });
    const base = rss(agent);
    // 40 MB, all of it kept by the session's buffer: none is skipped.
    // Not through the agent: what it holds is the follow's alone.
    const flood = await sessh(sshd, [
      "run",
      "s",
      sshd.dest,
      "--timeout",
      "120",
      "--",
      `seq 1 ${lines} | sed 's/^/n/'; echo flood-over`,
    ], { env: { SESSH_AGENT: "0" } });
    assert.equal(flood.code, 0, flood.stderr);
    // Whatever the agent would take of the flood, it has had the time.
    let most = 0;
    for (let i = 0; i < 20; i++) {
      most = Math.max(most, rss(agent));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The follow holds its bridge; other calls, to the same destination
    // and session, are answered meanwhile.
    const other = await sessh(
      sshd,
      ["run", "t", sshd.dest, "--", "echo ok"],
      {
        env: TRACE,
      },
    );
    assert.equal(other.code, 0, other.stderr);
    assert.ok(marks(other).includes("thin"), other.stderr);
    assert.equal(other.stdout.replaceAll("\r", ""), "ok\n");
    const status = await sessh(sshd, ["--json", "status", "s", sshd.dest]);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).path.agent_pid, agent);
    // The agent holds a few buffers of the follow, not the flood (it
    // took all of it, 40 MB, when its bridge did not wait on the call's
    // socket).
    const grew = most - base;
    assert.ok(grew < HELD, `the agent grew by ${grew} bytes`);
    // The reader reads on: every line, once, in order.
    const text = await follow.until("flood-over");
    follow.kill();
    assertFlood(text, lines);
    // The same bytes read back by a thin `logs --raw`, which streams
    // them through the agent's in-process link to the bridge
    // (`LocalLink`): its reader stops too. A first, short one (of the
    // other session) loads that code in the agent.
    const short = await sessh(sshd, ["logs", "t", sshd.dest, "--raw"]);
    assert.equal(short.code, 0, short.stderr);
    await using readBack = startUnread(sshd, [
      "logs",
      "s",
      sshd.dest,
      "--raw",
      "--since",
      cursor,
    ], { env: TRACE });
    const baseBack = rss(agent);
    const first = await readBack.first();
    let mostBack = 0;
    for (let i = 0; i < 20; i++) {
      mostBack = Math.max(mostBack, rss(agent));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const grewBack = mostBack - baseBack;
    // A few of its parts (frames of up to 1 MiB, some kept for reuse):
    // 6 MB where, when the handler did not wait on the client, the
    // agent took the flood twice over.
    assert.ok(grewBack < HELD, `the agent grew by ${grewBack} bytes`);
    const rest = await readBack.rest();
    assert.equal(rest.code, 0, rest.stderr);
    assert.ok(marks(rest).includes("thin"), rest.stderr);
    assertFlood(new TextDecoder().decode(first) + rest.stdout, lines);
  },
);
