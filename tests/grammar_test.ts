/**
 * The command line's grammar, end to end through the real CLI: one rule for
 * the payload after `--`, values checked against their range, help and
 * version. Every case is refused (or answered) before ssh could run, so no
 * sshd is needed: each call gets a control directory that must stay absent.
 */
import assert from "node:assert/strict";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

async function cli(args: string[], env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", CLI, ...args],
      env: { SESSH_CONTROL_DIR: `${dir}/ctl`, NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    let touched = true;
    await Deno.stat(`${dir}/ctl`).catch(() => touched = false);
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      touched,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the payload of run, send and keys goes after -- and nowhere else", async (t) => {
  const table: [string[], string][] = [
    [
      ["run", "work", "box", "echo", "hi"],
      'sessh: Unexpected argument "echo"; put the COMMAND after --: sessh run work box -- echo hi\n',
    ],
    [
      ["run", "work", "host", "uptime"],
      'sessh: Unexpected argument "uptime"; put the COMMAND after --: sessh run work host -- uptime\n',
    ],
    [
      ["run", "work", "host", "ls -la"],
      "sessh: Unexpected argument \"ls -la\"; put the COMMAND after --: sessh run work host -- 'ls -la'\n",
    ],
    [
      ["run", "work", "host", "ls", "-la"],
      'sessh: Unexpected argument "ls"; put the COMMAND after --: sessh run work host -- ls -la\n',
    ],
    [
      ["run", "-p", "2222", "w", "h", "--timeout", "5", "grep", "-i", "it's"],
      "sessh: Unexpected argument \"grep\"; put the COMMAND after --: sessh run -p 2222 w h --timeout 5 -- grep -i 'it'\\''s'\n",
    ],
    [
      ["send", "work", "box", "2222", "typed"],
      'sessh: Unexpected argument "typed"; put the TEXT after --: sessh send work box 2222 -- typed\n',
    ],
    [
      ["keys", "work", "box", "--no-such", "C-c"],
      'sessh: Unknown option "--no-such" (see sessh keys --help)\n',
    ],
    [
      ["keys", "work", "box", "C-c"],
      'sessh: Unexpected argument "C-c"; put the KEY… after --: sessh keys work box -- C-c\n',
    ],
    [
      ["run", "work", "box"],
      "sessh: No COMMAND given; put it after --: sessh run NAME DEST -- COMMAND\n",
    ],
    [
      ["keys", "work", "box"],
      "sessh: No KEY… given; put it after --: sessh keys NAME DEST -- KEY…\n",
    ],
    [
      ["run", "work", "box", "make", "--", "test"],
      'sessh: Unexpected argument "make"; put the COMMAND after --: sessh run work box -- make test\n',
    ],
  ];
  for (const [args, stderr] of table) {
    await t.step(args.join(" "), async () => {
      const result = await cli(args);
      assert.equal(result.stderr, stderr);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, "");
      assert.equal(result.touched, false);
    });
  }
});

Deno.test("out-of-range values are refused with the accepted range", async (t) => {
  const table: [string[], string][] = [
    [
      ["open", "w", "box", "--cols", "0"],
      'Invalid --cols "0"; give a whole number from 2 to 1000',
    ],
    [
      ["open", "w", "box", "--rows", "abc"],
      'Invalid --rows "abc"; give a whole number from 2 to 1000',
    ],
    [
      ["open", "w", "box", "--buffer-size", "10G"],
      'Invalid --buffer-size "10G"; give 4k to 256M',
    ],
    [
      ["logs", "w", "box", "0"],
      'Invalid LINES "0"; give a whole number from 1 to 100000000',
    ],
    [
      ["list", "box", "70000"],
      'Invalid PORT "70000"; give a whole number from 1 to 65535',
    ],
    [
      ["wait", "w", "box", "--timeout", "soon"],
      'Invalid --timeout "soon"; give seconds, e.g. 60, 1.5, 90s, 2m',
    ],
    [
      ["wait", "w", "box", "--timeout", "600h"],
      'Invalid --timeout "600h"; give more than 0 and at most 24h (86400 s)',
    ],
    [
      ["wait", "w", "box", "--timeout", "0"],
      'Invalid --timeout "0"; give more than 0 and at most 24h (86400 s)',
    ],
    [
      ["wait", "w", "box", "--for", "("],
      "Invalid --for pattern: Invalid regular expression: /(/m: Unterminated group",
    ],
  ];
  for (const [args, message] of table) {
    await t.step(args.slice(3).join(" ") || args.join(" "), async () => {
      const result = await cli(["--json", ...args]);
      assert.equal(result.code, 2);
      assert.deepEqual(JSON.parse(result.stdout), {
        ok: false,
        op: args[0],
        error: { code: "usage", message },
      });
      assert.equal(result.touched, false);
    });
  }
});

Deno.test("a timeout of 0 or over a day is refused before anything runs", async (t) => {
  const table: [string[], Record<string, string>, string][] = [
    [
      ["run", "w", "box", "--timeout", "600h", "--", "true"],
      {},
      'sessh: Invalid --timeout "600h"; give more than 0 and at most 24h (86400 s)\n',
    ],
    [
      ["run", "w", "box", "--timeout", "0", "--", "true"],
      {},
      'sessh: Invalid --timeout "0"; give more than 0 and at most 24h (86400 s)\n',
    ],
    [
      ["run", "w", "box", "--", "true"],
      { SESSH_TIMEOUT: "0" },
      'sessh: Invalid SESSH_TIMEOUT "0"; give more than 0 and at most 24h (86400 s)\n',
    ],
    [
      ["wait", "w", "box", "--done"],
      { SESSH_TIMEOUT: "25h" },
      'sessh: Invalid SESSH_TIMEOUT "25h"; give more than 0 and at most 24h (86400 s)\n',
    ],
  ];
  for (const [args, env, stderr] of table) {
    const name = `${Object.keys(env).map((k) => `${k}=${env[k]} `).join("")}${
      args.join(" ")
    }`;
    await t.step(name, async () => {
      const result = await cli(args, env);
      assert.equal(result.stderr, stderr);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, "");
      assert.equal(result.touched, false);
    });
  }
});

Deno.test("a mistyped option or verb is named with the near miss", async () => {
  const option = await cli(["wait", "w", "box", "--timout", "5"]);
  assert.equal(option.code, 2);
  assert.equal(
    option.stderr,
    'sessh: Unknown option "--timout"; did you mean --timeout? (see sessh wait --help)\n',
  );
  const verb = await cli(["lst", "box"]);
  assert.equal(verb.code, 2);
  assert.equal(
    verb.stderr,
    'sessh: Unknown command "lst"; did you mean list? (see sessh --help)\n',
  );
});

Deno.test("--help states the -- rule and --version prints the version", async () => {
  const help = await cli(["run", "--help"]);
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /sessh run NAME DEST \[PORT\] \[options\] -- COMMAND…/,
  );
  assert.match(help.stdout, /--max-output/);
  const top = await cli(["--help"]);
  assert.equal(top.code, 0);
  for (
    const verb of [
      "open",
      "run",
      "send",
      "keys",
      "logs",
      "wait",
      "close",
      "attach",
    ]
  ) {
    assert.match(top.stdout, new RegExp(`^  ${verb} `, "m"));
  }
  const version = await cli(["--version"]);
  assert.equal(version.code, 0);
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  );
  assert.equal(version.stdout, `${config.version}\n`);
});

Deno.test("help: sessh help [VERB], usage lines of 100 characters at most, flags as the README names them", async (t) => {
  const top = await cli(["--help"]);
  await t.step("sessh help is sessh --help", async () => {
    const help = await cli(["help"]);
    assert.equal(help.code, 0);
    assert.equal(help.stdout, top.stdout);
  });
  await t.step("sessh help run is sessh run --help", async () => {
    const help = await cli(["help", "run"]);
    assert.equal(help.code, 0);
    assert.equal(help.stdout, (await cli(["run", "--help"])).stdout);
  });
  await t.step("sessh help nosuch names the unknown verb", async () => {
    const help = await cli(["help", "nosuch"]);
    assert.equal(help.code, 2);
    assert.equal(
      help.stderr,
      'sessh: Unknown command "nosuch" (see sessh --help)\n',
    );
  });
  const usage = top.stdout.split("\n\n")[0].split("\n").slice(1);
  await t.step("one short usage line per verb, -- with the payload", () => {
    for (const line of usage) assert.ok(line.length <= 100, line);
    for (
      const line of [
        "  sessh run NAME DEST [PORT] [options] -- COMMAND…",
        "  sessh send NAME DEST [PORT] [options] -- TEXT…",
        "  sessh keys NAME DEST [PORT] [options] -- KEY…",
        "  sessh screen NAME DEST [LINES] [PORT] [options]",
        "  sessh logs NAME DEST [LINES] [PORT] [options]",
        "  sessh forward DEST [PORT] [options]",
      ]
    ) {
      assert.ok(usage.includes(line), `${line} in\n${usage.join("\n")}`);
    }
  });
  const verbs = [
    ...["attach", "close", "completions", "cp", "detach", "events", "forward"],
    ...["history", "keys", "list", "logs", "mcp", "open", "record", "result"],
    ...["run", "screen", "secret", "send", "status", "wait", "watch"],
  ];
  for (const verb of verbs) {
    await t.step(
      `${verb} --help: the same usage line, flags by name`,
      async () => {
        const help = await cli([verb, "--help"]);
        const lines = help.stdout.split("\n");
        assert.ok(usage.includes(lines[1]), lines[1]);
        for (const line of lines) {
          assert.ok([...line].length <= 100, `${line.length}: ${line}`);
        }
        assert.doesNotMatch(help.stdout, /--wait\/|--agent-env\//);
        if (verb === "run") assert.match(help.stdout, / \[--no-wait\] /);
        if (verb === "open") assert.match(help.stdout, / \[--no-agent-env\] /);
      },
    );
  }
});

Deno.test("the slips: watch without a terminal, a word that names no key", async (t) => {
  const table: [string[], string][] = [
    [
      ["watch", "w", "box"],
      "sessh: sessh watch needs a terminal on stdin and stdout; agents use run, send, keys and logs instead\n",
    ],
    [
      ["attach", "w", "box"],
      "sessh: sessh attach needs a terminal on stdin and stdout; agents use run, send, keys and logs instead\n",
    ],
    [
      ["keys", "w", "box", "--", "C-c", "Foo"],
      'sessh: Unknown key "Foo"; give key names (Enter, Escape, Tab, BTab, BSpace, Space, Up, Down, Left, Right, Home, End, PageUp, PageDown, IC, DC, F1…F12, one character, or C-, M-, S- before one: C-c, M-x), or --literal to type words as text\n',
    ],
  ];
  for (const [args, stderr] of table) {
    await t.step(args.join(" "), async () => {
      const result = await cli(args);
      assert.equal(result.stderr, stderr);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, "");
      assert.equal(result.touched, false);
    });
  }
});
