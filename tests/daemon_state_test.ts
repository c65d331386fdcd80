import assert from "node:assert/strict";
import { runCommand } from "../lib/process.ts";
import { SesshClient } from "../lib/session/client.ts";
import { isRunning, parentPid, waitForExit } from "../lib/ssh/procfs.ts";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { type CliResult, sessh, sesshJson } from "./_cli.ts";
import { daemonsOf, timed } from "./_probes.ts";

type Json = Record<string, unknown>;

/** The user who squats on the victim's runtime directory; made when missing. */
const SQUATTER = "sessh-squatter";

function error(result: CliResult): Json {
  return (JSON.parse(result.stdout) as Json).error as Json;
}

async function shellPid(sshd: TestSshd, name: string): Promise<number> {
  const status = await sesshJson(sshd, ["status", name, sshd.dest]);
  assert.equal(status.code, 0, status.stderr);
  return (status.json.session as Json).shell_pid as number;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

async function shell(command: string): Promise<string> {
  const result = await runCommand(["sh", "-c", command], { timeoutMs: 10_000 });
  const text = new TextDecoder().decode(result.stdout);
  assert.equal(
    result.code,
    0,
    `${command}: ${new TextDecoder().decode(result.stderr)}`,
  );
  return text.trim();
}

/** The remote state directory, as the helper names it for this host. */
async function stateDir(home: string): Promise<string> {
  const host = (await shell("hostname")).split(".")[0];
  return `${home}/.local/state/sessh/${host}`;
}

/**
 * Removes a directory as the daemon sees it: at once. A recursive remove in
 * place takes files one by one, and the daemon's own 5 s check could
 * re-create some of them halfway through.
 */
async function removeAtOnce(dir: string): Promise<void> {
  await Deno.rename(dir, `${dir}.removed`);
  await Deno.remove(`${dir}.removed`, { recursive: true });
}

Deno.test("run --force interrupts the running command and returns the new command's own result", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const cmdDir = `${sshd.remoteRuntimeDir}/sessh/cmd`;
  const opened = await sessh(sshd, [
    "run",
    "forced",
    dest,
    "--shell",
    "bash",
    "--",
    "true",
  ]);
  assert.equal(opened.code, 0, opened.stderr);

  /** `run --force -- echo SECOND`, checked to run in place; its milliseconds. */
  const forceSecond = async () => {
    const { value: second, ms } = await timed(() =>
      sesshJson(sshd, ["run", "forced", dest, "--force", "--", "echo SECOND"])
    );
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.json.output, "SECOND\n");
    assert.equal(second.json.exit_code, 0);
    return ms;
  };

  await t.step("a command that stops on Ctrl-C", async () => {
    // Several lines: it is sourced from a command file, which must go too.
    const first = await sessh(sshd, [
      "run",
      "forced",
      dest,
      "--no-wait",
      "--",
      "sleep 6\necho FIRST\n(exit 3)",
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal([...Deno.readDirSync(cmdDir)].length, 1);
    const ms = await forceSecond();
    assert.ok(ms < 5000, `took ${ms} ms: it waited for the old command`);
    assert.deepEqual([...Deno.readDirSync(cmdDir)], []);
  });

  await t.step(
    "a command that ignores SIGINT and SIGTERM is killed",
    async () => {
      const first = await sessh(sshd, [
        "run",
        "forced",
        dest,
        "--no-wait",
        "--",
        "sh -c \"trap '' INT TERM; sleep 60; echo FIRST\"",
      ]);
      assert.equal(first.code, 0, first.stderr);
      const ms = await forceSecond();
      // Ctrl-C, 1 s, SIGTERM, 2 s, SIGKILL.
      assert.ok(ms > 2500 && ms < 10_000, `took ${ms} ms`);
    },
  );

  await t.step(
    "whoever waits on the superseded command gets its done event marked superseded",
    async () => {
      await using client = await SesshClient.connect({
        destination: dest,
        env: sshd.env,
        ssh: { configFile: sshd.configFile },
      });
      const conn = client.connection;
      using events = conn.subscribe("forced");
      const reply = await conn.request("run", {
        name: "forced",
        command: new TextEncoder().encode("sleep 30"),
      });
      const forced = sessh(sshd, [
        "run",
        "forced",
        dest,
        "--force",
        "--",
        "echo SECOND",
      ]);
      let done = null;
      while (done === null) {
        const event = await events.next(10_000);
        assert.ok(event, "no done event for the superseded command");
        if (event.ev === "done" && event.seq === reply.seq) done = event;
      }
      assert.equal(done.superseded, true);
      assert.equal(done.exit, null);
      assert.equal((await forced).stdout, "SECOND\n");
    },
  );

  await t.step("closing the session leaves no command file", async () => {
    const first = await sessh(sshd, [
      "run",
      "forced",
      dest,
      "--no-wait",
      "--",
      "sleep 30\necho never",
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal([...Deno.readDirSync(cmdDir)].length, 1);
    const closed = await sessh(sshd, ["close", "forced", dest]);
    assert.equal(closed.code, 0, closed.stderr);
    assert.deepEqual([...Deno.readDirSync(cmdDir)], []);
  });
});

Deno.test("sessions of a killed daemon are reported as lost until closed or opened anew", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  for (const name of ["gone", "also-gone"]) {
    const run = await sessh(sshd, [
      "run",
      name,
      dest,
      "--shell",
      "bash",
      "--",
      "export KEPT=old",
    ]);
    assert.equal(run.code, 0, run.stderr);
  }
  const daemon = parentPid(await shellPid(sshd, "gone"))!;
  assert.deepEqual(daemonsOf(sshd), [daemon]);
  Deno.kill(daemon, "SIGKILL");
  assert.ok(await waitForExit([daemon], 5000));

  await t.step(
    "status fails with session_lost, saying when and why",
    async () => {
      const status = await sessh(sshd, ["--json", "status", "gone", dest]);
      assert.equal(status.code, 1, status.stdout);
      const { code, message } = error(status);
      assert.equal(code, "session_lost");
      assert.match(
        String(message),
        new RegExp(
          `^Session "gone" was lost: the sessh daemon \\(pid ${daemon}\\) that held it is gone \\(found at \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z; .*\\); closing it forgets it, opening it starts a new one \\(sessh close gone DEST, sessh open gone DEST\\)$`,
        ),
      );
    },
  );

  await t.step("list shows both as lost", async () => {
    const list = await sesshJson(sshd, ["list", dest]);
    assert.equal(list.code, 0, list.stderr);
    const sessions = list.json.sessions as Json[];
    assert.deepEqual(sessions.map((s) => s.name).sort(), ["also-gone", "gone"]);
    for (const s of sessions) {
      assert.equal(s.lost, true);
      assert.equal(s.alive, false);
      assert.equal(s.shell_pid, null);
      assert.match(String(s.lost_at), /^\d{4}-\d\d-\d\dT/);
      assert.match(String(s.shell), /bash$/);
    }
    const text = await sessh(sshd, ["list", dest]);
    assert.match(text.stdout, /^gone +- +\S+ +lost /m);
  });

  await t.step(
    "run fails with session_lost instead of starting a new shell",
    async () => {
      const run = await sessh(sshd, [
        "--json",
        "run",
        "gone",
        dest,
        "--",
        "echo new",
      ]);
      assert.equal(run.code, 1, run.stdout);
      assert.equal(error(run).code, "session_lost");
      const list = await sesshJson(sshd, ["list", dest]);
      assert.ok((list.json.sessions as Json[]).every((s) => s.lost === true));
    },
  );

  await t.step(
    "close acknowledges it; then run starts a new session",
    async () => {
      const close = await sesshJson(sshd, [
        "close",
        "gone",
        dest,
        "--keep-master",
      ]);
      assert.equal(close.code, 0, close.stderr);
      const run = await sesshJson(sshd, [
        "run",
        "gone",
        dest,
        "--",
        'echo "[$KEPT]"',
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json.created, true);
      assert.equal(run.json.output, "[]\n");
    },
  );

  await t.step("open acknowledges it by starting a new session", async () => {
    const open = await sesshJson(sshd, ["open", "also-gone", dest]);
    assert.equal(open.code, 0, open.stderr);
    assert.equal(open.json.created, true);
    const list = await sesshJson(sshd, ["list", dest]);
    assert.ok((list.json.sessions as Json[]).every((s) => s.lost === false));
  });
});

/** The fresh runtime directories the helper made in /tmp. */
function tmpRuntimeDirs(): string[] {
  const prefix = `sessh-${Deno.uid()}-`;
  return [...Deno.readDirSync("/tmp")].filter((e) => e.name.startsWith(prefix))
    .map((e) => `/tmp/${e.name}`);
}

/** Makes the squatting user when missing (the tests run as root). */
async function ensureSquatter(): Promise<void> {
  const found = await runCommand(["id", "-u", SQUATTER], { timeoutMs: 5000 });
  if (found.code === 0) return;
  await shell(
    `useradd --system --no-create-home --shell /usr/sbin/nologin ${SQUATTER}`,
  );
}

/**
 * `/tmp/sessh-UID` taken by the squatter in the way `kind` names; disposing
 * removes it and puts back what was there before.
 */
async function squat(
  kind: "dir" | "symlink" | "file",
): Promise<AsyncDisposable> {
  const path = `/tmp/sessh-${Deno.uid()}`;
  const saved = exists(path) ? `${path}.saved-${Deno.pid}` : null;
  if (saved) await Deno.rename(path, saved);
  const target = await Deno.makeTempDir({ prefix: "sessh-squat-" });
  if (kind === "dir") await shell(`mkdir -m 0700 ${path}`);
  if (kind === "symlink") await Deno.symlink(target, path);
  if (kind === "file") await Deno.writeTextFile(path, "");
  await shell(`chown -h ${SQUATTER} ${path} ${target}`);
  return {
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
      await Deno.remove(target, { recursive: true });
      if (saved) await Deno.rename(saved, path);
    },
  };
}

Deno.test("a /tmp/sessh-UID taken by another user does not block sessh", async (t) => {
  await ensureSquatter();

  await t.step(
    "the runtime directory is the state directory under HOME",
    async () => {
      await using _squat = await squat("dir");
      await using sshd = await startSshd({ xdgRuntime: false });
      const run = await sessh(sshd, ["run", "s", sshd.dest, "--", "echo ok"]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "ok\n");
      const state = await stateDir(sshd.home);
      assert.ok(Deno.lstatSync(`${state}/daemon-1.sock`).isSocket);
      assert.equal(Deno.lstatSync(state).mode! & 0o777, 0o700);
    },
  );

  for (const kind of ["dir", "symlink", "file"] as const) {
    await t.step(
      `a home too deep for a socket path falls back to a fresh /tmp directory (squat: ${kind})`,
      async () => {
        await using _squat = await squat(kind);
        const before = new Set(tmpRuntimeDirs());
        const base = await Deno.makeTempDir({ prefix: "sessh-deep-home-" });
        const sshd = await startSshd({
          xdgRuntime: false,
          home: `${base}/${"h".repeat(80)}`,
        });
        try {
          const first = await sessh(sshd, ["run", "s", sshd.dest, "--", "X=1"]);
          assert.equal(first.code, 0, first.stderr);
          const pointer = `${await stateDir(sshd.home)}/runtime-dir`;
          const rt = (await Deno.readTextFile(pointer)).trim();
          assert.match(rt, new RegExp(`^/tmp/sessh-${Deno.uid()}-\\w+$`));
          const info = Deno.lstatSync(rt);
          assert.ok(info.isDirectory);
          assert.equal(info.uid, Deno.uid());
          assert.equal(info.mode! & 0o777, 0o700);
          assert.ok(Deno.lstatSync(`${rt}/daemon-1.sock`).isSocket);
          const again = await sessh(sshd, [
            "run",
            "s",
            sshd.dest,
            "--",
            'echo "[$X]"',
          ]);
          assert.equal(again.stdout, "[1]\n", again.stderr);
          assert.equal(daemonsOf(sshd).length, 1);
        } finally {
          // The daemon first: it would re-create its directory.
          await sshd[Symbol.asyncDispose]();
          for (const dir of tmpRuntimeDirs()) {
            if (!before.has(dir)) await Deno.remove(dir, { recursive: true });
          }
          await Deno.remove(base, { recursive: true });
        }
      },
    );
  }
});

Deno.test("a removed runtime directory is re-created by its daemon; calls reach the same shell", async (t) => {
  await t.step(
    "with XDG_RUNTIME_DIR: within the daemon's 5 s check",
    async () => {
      await using sshd = await startSshd();
      const rt = `${sshd.remoteRuntimeDir}/sessh`;
      const setup = await sessh(sshd, [
        "run",
        "kept",
        sshd.dest,
        "--shell",
        "bash",
        "--",
        "export KEPT=yes",
      ]);
      assert.equal(setup.code, 0, setup.stderr);
      const shellBefore = await shellPid(sshd, "kept");
      const [daemon] = daemonsOf(sshd);
      await removeAtOnce(rt);
      const deadline = Date.now() + 8000;
      while (!exists(`${rt}/daemon-1.sock`)) {
        assert.ok(Date.now() < deadline, "the socket was not re-created");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const run = await sesshJson(sshd, [
        "run",
        "kept",
        sshd.dest,
        "--",
        'echo "[$KEPT]"',
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.json.output, "[yes]\n");
      assert.equal(run.json.created, false);
      assert.equal(await shellPid(sshd, "kept"), shellBefore);
      assert.deepEqual(daemonsOf(sshd), [daemon]);
      const log = await Deno.readTextFile(
        `${await stateDir(sshd.home)}/daemon.log`,
      );
      assert.match(log, /listening again on \S+ \(5 s check\)/);
    },
  );

  await t.step({
    name: "without it: the next call wakes the daemon at once (SIGUSR1)",
    // With both its directories gone, only /proc still leads to the daemon;
    // without it a call starts a second one (the README says so).
    ignore: Deno.env.get("SESSH_NO_PROCFS") === "1",
    fn: async () => {
      await using sshd = await startSshd({ xdgRuntime: false });
      const setup = await sessh(sshd, [
        "run",
        "kept",
        sshd.dest,
        "--shell",
        "bash",
        "--",
        "export KEPT=yes",
      ]);
      assert.equal(setup.code, 0, setup.stderr);
      const shellBefore = await shellPid(sshd, "kept");
      const [daemon] = daemonsOf(sshd);
      // The daemon's own 5 s check may come first when the machine is slow
      // to start the call: then nothing needed waking, and it is tried
      // again (the log is new each time, in the re-created directory).
      const logs: string[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        await removeAtOnce(`${sshd.home}/.local/state/sessh`);
        // A bridge of its own: the local agent's open bridge would reach
        // the daemon without its socket, and wake nothing.
        const run = await sesshJson(sshd, [
          "run",
          "kept",
          sshd.dest,
          "--",
          'echo "[$KEPT]"',
        ], { env: { SESSH_AGENT: "0" } });
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.json.output, "[yes]\n");
        assert.equal(await shellPid(sshd, "kept"), shellBefore);
        assert.deepEqual(daemonsOf(sshd), [daemon]);
        assert.ok(isRunning(daemon));
        const state = await stateDir(sshd.home);
        assert.ok(exists(`${state}/sessions-1.json`));
        const log = await Deno.readTextFile(`${state}/daemon.log`);
        logs.push(log);
        if (/listening again on \S+ \(a bridge found no socket\)/.test(log)) {
          return;
        }
        assert.match(log, /listening again on \S+ \(5 s check\)/);
      }
      assert.fail(
        `the daemon's 5 s check came before the call each time:\n${
          logs.join("")
        }`,
      );
    },
  });
});
