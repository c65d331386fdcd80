/**
 * The completion scripts as the shells run them: bash's completion
 * function, given the words typed, asks the real CLI and offers its answers.
 */
import assert from "node:assert/strict";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** COMPREPLY of `sessh WORDS…` completed in bash, the last word partial. */
async function bashCompletes(words: string[], home: string): Promise<string[]> {
  const script = [
    `sessh() { ${JSON.stringify(Deno.execPath())} run -A --quiet ${
      JSON.stringify(CLI)
    } "$@"; }`,
    'eval "$(sessh completions bash)"',
    `COMP_WORDS=(sessh ${words.map((w) => `'${w}'`).join(" ")})`,
    `COMP_CWORD=${words.length}`,
    "_sessh_complete",
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join("\n");
  const { code, stdout, stderr } = await new Deno.Command("bash", {
    args: ["-c", script],
    // deno's caches live under HOME unless DENO_DIR says otherwise.
    env: {
      HOME: home,
      DENO_DIR: Deno.env.get("DENO_DIR") ??
        `${Deno.env.get("HOME")}/.cache/deno`,
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout).split("\n").filter(Boolean);
}

Deno.test("bash completes verbs, flags and hosts from ~/.ssh/config", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${home}/.ssh`);
    await Deno.writeTextFile(
      `${home}/.ssh/config`,
      "Host build-box db1\n  User me\nHost *\n  ServerAliveInterval 30\n",
    );
    assert.deepEqual(await bashCompletes(["cl"], home), ["close"]);
    assert.deepEqual(await bashCompletes(["run", "--ti"], home), ["--timeout"]);
    const dest = await bashCompletes(["logs", "work", ""], home);
    assert.ok(dest.includes("build-box") && dest.includes("db1"), String(dest));
    assert.ok(!dest.includes("*"));
    assert.deepEqual(await bashCompletes(["completions", "z"], home), ["zsh"]);
    const hidden = await bashCompletes(["__c"], home);
    assert.deepEqual(hidden, [], "the hidden verb is not offered");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the zsh script parses", async () => {
  const script = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, "completions", "zsh"],
    stdout: "piped",
  }).output();
  const { code, stderr } = await new Deno.Command("zsh", {
    args: ["-n", "-c", new TextDecoder().decode(script.stdout)],
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
});
