/**
 * The library's errors as a script meets them, against a real sshd: typed
 * details on each class, stacks that reach the script's own line, a killed
 * daemon and the call after it, refused input, and the Deno permissions a
 * script needs.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { waitForExit } from "../lib/ssh/procfs.ts";
import {
  CommandFailedError,
  ConnectionLostError,
  DaemonGoneError,
  SesshClient,
  SessionError,
  sh,
  TimeoutError,
  UsageError,
} from "../mod.ts";

/** A client of the fixture's sshd, as a script would make one. */
function connectTo(sshd: TestSshd): Promise<SesshClient> {
  return SesshClient.connect({
    destination: sshd.dest,
    env: sshd.env,
    ssh: { configFile: sshd.configFile },
  });
}

/** Waits until the session runs a command (the daemon has typed it). */
async function untilRunning(client: SesshClient, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await client.session(name).status()).running) {
    assert.ok(Date.now() < deadline, `nothing ran in ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const THIS_FILE = new URL(import.meta.url).pathname;

Deno.test("library errors carry typed details and a stack that reaches the caller", async (t) => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const work = client.session("errs");
  await work.open({ shell: "bash" });

  await t.step(
    "CommandFailedError: exit code, session, command id",
    async () => {
      const error = await work.run("false", { check: true }).catch((e) => e);
      assert.ok(error instanceof CommandFailedError, String(error));
      assert.equal(error.details.exitCode, 1);
      assert.equal(error.details.session, "errs");
      assert.equal(typeof error.details.commandId, "number");
      assert.equal(typeof error.details.cursor, "number");
    },
  );

  await t.step("TimeoutError: session, command id and cursor", async () => {
    const error = await work.run("sleep 5", { check: true, timeoutMs: 300 })
      .catch((e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.details.session, "errs");
    assert.equal(typeof error.details.commandId, "number");
    assert.equal(typeof error.details.cursor, "number");
  });

  await t.step(
    "a busy session: SessionError naming it, no CLI flags",
    async () => {
      const error = await work.run("true").catch((e) => e);
      assert.ok(error instanceof SessionError, String(error));
      assert.equal(error.code, "session_busy");
      assert.deepEqual(error.details, { session: "errs" });
      assert.doesNotMatch(error.message, /--|sessh [a-z]+ /);
      assert.match(
        String(error.stack),
        /^SessionError: Session "errs" is busy/,
      );
      assert.ok(
        String(error.stack).includes(THIS_FILE),
        `the stack names the caller's file:\n${error.stack}`,
      );
      await work.keys(["C-c"]);
      await work.wait({ done: true, timeoutMs: 10_000 });
    },
  );

  await t.step(
    "no such session: the stack reaches the caller's line",
    async () => {
      const error = await client.session("never-opened").status()
        .catch((e) => e);
      assert.ok(error instanceof SessionError, String(error));
      assert.equal(error.code, "no_session");
      assert.equal(error.details.session, "never-opened");
      assert.ok(
        String(error.stack).includes(THIS_FILE),
        `the stack names the caller's file:\n${error.stack}`,
      );
    },
  );

  await t.step(
    "NUL in a command's text is refused before anything is typed",
    async () => {
      const before = (await work.history()).length;
      await assert.rejects(
        work.run("echo a\0b"),
        (error: unknown) =>
          error instanceof UsageError && /NUL byte/.test(error.message),
      );
      assert.throws(() => sh`echo a\0b`, UsageError);
      assert.equal((await work.history()).length, before, "nothing was run");
    },
  );
});

Deno.test("a killed daemon: the run in flight fails with DaemonGoneError and the client's next call reconnects", async (t) => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const doomed = client.session("doomed");
  await doomed.open({ shell: "bash" });
  const daemon = client.daemon.pid;

  await t.step("the run in progress rejects with daemon_gone", async () => {
    const running = doomed.run("sleep 60", { timeoutMs: 60_000 })
      .catch((e) => e);
    await untilRunning(client, "doomed");
    Deno.kill(daemon, "SIGKILL");
    assert.ok(await waitForExit([daemon], 5000), "the daemon ended");
    const error = await running;
    assert.ok(error instanceof DaemonGoneError, String(error));
    assert.equal(error.code, "daemon_gone");
    assert.equal(error.exitCode, 255);
    assert.equal(error.details.session, "doomed");
    assert.equal(error.details.delivery, "sent");
    assert.equal(typeof error.details.commandId, "number");
    assert.match(error.message, /the next call starts a new one/);
    assert.match(error.message, /session "doomed" was lost with it/);
  });

  await t.step("the next call reconnects to a new daemon", async () => {
    const sessions = await client.list();
    assert.notEqual(client.daemon.pid, daemon, "a new daemon answered");
    const lost = sessions.find((s) => s.name === "doomed");
    assert.equal(lost?.lost, true, JSON.stringify(sessions));
  });

  await t.step("a call on the lost session says it was lost", async () => {
    const error = await doomed.run("true").catch((e) => e);
    assert.ok(error instanceof SessionError, String(error));
    assert.equal(error.code, "session_lost");
    assert.equal(error.details.session, "doomed");
    assert.match(error.message, /opening it starts a new one/);
  });

  await t.step("other sessions work on the same client", async () => {
    const result = await client.session("after").run("echo still here");
    assert.equal(result.exitCode, 0);
    assert.equal(result.output.trim(), "still here");
  });
});

Deno.test("a killed master: the run in flight fails with ConnectionLostError and the next call reconnects", async () => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const work = client.session("cut");
  await work.open({ shell: "bash" });
  const running = work.run("sleep 60", { timeoutMs: 60_000 }).catch((e) => e);
  await untilRunning(client, "cut");
  const master = client.master!.pid;
  Deno.kill(master, "SIGKILL");
  const error = await running;
  assert.ok(error instanceof ConnectionLostError, String(error));
  assert.equal(error.details.delivery, "sent");
  assert.equal(error.details.session, "cut");
  const status = await work.status();
  assert.notEqual(client.master!.pid, master, "a new master");
  assert.equal(status.running, true, "sleep 60 still runs on the host");
  await work.keys(["C-c"]);
  await work.wait({ done: true, timeoutMs: 10_000 });
  const after = await work.run("echo back", { timeoutMs: 10_000 });
  assert.equal(after.output.trim(), "back");
});

Deno.test("a library script runs with the permissions the README lists, and needs each", async (t) => {
  await using sshd = await startSshd();
  const script = new URL("./testdata/permissions_script.ts", import.meta.url)
    .pathname;
  // A project that imports the package resolves its npm packages but does
  // not load modules lazily: the package's own deno.json, which turns on
  // lazy-dynamic-imports, applies only in a clone (see the last step).
  const clone = new URL("../deno.json", import.meta.url).pathname;
  const config = `${sshd.dir}/consumer.json`;
  const { imports } = JSON.parse(await Deno.readTextFile(clone));
  await Deno.writeTextFile(config, JSON.stringify({ imports }));
  const dir = sshd.controlDir;
  // Exactly the README's set: with the control directory named, and ps
  // when the run asks for it instead of /proc.
  const programs = sshd.env.SESSH_NO_PROCFS === "1" ? "ssh,ps" : "ssh";
  const permissions = [
    "--allow-env",
    "--allow-sys=uid",
    `--allow-run=${programs}`,
    `--allow-read=${dir}`,
    `--allow-write=${dir}`,
  ];
  const run = async (
    granted: string[],
    env: Record<string, string> = {},
    configFile = config,
  ) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--config",
        configFile,
        ...granted,
        script,
        sshd.dest,
        sshd.configFile,
      ],
      env: { ...sshd.env, ...env },
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  };
  await t.step("they suffice", async () => {
    const result = await run(permissions);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "hi 0\nhi 0\n");
  });
  for (const left of permissions) {
    await t.step(`each is needed: without ${left.split("=")[0]}`, async () => {
      const result = await run(permissions.filter((p) => p !== left));
      assert.notEqual(result.code, 0, result.stdout);
      assert.match(result.stderr, /NotCapable|Requires/);
    });
  }
  await t.step("SESSH_NO_PROCFS=1 asks ps, so it needs ps too", async () => {
    const others = permissions.filter((p) => !p.startsWith("--allow-run"));
    const env = { SESSH_NO_PROCFS: "1" };
    const without = await run([...others, "--allow-run=ssh"], env);
    assert.notEqual(without.code, 0, without.stdout);
    assert.match(without.stderr, /Requires run access to "ps"/);
    const granted = await run([...others, "--allow-run=ssh,ps"], env);
    assert.equal(granted.code, 0, granted.stderr);
  });
  await t.step(
    "from a clone, whose deno.json loads modules lazily, it also reads the clone",
    async () => {
      const root = new URL("..", import.meta.url).pathname;
      const without = await run(permissions, {}, clone);
      assert.notEqual(without.code, 0, without.stdout);
      assert.match(without.stderr, /Requires read access to ".*\.ts"/);
      const reading = permissions.map((p) =>
        p.startsWith("--allow-read=") ? `${p},${root}` : p
      );
      const granted = await run(reading, {}, clone);
      assert.equal(granted.code, 0, granted.stderr);
      assert.equal(granted.stdout, "hi 0\nhi 0\n");
    },
  );
});

Deno.test("a library script's warm path starts the agent from the package's command line, not from the script", async () => {
  await using sshd = await startSshd();
  const script = new URL("./testdata/warm_script.ts", import.meta.url)
    .pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, sshd.dest, sshd.configFile],
    env: sshd.env,
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const paths = new TextDecoder().decode(output.stdout).trim().split("\n")
    .map((line) => JSON.parse(line));
  assert.equal(paths[0].warm, false, "the first client finds no agent");
  const last = paths.at(-1);
  assert.equal(
    last.warm,
    true,
    `no client went warm: ${JSON.stringify(paths)}`,
  );
  assert.equal(last.output, "hi\n");
  assert.equal(typeof last.agentPid, "number");
});
