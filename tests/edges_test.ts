/**
 * Edges a user can reach, each answered exactly: a closed stdout ends the
 * call quietly (as `cat` does), and bytes the renderer cannot parse print
 * nothing on stderr.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { sessh } from "./_cli.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

/**
 * Runs `sessh ARGS… | READER` in bash: sessh's exit code and stderr, and
 * what the reader printed.
 */
async function piped(
  sshd: TestSshd,
  args: string[],
  reader: string,
): Promise<{ code: number; stderr: string; stdout: string }> {
  const dashdash = args.indexOf("--");
  const full = dashdash < 0
    ? [...args, ...sshd.sshArgs]
    : [...args.slice(0, dashdash), ...sshd.sshArgs, ...args.slice(dashdash)];
  const errFile = `${sshd.dir}/piped.err`;
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      `"$@" 2>"$ERR" | ${reader}; echo "\${PIPESTATUS[0]}" >"$ERR.code"`,
      "bash",
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      CLI,
      ...full,
    ],
    env: { ...sshd.env, ERR: errFile },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(60_000),
  }).output();
  return {
    code: Number((await Deno.readTextFile(`${errFile}.code`)).trim()),
    stderr: await Deno.readTextFile(errFile),
    stdout: new TextDecoder().decode(out.stdout),
  };
}

Deno.test("a closed stdout ends the call quietly with exit 141", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const setup = await sessh(sshd, ["run", "w", dest, "--", "true"]);
  assert.equal(setup.code, 0, setup.stderr);

  await t.step("run … | head -1", async () => {
    const result = await piped(
      sshd,
      ["run", "w", dest, "--", "seq 1 50000"],
      "head -1",
    );
    assert.equal(result.stdout, "1\n");
    assert.equal(result.stderr, "");
    assert.equal(result.code, 141);
  });

  await t.step("record --output - | head -c 10", async () => {
    const result = await piped(
      sshd,
      ["record", "w", dest, "--since", "0", "--output", "-"],
      "head -c 10",
    );
    assert.equal(result.stdout.length, 10);
    assert.equal(result.stderr, "");
    assert.equal(result.code, 141);
  });
});

Deno.test("a DEL byte in the output prints nothing on stderr", async () => {
  await using sshd = await startSshd();
  const run = await sessh(sshd, [
    "run",
    "w",
    sshd.dest,
    "--",
    "printf 'a\\177b\\n'",
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, "");
  assert.equal(run.stdout, "ab\n");
  const screen = await sessh(sshd, ["screen", "w", sshd.dest]);
  assert.equal(screen.code, 0, screen.stderr);
  assert.match(
    screen.stderr,
    /^sessh: cursor at row \d+, column \d+ \(\d+x\d+\)\n$/,
  );
});
