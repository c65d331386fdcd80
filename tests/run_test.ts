import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";

const SHELLS = ["bash", "zsh", "dash"];

Deno.test("run drives a persistent shell in bash, zsh and dash", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  /** `run NAME [FLAGS…] -- COMMAND`: the call every step makes. */
  const run = (name: string, command: string, flags: string[] = []) =>
    sessh(sshd, ["run", name, dest, ...flags, "--", command]);
  /** The same call with `--json`. */
  const runJson = (name: string, command: string, flags: string[] = []) =>
    sesshJson(sshd, ["run", name, dest, ...flags, "--", command]);

  for (const shell of SHELLS) {
    const name = `run-${shell}`;

    await t.step(
      `${shell}: open creates the session, a second open reuses it`,
      async () => {
        const first = await sesshJson(sshd, [
          "open",
          name,
          dest,
          "--shell",
          shell,
        ]);
        assert.equal(first.code, 0, first.stderr);
        assert.equal(first.json.created, true);
        assert.match(String(first.json.shell), new RegExp(`/${shell}$`));
        const second = await sesshJson(sshd, [
          "open",
          name,
          dest,
          "--shell",
          shell,
        ]);
        assert.equal(second.json.created, false);
        assert.equal(second.json.pid, first.json.pid);
      },
    );

    await t.step(
      `${shell}: cwd, variables, functions and aliases persist between runs`,
      async () => {
        const setup = await run(
          name,
          "cd /tmp && export SESSH_X=42 && greet() { echo \"hi $1\"; } && alias ll='echo aliased'",
        );
        assert.equal(setup.code, 0, setup.stderr);
        assert.equal(setup.stdout, "");
        const check = await run(name, "pwd; echo $SESSH_X; greet you; ll");
        assert.equal(check.stdout, "/tmp\n42\nhi you\naliased\n", check.stderr);
        assert.equal(check.code, 0);
      },
    );

    await t.step(
      `${shell}: the exit status of the command is the exit code`,
      async () => {
        const failing = await run(name, "ls /nonexistent-sessh");
        assert.equal(failing.code, 2);
        assert.match(failing.stdout, /nonexistent-sessh/);
        const seven = await runJson(name, "(exit 7)");
        assert.equal(seven.code, 7);
        assert.equal(seven.json.exit_code, 7);
        assert.equal(seven.json.running, false);
        assert.equal(seven.json.output, "");
      },
    );

    await t.step(`${shell}: command text arrives byte for byte`, async () => {
      const file = `${sshd.dir}/bytes-${shell}.txt`;
      const text = [
        `single 'quotes' and "double" quotes`,
        "$HOME ${PATH} $(whoami) `id` \\n back\\slash \\\\ double",
        "tab\there; semicolon & ampersand | pipe > gt < lt !bang !! ~tilde *glob ?",
        "ünïcödé 日本語 ✓ — emoji 🎉",
        "",
        "a line after a blank one",
      ].join("\n");
      const command =
        `cat > '${file}' <<'SESSH_EOF'\n${text}\nSESSH_EOF\ncat '${file}' | wc -l`;
      const result = await run(name, command);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await Deno.readTextFile(file), text + "\n");
      assert.equal(result.stdout.trim(), "6");
    });

    await t.step(
      `${shell}: a command far past the 4 KiB line limit arrives whole`,
      async () => {
        const long = "x".repeat(20_000);
        const result = await run(name, `echo ${long} | wc -c`);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout.trim(), "20001");
      },
    );

    await t.step(
      `${shell}: output is only the command's, rendered as plain text`,
      async () => {
        const result = await run(
          name,
          "printf 'progress 10%%\\rprogress 100%%\\n'; printf '\\033[31mred\\033[0m\\n'",
        );
        assert.equal(result.stdout, "progress 100%\nred\n");
      },
    );
  }

  await t.step(
    "words after -- are joined with spaces, as ssh does",
    async () => {
      const result = await sessh(sshd, [
        "run",
        "run-bash",
        dest,
        "--",
        "echo",
        "a",
        "b",
      ]);
      assert.equal(result.stdout, "a b\n");
    },
  );

  await t.step("run on a missing session opens it first", async () => {
    const result = await runJson("run-fresh", "echo fresh");
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.json.created, true);
    assert.equal(result.json.output, "fresh\n");
  });

  await t.step(
    "a run while another command runs is refused as busy unless --force",
    async () => {
      const started = await run("run-bash", "sleep 30", ["--no-wait"]);
      assert.equal(started.code, 0, started.stderr);
      const busy = await runJson("run-bash", "echo no");
      assert.equal(busy.code, 1);
      assert.equal(
        (busy.json.error as Record<string, string>).code,
        "session_busy",
      );
      assert.match(
        (busy.json.error as Record<string, string>).message,
        /busy running sleep 30/,
      );
      const human = await run("run-bash", "echo no");
      assert.match(human.stderr, /busy/);
      const interrupted = await sessh(sshd, [
        "keys",
        "run-bash",
        dest,
        "--",
        "C-c",
      ]);
      assert.equal(interrupted.code, 0, interrupted.stderr);
      const done = await sessh(sshd, [
        "wait",
        "run-bash",
        dest,
        "--done",
        "--timeout",
        "10",
      ]);
      assert.equal(done.code, 0, done.stderr);
      const after = await run("run-bash", "echo free");
      assert.equal(after.stdout, "free\n");
    },
  );

  await t.step(
    "--force interrupts the busy command and runs in its place",
    async () => {
      await run("run-bash", "read line; echo got:$line", ["--no-wait"]);
      const forced = await runJson("run-bash", "echo hello", ["--force"]);
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal(forced.json.output, "hello\n");
      assert.equal(forced.json.exit_code, 0);
    },
  );

  await t.step(
    "a timeout prints what there is, gives a cursor and exits 124",
    async () => {
      // The budget covers connecting too: 1 s may not be enough on a
      // loaded machine. The command waits for a line, so it is still
      // running when the budget ends however slow the call was.
      const command = "echo started; read _; echo finished";
      const slow = await run("run-bash", command, ["--timeout", "3"]);
      assert.equal(slow.code, 124, slow.stderr);
      assert.equal(slow.stdout, "started\n");
      const cursor = /--since (\d+)/.exec(slow.stderr)?.[1];
      assert.ok(cursor, slow.stderr);
      assert.match(slow.stderr, /still running/);
      const go = await sessh(sshd, [
        "send",
        "run-bash",
        dest,
        "--enter",
        "--",
        "go",
      ]);
      assert.equal(go.code, 0, go.stderr);
      const done = await sesshJson(sshd, [
        "wait",
        "run-bash",
        dest,
        "--done",
        "--timeout",
        "20",
      ]);
      assert.equal(done.code, 0);
      assert.equal(done.json.exit_code, 0);
      const rest = await sessh(sshd, [
        "logs",
        "run-bash",
        dest,
        "--since",
        cursor,
      ]);
      assert.match(rest.stdout, /^finished$/m);
      assert.doesNotMatch(rest.stdout, /started/);
    },
  );

  await t.step(
    "--max-output keeps the head and the tail and says how to read all",
    async () => {
      const result = await runJson("run-bash", "seq 1 5000", [
        "--max-output",
        "2k",
      ]);
      assert.equal(result.json.truncated, true);
      const output = String(result.json.output);
      assert.ok(new TextEncoder().encode(output).length <= 2048);
      assert.match(output, /^1\n2\n3\n/);
      assert.match(output, /\n5000\n?$/);
      assert.match(output, /bytes omitted/);
      const human = await run("run-bash", "seq 1 5000", ["--max-output", "2k"]);
      assert.match(
        human.stderr,
        /sessh logs run-bash sessh-test --since \d+ --raw/,
      );
    },
  );

  await t.step(
    "exiting the shell ends the session and reports its status",
    async () => {
      await sessh(sshd, ["open", "run-exit", dest]);
      const result = await runJson("run-exit", "exit 5");
      assert.equal(result.code, 5, result.stderr);
      assert.equal(result.json.shell_exited, true);
      const list = await sesshJson(sshd, ["list", dest]);
      const names = (list.json.sessions as { name: string }[]).map((s) =>
        s.name
      );
      assert.ok(!names.includes("run-exit"), names.join(","));
    },
  );
});
