/**
 * The completion scripts as the shells run them: bash's completion
 * function, given the words typed, asks the real CLI and offers its answers.
 */
import assert from "node:assert/strict";
import { startPane } from "./_tmux.ts";

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
    assert.deepEqual(await bashCompletes(["he"], home), ["help"]);
    assert.deepEqual(await bashCompletes(["help", "cl"], home), ["close"]);
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

Deno.test("bash TAB inserts a hostile host name quoted, and nothing runs", async (t) => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${home}/.ssh`);
    // Names a shell would run as code if typed in as they are: ssh reads
    // each as one word (no blank), and so does the config parser.
    const hostile = [
      `alpha$(touch\${IFS}${home}/ran-1)`,
      `beta\`touch\${IFS}${home}/ran-2\``,
      `gamma;touch\${IFS}${home}/ran-3`,
      `delta|touch\${IFS}${home}/ran-4`,
      `epsilon&&touch\${IFS}${home}/ran-5`,
      `zeta>${home}/ran-6`,
    ];
    await Deno.writeTextFile(
      `${home}/.ssh/config`,
      hostile.map((host) => `Host ${host}\n  User me\n`).join(""),
    );
    await Deno.writeTextFile(
      `${home}/.bashrc`,
      [
        `sessh() { ${JSON.stringify(Deno.execPath())} run -A --quiet ${
          JSON.stringify(CLI)
        } "$@"; }`,
        'eval "$(sessh completions bash)"',
        "PS1='$ '",
        // Else bash writes ~/.bash_history as it exits, which can race the
        // removal of the home directory once the pane is gone.
        "unset HISTFILE",
      ].join("\n") + "\n",
    );
    await using pane = await startPane(
      ["bash", "--noprofile", "--rcfile", `${home}/.bashrc`, "-i"],
      {
        cols: 200,
        env: {
          HOME: home,
          DENO_DIR: Deno.env.get("DENO_DIR") ??
            `${Deno.env.get("HOME")}/.cache/deno`,
          DENO_NO_UPDATE_CHECK: "1",
          NO_COLOR: "1",
        },
      },
    );
    await pane.waitFor(/^\$$/m);
    for (const [i, host] of hostile.entries()) {
      await t.step(host.slice(0, host.indexOf(home)), async () => {
        await pane.keys("C-e", "C-u", "C-l");
        await pane.waitFor(/^\$$/);
        // The completed line is echoed instead of run: what echo prints is
        // the word as bash reads it, expansions and all.
        await pane.type(`sessh run w ${host.slice(0, 3)}`);
        await pane.keys("Tab");
        const line = await pane.waitFor(/^\$ sessh run w \S{6,}/, 30_000);
        await pane.keys("C-a");
        await pane.type("echo ");
        await pane.keys("Enter");
        const screen = await pane.waitFor(/\n\$$/);
        let ran = true;
        await Deno.stat(`${home}/ran-${i + 1}`).catch(() => ran = false);
        assert.equal(ran, false, "the name ran as a command");
        assert.equal(screen.split("\n")[1], `sessh run w ${host}`);
        assert.ok(!line.includes(host), `inserted unquoted: ${line}`);
      });
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("zsh TAB inserts a hostile host name quoted, and nothing runs", async () => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${home}/.ssh`);
    const host = `alpha$(touch\${IFS}${home}/ran)`;
    await Deno.writeTextFile(`${home}/.ssh/config`, `Host ${host}\n`);
    await Deno.writeTextFile(
      `${home}/.zshrc`,
      [
        "autoload -Uz compinit && compinit -u",
        `sessh() { ${JSON.stringify(Deno.execPath())} run -A --quiet ${
          JSON.stringify(CLI)
        } "$@"; }`,
        'eval "$(sessh completions zsh)"',
        "PS1='$ '",
      ].join("\n") + "\n",
    );
    await using pane = await startPane(["zsh", "-i"], {
      cols: 200,
      env: {
        HOME: home,
        ZDOTDIR: home,
        DENO_DIR: Deno.env.get("DENO_DIR") ??
          `${Deno.env.get("HOME")}/.cache/deno`,
        DENO_NO_UPDATE_CHECK: "1",
        NO_COLOR: "1",
      },
    });
    await pane.waitFor(/^\$$/m);
    await pane.type("sessh run w alp");
    await pane.keys("Tab");
    const line = await pane.waitFor(/^\$ sessh run w \S{6,}/, 30_000);
    await pane.keys("C-a");
    await pane.type("echo ");
    await pane.keys("Enter");
    const screen = await pane.waitFor(/\n\$$/);
    let ran = true;
    await Deno.stat(`${home}/ran`).catch(() => ran = false);
    assert.equal(ran, false, "the name ran as a command");
    assert.equal(screen.split("\n")[1], `sessh run w ${host}`);
    assert.ok(!line.includes(host), `inserted unquoted: ${line}`);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("bash -i TAB completes a host from an Included config, --no-wait and key names", async (t) => {
  const home = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${home}/.ssh/conf.d`, { recursive: true });
    await Deno.writeTextFile(
      `${home}/.ssh/config`,
      "Include conf.d/*.conf\nHost *\n  ServerAliveInterval 30\n",
    );
    await Deno.writeTextFile(
      `${home}/.ssh/conf.d/lab.conf`,
      "Host included-box\n  User me\n",
    );
    await Deno.writeTextFile(
      `${home}/.bashrc`,
      [
        `sessh() { ${JSON.stringify(Deno.execPath())} run -A --quiet ${
          JSON.stringify(CLI)
        } "$@"; }`,
        'eval "$(sessh completions bash)"',
        "PS1='$ '",
        // Else bash writes ~/.bash_history as it exits, which can race the
        // removal of the home directory once the pane is gone.
        "unset HISTFILE",
      ].join("\n") + "\n",
    );
    await using pane = await startPane(
      ["bash", "--noprofile", "--rcfile", `${home}/.bashrc`, "-i"],
      {
        cols: 200,
        env: {
          HOME: home,
          DENO_DIR: Deno.env.get("DENO_DIR") ??
            `${Deno.env.get("HOME")}/.cache/deno`,
          DENO_NO_UPDATE_CHECK: "1",
          NO_COLOR: "1",
        },
      },
    );
    await pane.waitFor(/^\$$/m);
    const cases: [string, string][] = [
      ["sessh logs w incl", "sessh logs w included-box"],
      ["sessh run w box --no-w", "sessh run w box --no-wait"],
      ["sessh keys w box -- PageU", "sessh keys w box -- PageUp"],
      ["sessh keys w box -- esc", "sessh keys w box -- Escape"],
    ];
    for (const [typed, completed] of cases) {
      await t.step(typed, async () => {
        await pane.keys("C-e", "C-u", "C-l");
        await pane.waitFor(/^\$$/);
        await pane.type(typed);
        await pane.keys("Tab");
        // The screen is read with trailing blanks trimmed.
        const screen = await pane.waitFor(
          new RegExp(`^\\$ ${RegExp.escape(completed.trimEnd())}$`, "m"),
          30_000,
        );
        assert.equal(screen.split("\n")[0], `$ ${completed}`.trimEnd());
      });
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
