/**
 * Bad input is refused before ssh runs: names, destinations and options
 * that ssh could read as options never reach it, and usage errors always
 * reach stderr with exit 2.
 */
import assert from "node:assert/strict";
import { SesshClient } from "../lib/session/client.ts";
import { SesshError } from "../lib/errors.ts";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { type CliResult, jsonFailure, sessh, sesshJson } from "./_cli.ts";
import { exists } from "./_probes.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

Deno.test("bad names, destinations and options exit 2 before ssh runs", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  // A control directory that does not exist yet: sessh creates it before running any ssh.
  const controlDir = `${sshd.dir}/untouched-ctl`;
  const marker = `${sshd.dir}/pwned`;
  const env = { SESSH_CONTROL_DIR: controlDir };
  const assertNoSsh = () => {
    assert.equal(
      exists(controlDir),
      false,
      "the control directory was created, so ssh was about to run",
    );
    assert.equal(exists(marker), false, "a ProxyCommand ran");
  };

  await t.step("invalid session names fail with invalid_name", async (t) => {
    for (
      const name of ["bad name", "../x", "a".repeat(65), "", "x/y", "naïve"]
    ) {
      await t.step(
        JSON.stringify(
          name.length > 20 ? `${name.slice(0, 8)}… (${name.length})` : name,
        ),
        async () => {
          const result = await sessh(sshd, ["--json", "open", name, dest], {
            env,
          });
          assert.equal(result.code, 2, result.stdout);
          const error = jsonFailure(result, "open");
          assert.equal(error.code, "invalid_name");
          assert.equal(
            error.message,
            `Invalid session name ${
              JSON.stringify(name)
            }; use 1 to 64 letters, digits, ".", "_" or "-"`,
          );
          assert.equal(result.stderr, "");
          assertNoSsh();
        },
      );
    }
  });

  await t.step(
    "every verb checks the name, and human mode prints one line on stderr",
    async () => {
      const verbs = [
        ["run", "bad name", dest, "--", "true"],
        ["send", "bad name", dest, "--", "x"],
        ["keys", "bad name", dest, "--", "Enter"],
        ["logs", "bad name", dest],
        ["screen", "bad name", dest],
        ["wait", "bad name", dest, "--idle", "10"],
        ["status", "bad name", dest],
        ["close", "bad name", dest],
      ];
      for (const args of verbs) {
        const result = await sessh(sshd, args, { env });
        assert.equal(result.code, 2, `${args[0]}: ${result.stderr}`);
        assert.equal(result.stdout, "");
        assert.equal(
          result.stderr,
          `sessh: Invalid session name "bad name"; use 1 to 64 letters, digits, ".", "_" or "-"\n`,
        );
      }
      assertNoSsh();
    },
  );

  await t.step(
    'a name beginning with "-" is refused as an unknown option',
    async () => {
      const result = await sessh(sshd, ["--json", "open", "-x", dest], { env });
      assert.equal(result.code, 2);
      assert.deepEqual(jsonFailure(result, "open"), {
        code: "usage",
        message: 'Unknown option "-x"',
      });
      assertNoSsh();
    },
  );

  await t.step(
    'destinations beginning with "-" fail with invalid_destination',
    async () => {
      const table: [string, string][] = [
        ["-", 'Destination "-" begins with "-"'],
        [
          "ssh://-oProxyCommand=sh",
          'Host "-oProxyCommand=sh" in "ssh://-oProxyCommand=sh" begins with "-"',
        ],
        [
          "me@-oProxyCommand=sh",
          'Host "-oProxyCommand=sh" in "me@-oProxyCommand=sh" begins with "-"',
        ],
        [
          "ssh://-oProxyCommand=sh@host",
          'User "-oProxyCommand=sh" in "ssh://-oProxyCommand=sh@host" begins with "-"',
        ],
      ];
      for (const [destination, start] of table) {
        const result = await sessh(sshd, [
          "--json",
          "open",
          "work",
          destination,
        ], { env });
        assert.equal(result.code, 2, result.stdout);
        const error = jsonFailure(result, "open");
        assert.equal(error.code, "invalid_destination");
        assert.equal(
          error.message,
          `${start}; pass user@host, ssh://user@host:port or an ssh config alias`,
        );
        assertNoSsh();
      }
    },
  );

  await t.step(
    '"-oProxyCommand=…" as the last positional is refused',
    async () => {
      for (
        const args of [["open", "work"], ["run", "work"], ["status", "work"]]
      ) {
        const result = await sessh(sshd, [
          "--json",
          ...args,
          `-oProxyCommand=touch ${marker}`,
          "--",
          "true",
        ], {
          env,
        });
        assert.equal(result.code, 2, result.stdout);
        const error = jsonFailure(result, args[0]);
        assert.equal(error.code, "invalid_destination");
        assert.match(error.message, /"-oProxyCommand=/);
        assertNoSsh();
      }
    },
  );

  await t.step(
    'the library refuses "-oProxyCommand=…" as a destination',
    async () => {
      const error = await SesshClient.connect({
        destination: `-oProxyCommand=touch ${marker}`,
        env,
        ssh: { configFile: sshd.configFile },
      }).then(
        () => assert.fail("connected"),
        (error) => error,
      );
      assert.ok(error instanceof SesshError);
      assert.equal(error.code, "invalid_destination");
      assert.equal(error.exitCode, 2);
      assertNoSsh();
    },
  );

  await t.step("unknown options exit 2 and are named", async () => {
    const json = await sessh(
      sshd,
      ["--json", "open", "work", dest, "--bogus"],
      { env },
    );
    assert.equal(json.code, 2);
    assert.deepEqual(jsonFailure(json, "open"), {
      code: "usage",
      message: 'Unknown option "--bogus"',
    });
    assert.equal(json.stderr, "");
    // What human mode prints is checked by the test of the lost-write bug below.
    const human = await sessh(sshd, ["open", "work", dest, "--bogus"], { env });
    assert.equal(human.code, 2);
    assert.equal(human.stdout, "");
    const verb = await sessh(sshd, ["--json", "frobnicate", "work", dest], {
      env,
    });
    assert.equal(verb.code, 2);
    assert.equal(jsonFailure(verb, "frobnicate").code, "usage");
    assertNoSsh();
  });

  await t.step(
    "invalid UTF-8 in a name, destination, path or shell is refused, naming the field",
    async (t) => {
      // Deno gives each invalid byte as U+FFFD: "\uFFFD" below is sent as 0xFF.
      const fault =
        "contains U+FFFD, the mark of invalid UTF-8; give it as valid UTF-8 text";
      const table: [args: string[], code: string, message: string][] = [
        [
          ["open", "w", "lab\uFFFD"],
          "invalid_destination",
          `Destination "lab\uFFFD" ${fault}`,
        ],
        [
          ["open", "w\uFFFD", dest],
          "invalid_name",
          'Invalid session name "w\uFFFD"; use 1 to 64 letters, digits, ".", "_" or "-"',
        ],
        [["cp", "a\uFFFD", `${dest}:b`], "usage", `SRC "a\uFFFD" ${fault}`],
        [
          ["cp", "w", `${dest}:b\uFFFD`, "out"],
          "usage",
          `SRC "${dest}:b\uFFFD" ${fault}`,
        ],
        [
          ["cp", "a", `${dest}:b\uFFFD`],
          "usage",
          `DEST "${dest}:b\uFFFD" ${fault}`,
        ],
        [
          ["record", "w", dest, "--output", "o\uFFFD"],
          "usage",
          `--output "o\uFFFD" ${fault}`,
        ],
        [
          ["open", "w", dest, "--shell", "bash\uFFFD"],
          "usage",
          `--shell "bash\uFFFD" ${fault}`,
        ],
        [
          ["open", "w", dest, "-i", "key\uFFFD"],
          "usage",
          `--identity "key\uFFFD" ${fault}`,
        ],
      ];
      for (const [args, code, message] of table) {
        await t.step(args.join(" "), async () => {
          const result = await sesshWithByteFF(sshd, ["--json", ...args], env);
          assert.equal(result.code, 2, result.stdout);
          assert.deepEqual(jsonFailure(result, args[0]), { code, message });
          assertNoSsh();
        });
      }
    },
  );

  await t.step("a 64-character name is the longest accepted", async () => {
    const name = "n".repeat(64);
    const result = await sesshJson(sshd, ["run", name, dest, "--", "true"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.json.name, name);
  });
});

/**
 * `sessh ARGS…` with the byte 0xFF wherever an argument holds U+FFFD: a
 * Deno child's argv is text, so bash puts the invalid byte in.
 */
async function sesshWithByteFF(
  sshd: TestSshd,
  args: string[],
  env: Record<string, string>,
): Promise<CliResult> {
  const argv = [Deno.execPath(), "run", "-A", "--quiet", CLI, ...args];
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      `args=(); for a in "$@"; do args+=("\${a//@FF@/$'\\xff'}"); done; exec "\${args[@]}" -F "$SESSH_TEST_CONFIG"`,
      "bash",
      ...argv.map((a) => a.replaceAll("\uFFFD", "@FF@")),
    ],
    env: { ...sshd.env, ...env, SESSH_TEST_CONFIG: sshd.configFile },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    bytes: out.stdout,
    stderr: decoder.decode(out.stderr),
  };
}

Deno.test("open refuses a shell the host does not list in /etc/shells", async () => {
  await using sshd = await startSshd();
  for (const shell of ["/usr/bin/mktemp", "python3", "/bin/../bin/sh"]) {
    const result = await sessh(sshd, [
      "--json",
      "open",
      "sh",
      sshd.dest,
      "--shell",
      shell,
    ]);
    assert.equal(result.code, 2, result.stdout);
    const error = jsonFailure(result, "open");
    assert.equal(error.code, "bad_shell");
    assert.match(
      error.message,
      new RegExp(
        `^Shell "${
          shell.replaceAll(".", "\\.")
        }" is not a login shell on this host: /etc/shells lists /bin/sh, `,
      ),
    );
  }
  const list = await sesshJson(sshd, ["list", sshd.dest]);
  assert.deepEqual(list.json.sessions, []);
  const opened = await sesshJson(sshd, [
    "open",
    "sh",
    sshd.dest,
    "--shell",
    "/bin/sh",
  ]);
  assert.equal(opened.json.shell, "/bin/sh", opened.stderr);
});

Deno.test(
  'a DEST of "-oProxyCommand=…" followed by another argument never reaches ssh',
  async (t) => {
    await using sshd = await startSshd();
    // An agent's `sessh list "$DEST" 2222`, `sessh logs NAME "$DEST" 50`,
    // `sessh send NAME "$DEST" text`: the trailing word becomes DEST and the
    // attacker's string an ssh -o option that runs a local command.
    const cases = [
      ["list", "INJECTED", "2222"],
      ["logs", "work", "INJECTED", "50"],
      ["open", "work", "INJECTED", "2222"],
      ["send", "work", "INJECTED", "hello", "world"],
      ["run", "work", "INJECTED", "make", "test"],
    ];
    for (const [i, template] of cases.entries()) {
      const controlDir = `${sshd.dir}/untouched-ctl-${i}`;
      const marker = `${sshd.dir}/pwned-${i}`;
      const injected = `-oProxyCommand=touch ${marker}`;
      const args = template.map((a) => a === "INJECTED" ? injected : a);
      await t.step(
        template.join(" ").replace("INJECTED", "-oProxyCommand=…"),
        async () => {
          const result = await sessh(sshd, ["--json", ...args], {
            env: { SESSH_CONTROL_DIR: controlDir },
          });
          assert.equal(
            exists(marker),
            false,
            `ssh ran the injected ProxyCommand (exit ${result.code})`,
          );
          assert.equal(exists(controlDir), false, "ssh was about to run");
          assert.equal(result.code, 2, result.stdout);
          assert.ok(
            ["usage", "invalid_destination"].includes(
              jsonFailure(result, args[0]).code,
            ),
          );
        },
      );
    }
  },
);

Deno.test(
  "usage errors in human mode always reach stderr, even with many sessh at once",
  async () => {
    await using sshd = await startSshd();
    const env = { SESSH_CONTROL_DIR: `${sshd.dir}/untouched-ctl` };
    // Parallel runs widen the window between the write and Deno.exit.
    const results = await Promise.all(
      Array.from(
        { length: 24 },
        () => sessh(sshd, ["open", "work", sshd.dest, "--bogus"], { env }),
      ),
    );
    assert.deepEqual(results.map((r) => r.code), results.map(() => 2));
    const lost = results.filter((r) => r.stderr === "").length;
    assert.equal(
      lost,
      0,
      `${lost} of ${results.length} runs printed nothing on stderr`,
    );
    for (const result of results) {
      assert.equal(result.stdout, "");
      assert.equal(
        result.stderr,
        'sessh: Unknown option "--bogus" (see sessh open --help)\n',
      );
    }
  },
);
