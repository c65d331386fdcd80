/**
 * Every call ends by its deadline and says truthfully what happened when
 * the link fails: a frozen ControlMaster (SIGSTOP), a partition and a reset
 * made by a loopback relay, each during `run`, `wait`, `logs --follow` and
 * a new call.
 */
import { agentFiles, agentListen } from "../lib/transport/agent_protocol.ts";
import assert from "node:assert/strict";
import { startSshd, usesControlMaster } from "./_sshd.ts";
import {
  runInBash,
  type RunningSessh,
  sessh,
  sesshJson,
  startSessh,
} from "./_cli.ts";
import { startRelay } from "./_relay.ts";
import { masterPid, timed } from "./_probes.ts";
import { isRunning } from "../lib/ssh/procfs.ts";

type Json = Record<string, unknown>;

/**
 * Deno's start-up and type-checking of the CLI under a loaded 2-core
 * machine: what a call costs beyond its deadline before it even starts.
 */
const STARTUP_MARGIN_MS = 2500;
/** What the issue grants a call past its deadline. */
const OVERRUN_MS = 2000;

function within(ms: number, deadlineMs: number, what: string): void {
  const limit = deadlineMs + OVERRUN_MS + STARTUP_MARGIN_MS;
  assert.ok(ms < limit, `${what} took ${ms} ms; its limit is ${limit} ms`);
}

/** The `error` of a failed `--json` call, checked to be connection_lost. */
function lost(result: { code: number; json: Json; stderr: string }): Json {
  assert.equal(result.code, 255, JSON.stringify(result.json));
  assert.equal(result.json.ok, false);
  const error = result.json.error as Json;
  assert.equal(error.code, "connection_lost", String(error.message));
  return error;
}

/** Resumes and kills a frozen master so that the next call starts afresh. */
function thaw(pid: number): void {
  if (!isRunning(pid)) return;
  Deno.kill(pid, "SIGCONT");
  Deno.kill(pid, "SIGKILL");
}

/**
 * Waits until `path` exists: a command touches it once it runs, and on a
 * loaded machine connecting alone can take longer than any fixed pause.
 */
async function started(path: string): Promise<void> {
  const by = Date.now() + 15_000;
  while (!await Deno.stat(path).catch(() => null)) {
    assert.ok(Date.now() < by, `the command never started (no ${path})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The words of `run NAME --timeout SECONDS` of a command that touches
 * `file` as it starts (`started` waits for it), then sleeps 2 s and echoes
 * `echo`: a fault made once it runs finds it sent and not yet done.
 */
function sentRun(
  name: string,
  dest: string,
  seconds: number,
  file: string,
  echo: string,
): string[] {
  const command = `touch ${file}; sleep 2; echo ${echo}`;
  return ["run", name, dest, "--timeout", String(seconds), "--", command];
}

/** Kills a call left running, if it still runs. */
function stop(call: RunningSessh): void {
  try {
    call.child.kill("SIGKILL");
  } catch { /* exited */ }
}

/**
 * Waits for a call left running to exit, killing it after `ms` so that a
 * call that never ends fails the test instead of holding it.
 */
async function exitWithin(
  call: RunningSessh,
  ms: number,
): Promise<{ code: number; stderr: string }> {
  const timer = setTimeout(() => stop(call), ms);
  try {
    return await call.finish();
  } finally {
    clearTimeout(timer);
  }
}

async function freezeAfter(pid: number, ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  Deno.kill(pid, "SIGSTOP");
}

Deno.test({
  name: "a frozen ControlMaster never holds a call past its deadline",
  // It freezes the master; without one, no_control_master_test freezes the
  // agent's own connection instead.
  ignore: !usesControlMaster(),
}, async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const name = "frozen";
  await runInBash(sshd, name, "true");

  await t.step(
    "run: connection_lost with the command id once the command was sent, and its output is readable afterwards",
    async () => {
      const master = await masterPid(sshd, name);
      const running = `${sshd.dir}/frozen-started`;
      try {
        const call = timed(() =>
          sesshJson(sshd, sentRun(name, dest, 4, running, "frozen-$((6*7))"))
        );
        // Freeze once the command runs: the call then waits on a link that
        // carries nothing.
        await started(running);
        Deno.kill(master, "SIGSTOP");
        const { value, ms } = await call;
        within(ms, 4000, "run --timeout 4");
        const error = lost(value);
        assert.equal(error.sent, "sent");
        assert.equal(error.name, name);
        assert.equal(typeof error.command_id, "number");
        assert.equal(typeof error.cursor, "number");
        assert.match(String(error.message), /was sent/);
        assert.doesNotMatch(String(error.message), /Cannot reach/);
        thaw(master);
        const after = await sessh(sshd, [
          "logs",
          name,
          dest,
          "--since",
          String(error.cursor),
        ]);
        assert.equal(after.code, 0, after.stderr);
        assert.match(after.stdout, /^frozen-42$/m);
      } finally {
        thaw(master);
      }
    },
  );

  await t.step("wait --done: connection_lost within its deadline", async () => {
    const started = await sessh(sshd, [
      "run",
      name,
      dest,
      "--no-wait",
      "--",
      "sleep 30",
    ]);
    assert.equal(started.code, 0, started.stderr);
    const master = await masterPid(sshd, name);
    try {
      const call = timed(() =>
        sesshJson(sshd, ["wait", name, dest, "--done", "--timeout", "4"])
      );
      await freezeAfter(master, 1500);
      const { value, ms } = await call;
      within(ms, 4000, "wait --done --timeout 4");
      const error = lost(value);
      assert.equal(error.sent, "not_sent", "wait types nothing");
      assert.equal(typeof error.cursor, "number");
    } finally {
      thaw(master);
    }
    const interrupt = await sessh(sshd, ["keys", name, dest, "--", "C-c"]);
    assert.equal(interrupt.code, 0, interrupt.stderr);
  });

  await t.step(
    "logs --follow: a dead link is noticed by the heartbeat within 10 s",
    async () => {
      const master = await masterPid(sshd, name);
      const mark = await sessh(sshd, [
        "run",
        name,
        dest,
        "--",
        "echo follow-$((6*7))-from-here",
      ]);
      assert.equal(mark.code, 0, mark.stderr);
      const follower = startSessh(sshd, ["logs", name, dest, "--follow"]);
      try {
        // Freeze once the follow has read the last lines through the
        // master: frozen before it connected, the call would replace the
        // master and follow on a link that works, for ever.
        await follower.until(/^follow-42-from-here$/m);
        Deno.kill(master, "SIGSTOP");
        const { value, ms } = await timed(() => exitWithin(follower, 30_000));
        within(ms, 10_000, "logs --follow");
        assert.equal(value.code, 255, value.stderr);
        assert.match(value.stderr, /stopped answering/);
      } finally {
        thaw(master);
        stop(follower);
      }
    },
  );

  await t.step(
    "a new call on a frozen master replaces it and ends within its deadline",
    async () => {
      const master = await masterPid(sshd, name);
      Deno.kill(master, "SIGSTOP");
      try {
        const { value, ms } = await timed(() =>
          sessh(sshd, ["run", name, dest, "--timeout", "5", "--", "echo fresh"])
        );
        within(ms, 5000, "run --timeout 5");
        assert.equal(value.code, 0, value.stderr);
        assert.equal(value.stdout, "fresh\n");
      } finally {
        thaw(master);
      }
    },
  );
});

Deno.test("a partition or a reset ends calls on time and says whether the command was sent", async (t) => {
  await using sshd = await startSshd();
  await using relay = startRelay(sshd.port);
  const dest = sshd.dest;
  const name = "cut";
  const via = ["-p", String(relay.port)];
  const viaRelay = (args: string[]) => {
    const dashdash = args.indexOf("--");
    return dashdash < 0
      ? [...args, ...via]
      : [...args.slice(0, dashdash), ...via, ...args.slice(dashdash)];
  };
  const setup = await sessh(
    sshd,
    viaRelay(["run", name, dest, "--shell", "bash", "--", "true"]),
  );
  assert.equal(setup.code, 0, setup.stderr);

  await t.step(
    "a partition during run: sent, with the command id",
    async () => {
      const running = `${sshd.dir}/cut-started`;
      const call = timed(() =>
        sesshJson(
          sshd,
          viaRelay(sentRun(name, dest, 4, running, "cut-$((2*21))")),
        )
      );
      await started(running);
      relay.partition();
      try {
        const { value, ms } = await call;
        within(ms, 4000, "run --timeout 4 across a partition");
        const error = lost(value);
        assert.equal(error.sent, "sent");
        assert.equal(typeof error.command_id, "number");
      } finally {
        relay.heal();
      }
    },
  );

  await t.step(
    "a partition during wait --done ends within its deadline",
    async () => {
      const started = await sessh(
        sshd,
        viaRelay(["run", name, dest, "--no-wait", "--", "sleep 30"]),
      );
      assert.equal(started.code, 0, started.stderr);
      const call = timed(() =>
        sesshJson(
          sshd,
          viaRelay(["wait", name, dest, "--done", "--timeout", "4"]),
        )
      );
      await new Promise((resolve) => setTimeout(resolve, 1500));
      relay.partition();
      try {
        const { value, ms } = await call;
        within(ms, 4000, "wait --done --timeout 4 across a partition");
        lost(value);
      } finally {
        relay.heal();
      }
      const interrupt = await sessh(
        sshd,
        viaRelay(["keys", name, dest, "--", "C-c"]),
      );
      assert.equal(interrupt.code, 0, interrupt.stderr);
    },
  );

  await t.step(
    "a partition during logs --follow is noticed by the heartbeat within 10 s",
    async () => {
      const mark = await sessh(
        sshd,
        viaRelay(["run", name, dest, "--", "echo follow-$((6*7))-from-here"]),
      );
      assert.equal(mark.code, 0, mark.stderr);
      const follower = startSessh(
        sshd,
        viaRelay(["logs", name, dest, "--follow"]),
      );
      try {
        // Cut once the follow has read the last lines across the relay: cut
        // before it connected, it would fail to connect instead.
        await follower.until(/^follow-42-from-here$/m);
        relay.partition();
        const { value, ms } = await timed(() => exitWithin(follower, 30_000));
        within(ms, 10_000, "logs --follow across a partition");
        assert.equal(value.code, 255, value.stderr);
        assert.match(value.stderr, /stopped answering/);
      } finally {
        relay.heal();
        stop(follower);
      }
    },
  );

  await t.step(
    "a new call of its own during a partition, the master still alive: not sent, within --timeout",
    async () => {
      relay.partition();
      try {
        const { value, ms } = await timed(() =>
          sesshJson(
            sshd,
            viaRelay(["run", name, dest, "--timeout", "3", "--", "echo never"]),
            { env: { SESSH_AGENT: "0" } },
          )
        );
        within(ms, 3000, "run --timeout 3 during a partition");
        assert.equal(value.code, 255, JSON.stringify(value.json));
        const error = value.json.error as Json;
        assert.equal(error.code, "connect_failed");
        assert.equal(error.sent, "not_sent");
        assert.match(String(error.message), /nothing was sent/);
      } finally {
        relay.heal();
      }
    },
  );

  await t.step(
    "a warm call during a partition: its request went into the link, so delivery is unknown, within --timeout",
    async () => {
      // A call now leaves the local agent holding an open bridge.
      const warm = await sesshJson(sshd, viaRelay(["status", name, dest]));
      assert.equal((warm.json.path as Json)?.warm, true, warm.stderr);
      // The agent takes the bridge back once the daemon confirms its reset,
      // a loopback round trip after the call; only then may the link go.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      relay.partition();
      try {
        const { value, ms } = await timed(() =>
          sesshJson(
            sshd,
            viaRelay(["run", name, dest, "--timeout", "3", "--", "echo never"]),
          )
        );
        within(ms, 3000, "a warm run --timeout 3 during a partition");
        assert.equal(value.code, 255, JSON.stringify(value.json));
        const error = value.json.error as Json;
        assert.equal(
          error.code,
          "connection_lost",
          `${JSON.stringify(value.json)}; the agent's log: ${
            Deno.readTextFileSync(
              agentFiles(sshd.controlDir, agentListen(Deno.env.toObject()))
                .log,
            )
          }`,
        );
        assert.equal(error.sent, "unknown");
        assert.match(String(error.message), /may or may not have reached/);
      } finally {
        relay.heal();
      }
    },
  );

  await t.step(
    "a reset during run: connection_lost, sent, and the output is readable afterwards",
    async () => {
      const running = `${sshd.dir}/reset-started`;
      const call = sesshJson(
        sshd,
        viaRelay(sentRun(name, dest, 20, running, "reset-$((3*5))")),
      );
      // Reset once the command runs; a reset before it was sent would let
      // the call connect afresh and succeed.
      await started(running);
      relay.reset();
      const { value, ms } = await timed(() => call);
      assert.ok(ms < 10_000, `a reset is noticed at once, took ${ms} ms`);
      const error = lost(value);
      assert.equal(error.sent, "sent");
      assert.equal(typeof error.command_id, "number");
      const done = await sessh(
        sshd,
        viaRelay(["wait", name, dest, "--done", "--timeout", "10"]),
      );
      assert.equal(done.code, 0, done.stderr);
      const after = await sessh(
        sshd,
        viaRelay(["logs", name, dest, "--since", String(error.cursor)]),
      );
      assert.equal(after.code, 0, after.stderr);
      assert.match(after.stdout, /^reset-15$/m);
    },
  );
});
