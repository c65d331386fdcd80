/**
 * `sessh secret`: a secret typed at a prompt with echo off reaches the
 * program and nothing else: no command line, no file, no output.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";
import { listPids, readCmdline } from "../lib/ssh/procfs.ts";
import { filesHolding } from "./_probes.ts";

Deno.test("a secret typed at a password prompt reaches the program and appears nowhere else", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const secret = `pw-${crypto.randomUUID()}`;
  const env = { SESSH_TEST_SECRET: secret };
  assert.equal(
    (await sessh(sshd, ["open", "s", dest, "--shell", "bash"])).code,
    0,
  );

  await t.step("refused while the terminal echoes, with exit 3", async () => {
    const refused = await sesshJson(sshd, [
      "secret",
      "s",
      dest,
      "--from-env",
      "SESSH_TEST_SECRET",
    ], { env });
    assert.equal(refused.code, 3);
    const error = refused.json.error as { code: string; message: string };
    assert.equal(error.code, "terminal_echoes");
    assert.match(error.message, /shows what is typed/);
  });

  await t.step(
    "typed at read -s, and redacted when the program prints it",
    async () => {
      const asked = await sesshJson(sshd, [
        "run",
        "s",
        dest,
        "--no-wait",
        "--",
        'read -r -s -p \'Password: \' pw; echo; echo "len=${#pw}"; echo "again: $pw"',
      ]);
      assert.equal(asked.code, 0, asked.stderr);
      const prompt = await sessh(sshd, [
        "wait",
        "s",
        dest,
        "--for",
        "Password: $",
        "--timeout",
        "20",
      ]);
      assert.equal(prompt.code, 0, prompt.stderr);
      const typed = await sesshJson(sshd, [
        "secret",
        "s",
        dest,
        "--from-env",
        "SESSH_TEST_SECRET",
      ], { env });
      assert.equal(typed.code, 0, JSON.stringify(typed.json));
      const done = await sesshJson(sshd, [
        "wait",
        "s",
        dest,
        "--done",
        "--timeout",
        "20",
      ]);
      assert.equal(done.code, 0, done.stderr);
      const output = String(done.json.output);
      assert.match(output, new RegExp(`len=${secret.length}\\n`));
      assert.match(output, /again: \[REDACTED\]/);
    },
  );

  await t.step(
    "typed from a file at a prompt that turned echo off itself",
    async () => {
      const file = `${sshd.dir}/secret.txt`;
      await Deno.writeTextFile(file, secret + "\n");
      await sessh(sshd, [
        "run",
        "s",
        dest,
        "--no-wait",
        "--",
        "stty -echo; printf 'token? '; IFS= read -r tok; stty echo; echo; echo \"got ${#tok}\"",
      ]);
      await sessh(sshd, [
        "wait",
        "s",
        dest,
        "--for",
        "token\\? $",
        "--timeout",
        "20",
      ]);
      const typed = await sessh(sshd, [
        "secret",
        "s",
        dest,
        "--from-file",
        file,
      ]);
      assert.equal(typed.code, 0, typed.stderr);
      await Deno.remove(file);
      const done = await sesshJson(sshd, [
        "wait",
        "s",
        dest,
        "--done",
        "--timeout",
        "20",
      ]);
      assert.match(
        String(done.json.output),
        new RegExp(`got ${secret.length}`),
      );
    },
  );

  await t.step("the secret is in no output, command line or file", async () => {
    const needle = new TextEncoder().encode(secret);
    for (const args of [["logs", "s", dest, "1000"], ["screen", "s", dest]]) {
      const shown = await sessh(sshd, args);
      assert.equal(shown.code, 0, shown.stderr);
      assert.ok(!shown.stdout.includes(secret), `${args[0]} shows it`);
    }
    const raw = await sessh(sshd, ["logs", "s", dest, "--raw", "--since", "0"]);
    assert.ok(!raw.stdout.includes(secret), "the buffer holds it");
    for (const pid of listPids()) {
      const argv = readCmdline(pid)?.join(" ") ?? "";
      assert.ok(!argv.includes(secret), `process ${pid}: ${argv.slice(0, 80)}`);
    }
    // The fixture's directory holds the remote home, runtime, state and
    // helper cache directories, the daemon's log and the control directory.
    assert.deepEqual(await filesHolding(sshd.dir, needle), []);
  });
});
