/**
 * What dies is replaced and says so: a killed or frozen ControlMaster is
 * replaced with the session's state intact, and a killed daemon fails the
 * call in flight and leaves its sessions reported as lost.
 */
import assert from "node:assert/strict";
import {
  isRunning,
  parentPid,
  readEnviron,
  waitForExit,
} from "../lib/ssh/procfs.ts";
import { startSshd } from "./_sshd.ts";
import { jsonFailure, runInBash, sessh, sesshJson } from "./_cli.ts";
import {
  exists,
  listenersOf,
  masterPid,
  readComm,
  shellPid,
  timed,
} from "./_probes.ts";

type Json = Record<string, unknown>;

/** Failures must come back within the fixture's SESSH_CONNECT_TIMEOUT (5 s) plus a margin. */
const FAST_MS = 20_000;

Deno.test("a killed or frozen ControlMaster is replaced and the session keeps its state", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const name = "kept";
  await runInBash(sshd, name, "export FAULT_KEPT=still-here");
  const shell = await shellPid(sshd, name);

  await t.step(
    "kill -9 of the master: the next call starts a new one",
    async () => {
      const old = await masterPid(sshd, name);
      Deno.kill(old, "SIGKILL");
      assert.ok(await waitForExit([old], 5000));
      const { value: result, ms } = await timed(() =>
        sessh(sshd, ["run", name, dest, "--", "echo $FAULT_KEPT"])
      );
      assert.ok(ms < FAST_MS, `took ${ms} ms`);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "still-here\n");
      const fresh = await masterPid(sshd, name);
      assert.notEqual(fresh, old);
      assert.equal(await shellPid(sshd, name), shell, "the same shell");
    },
  );

  await t.step(
    "kill -STOP of the master: the next call replaces it within a bounded time",
    async () => {
      const frozen = await masterPid(sshd, name);
      Deno.kill(frozen, "SIGSTOP");
      try {
        const { value: result, ms } = await timed(() =>
          sessh(sshd, ["run", name, dest, "--", "echo $FAULT_KEPT"])
        );
        assert.ok(ms < FAST_MS, `took ${ms} ms`);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout, "still-here\n");
        const fresh = await masterPid(sshd, name);
        assert.notEqual(fresh, frozen);
        assert.equal(isRunning(frozen), false, "the frozen master was killed");
        assert.equal(await shellPid(sshd, name), shell, "the same shell");
      } finally {
        if (isRunning(frozen)) {
          Deno.kill(frozen, "SIGCONT");
          Deno.kill(frozen, "SIGKILL");
        }
      }
    },
  );
});

Deno.test(
  "a killed daemon: a call in flight fails with daemon_gone, the next call starts a fresh daemon that reports the lost sessions",
  async (t) => {
    await using sshd = await startSshd();
    const dest = sshd.dest;
    const socket = `${sshd.remoteRuntimeDir}/sessh/daemon-1.sock`;
    await runInBash(sshd, "doomed", "export FAULT_KEPT=lost");
    const shell = await shellPid(sshd, "doomed");
    const daemon = parentPid(shell)!;
    assert.equal(
      readComm(daemon),
      "sessh-daemon",
      "the daemon runs under a name of its own",
    );
    assert.equal(readEnviron(daemon)?.XDG_RUNTIME_DIR, sshd.remoteRuntimeDir);
    assert.deepEqual(listenersOf(socket), [daemon]);

    await t.step(
      "a command in flight ends at once with daemon_gone (exit 255)",
      async () => {
        const running = sessh(sshd, [
          "--json",
          "run",
          "doomed",
          dest,
          "--timeout",
          "60",
          "--",
          "sleep 60",
        ]);
        const deadline = Date.now() + 10_000;
        while (true) {
          const status = await sesshJson(sshd, ["status", "doomed", dest]);
          // A status refused on a loaded machine is asked again; the last
          // answer is what a failure shows.
          const session = status.json.session as Json | undefined;
          if (session?.running === true) break;
          assert.ok(
            Date.now() < deadline,
            `sleep 60 never started: ${JSON.stringify(status.json)}`,
          );
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const { value: result, ms } = await timed(async () => {
          Deno.kill(daemon, "SIGKILL");
          return await running;
        });
        assert.ok(ms < 5000, `took ${ms} ms`);
        assert.equal(result.code, 255, result.stdout);
        const error = jsonFailure(result, "run") as Record<string, unknown>;
        assert.equal(error.code, "daemon_gone");
        assert.equal(
          error.message,
          'The sessh daemon on "sessh-test" closed the connection (was it killed?); the next call starts a new one; session "doomed" was lost with it',
        );
        assert.equal(error.sent, "sent");
        assert.equal(error.name, "doomed");
        assert.equal(typeof error.command_id, "number");
        assert.ok(
          await waitForExit([shell], 5000),
          "the session's shell lost its terminal and exited",
        );
        assert.ok(exists(socket), "the dead daemon's socket is still there");
        assert.deepEqual(listenersOf(socket), []);
      },
    );

    await t.step(
      "the next call starts a fresh daemon on the stale socket, which reports the session as lost",
      async () => {
        const status = await sessh(sshd, ["--json", "status", "doomed", dest]);
        assert.equal(status.code, 1, status.stdout);
        const error = jsonFailure(status, "status");
        assert.equal(error.code, "session_lost");
        assert.match(
          error.message,
          new RegExp(
            `^Session "doomed" was lost: the sessh daemon \\(pid ${daemon}\\) that held it is gone`,
          ),
        );
        const [fresh] = listenersOf(socket);
        assert.ok(
          fresh !== undefined && fresh !== daemon,
          `a new daemon listens (${fresh})`,
        );
        const list = await sesshJson(sshd, ["list", dest]);
        assert.equal(list.code, 0, list.stderr);
        const sessions = list.json.sessions as Json[];
        assert.deepEqual(
          sessions.map((s) => [s.name, s.lost, s.alive]),
          [["doomed", true, false]],
        );
      },
    );

    await t.step(
      "sessions can be opened and run again, in shells of the new daemon",
      async () => {
        const opened = await sesshJson(sshd, [
          "run",
          "reborn",
          dest,
          "--shell",
          "bash",
          "--",
          "echo ready",
        ]);
        assert.equal(opened.code, 0, opened.stderr);
        assert.equal(opened.json.created, true);
        assert.equal(opened.json.output, "ready\n");
        const refused = await sessh(sshd, [
          "--json",
          "run",
          "doomed",
          dest,
          "--",
          "true",
        ]);
        assert.equal(refused.code, 1, refused.stdout);
        assert.equal(jsonFailure(refused, "run").code, "session_lost");
        const forgotten = await sesshJson(sshd, [
          "close",
          "doomed",
          dest,
          "--keep-master",
        ]);
        assert.equal(forgotten.code, 0, forgotten.stderr);
        const run = await sesshJson(sshd, [
          "run",
          "doomed",
          dest,
          "--",
          'echo "[$FAULT_KEPT]"',
        ]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(
          run.json.created,
          true,
          "the old session was not resurrected",
        );
        assert.equal(run.json.output, "[]\n");
        const newShell = await shellPid(sshd, "reborn");
        const newDaemon = parentPid(newShell)!;
        assert.notEqual(newDaemon, daemon);
        assert.deepEqual(listenersOf(socket), [newDaemon]);
      },
    );
  },
);

/**
 * A root directory for sshd's ChrootDirectory holding the login shell and
 * env with their libraries, and no python3. sshd insists that every
 * component of its path is root-owned and writable by nobody else, which
 * rules out /tmp.
 */
