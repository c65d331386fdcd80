/**
 * No call waits without a deadline on a local agent that does not take
 * it, and a reader that stops reading makes the agent hold neither memory
 * without bound nor its bridges: real sshd, real agent, real frozen
 * processes (SIGSTOP), and readers that do not read.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { type CliResult, sessh } from "./_cli.ts";
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
