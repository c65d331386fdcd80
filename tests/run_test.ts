import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";

const SHELLS = ["bash", "zsh", "dash"];

Deno.test("run drives a persistent shell in bash, zsh and dash", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;

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
        const setup = await sessh(sshd, [
          "run",
          name,
          dest,
          "--",
          "cd /tmp && export SESSH_X=42 && greet() { echo \"hi $1\"; } && alias ll='echo aliased'",
        ]);
        assert.equal(setup.code, 0, setup.stderr);
        assert.equal(setup.stdout, "");
        const check = await sessh(sshd, [
          "run",
          name,
          dest,
          "--",
          "pwd; echo $SESSH_X; greet you; ll",
        ]);
        assert.equal(check.stdout, "/tmp\n42\nhi you\naliased\n", check.stderr);
        assert.equal(check.code, 0);
      },
    );

    await t.step(
      `${shell}: the exit status of the command is the exit code`,
      async () => {
        const failing = await sessh(sshd, [
          "run",
          name,
          dest,
          "--",
          "ls /nonexistent-sessh",
        ]);
        assert.equal(failing.code, 2);
        assert.match(failing.stdout, /nonexistent-sessh/);
        const seven = await sesshJson(sshd, [
          "run",
          name,
          dest,
          "--",
          "(exit 7)",
        ]);
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
      const result = await sessh(sshd, ["run", name, dest, "--", command]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await Deno.readTextFile(file), text + "\n");
      assert.equal(result.stdout.trim(), "6");
    });

    await t.step(
      `${shell}: a command far past the 4 KiB line limit arrives whole`,
      async () => {
        const long = "x".repeat(20_000);
        const result = await sessh(sshd, [
          "run",
          name,
          dest,
          "--",
          `echo ${long} | wc -c`,
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout.trim(), "20001");
      },
    );

    await t.step(
      `${shell}: output is only the command's, rendered as plain text`,
      async () => {
        const result = await sessh(sshd, [
          "run",
          name,
          dest,
          "--",
          "printf 'progress 10%%\\rprogress 100%%\\n'; printf '\\033[31mred\\033[0m\\n'",
        ]);
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
    const result = await sesshJson(sshd, [
      "run",
      "run-fresh",
      dest,
      "--",
      "echo fresh",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.json.created, true);
    assert.equal(result.json.output, "fresh\n");
  });

  await t.step(
    "a run while another command runs is refused as busy unless --force",
    async () => {
      const started = await sessh(sshd, [
        "run",
        "run-bash",
        dest,
        "--no-wait",
        "--",
        "sleep 30",
      ]);
      assert.equal(started.code, 0, started.stderr);
      const busy = await sesshJson(sshd, [
        "run",
        "run-bash",
        dest,
        "--",
        "echo no",
      ]);
      assert.equal(busy.code, 1);
      assert.equal(
        (busy.json.error as Record<string, string>).code,
        "session_busy",
      );
      assert.match(
        (busy.json.error as Record<string, string>).message,
        /busy running sleep 30/,
      );
      const human = await sessh(sshd, [
        "run",
        "run-bash",
        dest,
        "--",
        "echo no",
      ]);
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
      const after = await sessh(sshd, [
        "run",
        "run-bash",
        dest,
        "--",
        "echo free",
      ]);
      assert.equal(after.stdout, "free\n");
    },
  );

  await t.step(
    "--force interrupts the busy command and runs in its place",
    async () => {
      await sessh(sshd, [
        "run",
        "run-bash",
        dest,
        "--no-wait",
        "--",
        "read line; echo got:$line",
      ]);
      const forced = await sesshJson(sshd, [
        "run",
        "run-bash",
        dest,
        "--force",
        "--",
        "echo hello",
      ]);
      assert.equal(forced.code, 0, forced.stderr);
      assert.equal(forced.json.output, "hello\n");
      assert.equal(forced.json.exit_code, 0);
    },
  );

  await t.step(
    "a timeout prints what there is, gives a cursor and exits 124",
    async () => {
      const slow = await sessh(sshd, [
        "run",
        "run-bash",
        dest,
        // The budget covers connecting too: 1 s may not be enough on a
        // loaded machine. The command waits for a line, so it is still
        // running when the budget ends however slow the call was.
        "--timeout",
        "3",
        "--",
        "echo started; read _; echo finished",
      ]);
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
      const result = await sesshJson(sshd, [
        "run",
        "run-bash",
        dest,
        "--max-output",
        "2k",
        "--",
        "seq 1 5000",
      ]);
      assert.equal(result.json.truncated, true);
      const output = String(result.json.output);
      assert.ok(new TextEncoder().encode(output).length <= 2048);
      assert.match(output, /^1\n2\n3\n/);
      assert.match(output, /\n5000\n?$/);
      assert.match(output, /bytes omitted/);
      const human = await sessh(sshd, [
        "run",
        "run-bash",
        dest,
        "--max-output",
        "2k",
        "--",
        "seq 1 5000",
      ]);
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
      const result = await sesshJson(sshd, [
        "run",
        "run-exit",
        dest,
        "--",
        "exit 5",
      ]);
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
