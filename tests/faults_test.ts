import assert from "node:assert/strict";
import { runCommand } from "../lib/process.ts";
import { SesshClient } from "../lib/session/client.ts";
import { SesshError } from "../lib/errors.ts";
import {
  isRunning,
  listPids,
  parentPid,
  readCmdline,
  readEnviron,
  waitForExit,
} from "../lib/ssh/procfs.ts";
import { keygen, startSshd, type TestSshd } from "./_sshd.ts";
import { type CliResult, sessh, sesshJson } from "./_cli.ts";
import { masterPid, timed } from "./_probes.ts";

type Json = Record<string, unknown>;

/** Failures must come back within the fixture's SESSH_CONNECT_TIMEOUT (5 s) plus a margin. */
const FAST_MS = 20_000;

/**
 * Checks that `--json` printed exactly one failure object and nothing else,
 * and returns its `error`.
 */
function failure(
  result: CliResult,
  op: string,
): { code: string; message: string } {
  assert.match(
    result.stdout,
    /^[^\n]+\n$/,
    `one line on stdout: ${JSON.stringify(result.stdout)}`,
  );
  const value = JSON.parse(result.stdout) as Json;
  assert.deepEqual(Object.keys(value).sort(), ["error", "ok", "op"]);
  assert.equal(value.ok, false);
  assert.equal(value.op, op);
  const error = value.error as { code: string; message: string };
  // Besides code and message, only the documented facts for scripts.
  const facts = ["code", "message", "sent", "name", "command_id", "cursor"];
  for (const key of Object.keys(error)) assert.ok(facts.includes(key), key);
  assert.equal(typeof error.message, "string");
  return error;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Running processes (other than this one) that name `text` on their command line. */
function processesNaming(text: string): number[] {
  return listPids().filter((pid) =>
    pid !== Deno.pid && isRunning(pid) &&
    (readCmdline(pid)?.some((arg) => arg.includes(text)) ?? false)
  );
}

async function shellPid(sshd: TestSshd, name: string): Promise<number> {
  const status = await sesshJson(sshd, ["status", name, sshd.dest]);
  assert.equal(status.code, 0, status.stderr);
  return (status.json.session as Json).shell_pid as number;
}

/** The pids holding a listening Unix socket bound at `path`, from /proc/net/unix and /proc/PID/fd. */
function listenersOf(path: string): number[] {
  const inodes = new Set<string>();
  for (
    const line of Deno.readTextFileSync("/proc/net/unix").split("\n").slice(1)
  ) {
    const fields = line.trim().split(/\s+/);
    // Flags 00010000 is __SO_ACCEPTCON: the socket listens.
    if (fields[7] === path && fields[3] === "00010000") {
      inodes.add(`socket:[${fields[6]}]`);
    }
  }
  return listPids().filter((pid) => {
    try {
      for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
        if (inodes.has(Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`))) {
          return true;
        }
      }
    } catch {
      // Gone, or not ours to read.
    }
    return false;
  });
}

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
          const error = failure(result, "open");
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
      assert.deepEqual(failure(result, "open"), {
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
        const error = failure(result, "open");
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
        const error = failure(result, args[0]);
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
    assert.deepEqual(failure(json, "open"), {
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
    assert.equal(failure(verb, "frobnicate").code, "usage");
    assertNoSsh();
  });

  await t.step("a 64-character name is the longest accepted", async () => {
    const name = "n".repeat(64);
    const result = await sesshJson(sshd, ["run", name, dest, "--", "true"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.json.name, name);
  });
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
              failure(result, args[0]).code,
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

Deno.test("connection failures exit 255 quickly with a code and ssh's own cause", async (t) => {
  await using sshd = await startSshd();
  const url = `ssh://${sshd.user}@127.0.0.1:${sshd.port}`;
  /** `sessh --json open` without the fixture's config, with a fresh control dir per case. */
  const probe = async (
    label: string,
    dest: string,
    flags: string[],
    env: Record<string, string> = {},
  ) => {
    const controlDir = `${sshd.dir}/ctl-${label}`;
    const { value: result, ms } = await timed(() =>
      sessh(sshd, [
        "--json",
        "open",
        "probe",
        dest,
        ...flags,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
      ], {
        noConfig: true,
        env: { SESSH_CONTROL_DIR: controlDir, ...env },
      })
    );
    assert.ok(ms < FAST_MS, `took ${ms} ms`);
    assert.equal(result.code, 255, result.stdout);
    // BatchMode: nothing is asked on the terminal or printed besides the JSON.
    assert.equal(result.stderr, "");
    assert.deepEqual(
      processesNaming(controlDir).filter((pid) =>
        readCmdline(pid)?.[0]?.endsWith("ssh")
      ),
      [],
      "an ssh process was left behind",
    );
    return failure(result, "open");
  };

  await t.step(
    "a closed port: connect_failed, Connection refused",
    async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const closed = (listener.addr as Deno.NetAddr).port;
      listener.close();
      const error = await probe("refused", `ssh://127.0.0.1:${closed}`, [
        "-i",
        sshd.identity,
        "-o",
        `UserKnownHostsFile=${sshd.knownHosts}`,
      ]);
      assert.equal(error.code, "connect_failed");
      assert.equal(
        error.message,
        `Cannot reach "127.0.0.1:${closed}": ssh exited 255 (connect to host 127.0.0.1 port ${closed}: ` +
          "Connection refused); check that sshd runs on that host and port",
      );
    },
  );

  await t.step(
    "a key the server does not accept: auth_failed, Permission denied, no prompt",
    async () => {
      const stranger = `${sshd.dir}/id_stranger`;
      await keygen(stranger);
      const error = await probe("denied", url, [
        "-i",
        stranger,
        "-o",
        `UserKnownHostsFile=${sshd.knownHosts}`,
      ]);
      assert.equal(error.code, "auth_failed");
      assert.equal(
        error.message,
        `Cannot reach "${sshd.user}@127.0.0.1:${sshd.port}": ssh exited 255 (Permission denied (publickey)); ` +
          "check SESSH_IDENTITY or pass -i KEY",
      );
    },
  );

  await t.step(
    "an unknown host key with SESSH_STRICT_HOST=yes: host_key, UNKNOWN",
    async () => {
      const empty = `${sshd.dir}/known_hosts_empty`;
      await Deno.writeTextFile(empty, "");
      const error = await probe(
        "unknown",
        url,
        ["-i", sshd.identity, "-o", `UserKnownHostsFile=${empty}`],
        { SESSH_STRICT_HOST: "yes" },
      );
      assert.equal(error.code, "host_key");
      assert.match(
        error.message,
        new RegExp(
          `^Cannot reach ".*": ssh exited 255 \\(No ED25519 host key is known for \\[127\\.0\\.0\\.1\\]:${sshd.port}\\); the host key is UNKNOWN;`,
        ),
      );
      assert.match(error.message, /SESSH_STRICT_HOST=accept-new/);
      assert.equal(
        await Deno.readTextFile(empty),
        "",
        "nothing was added to known_hosts",
      );
    },
  );

  await t.step(
    "a changed host key: host_key, CHANGED, even with the default accept-new",
    async () => {
      const other = `${sshd.dir}/other_host_key`;
      await keygen(other);
      const otherKey = (await Deno.readTextFile(`${other}.pub`)).split(" ")
        .slice(0, 2).join(" ");
      const stale = `${sshd.dir}/known_hosts_stale`;
      const content = `[127.0.0.1]:${sshd.port} ${otherKey}\n`;
      await Deno.writeTextFile(stale, content);
      const error = await probe("changed", url, [
        "-i",
        sshd.identity,
        "-o",
        `UserKnownHostsFile=${stale}`,
      ]);
      assert.equal(error.code, "host_key");
      assert.match(
        error.message,
        /\(Host key for \[127\.0\.0\.1\]:\d+ has changed\)/,
      );
      assert.match(
        error.message,
        /the host key CHANGED since it was recorded in .*known_hosts_stale:1/,
      );
      assert.match(error.message, /ssh-keygen -f .*known_hosts_stale.* -R /);
      assert.equal(
        await Deno.readTextFile(stale),
        content,
        "known_hosts was left alone",
      );
    },
  );
});

Deno.test("a killed or frozen ControlMaster is replaced and the session keeps its state", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const name = "kept";
  const setup = await sessh(sshd, [
    "run",
    name,
    dest,
    "--shell",
    "bash",
    "--",
    "export FAULT_KEPT=still-here",
  ]);
  assert.equal(setup.code, 0, setup.stderr);
  const shell = await shellPid(sshd, name);

  await t.step(
    "kill -9 of the master: the next call starts a new one",
    async () => {
      const old = await masterPid(sshd, name);
      Deno.kill(old, "SIGKILL");
      assert.ok(await waitForExit([old], 5000));
      const { value: result, ms } = await timed(() =>
        sessh(sshd, ["run", name, dest, "--", "echo $FAULT_KEPT"])
      );
      assert.ok(ms < FAST_MS, `took ${ms} ms`);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "still-here\n");
      const fresh = await masterPid(sshd, name);
      assert.notEqual(fresh, old);
      assert.equal(await shellPid(sshd, name), shell, "the same shell");
    },
  );

  await t.step(
    "kill -STOP of the master: the next call replaces it within a bounded time",
    async () => {
      const frozen = await masterPid(sshd, name);
      Deno.kill(frozen, "SIGSTOP");
      try {
        const { value: result, ms } = await timed(() =>
          sessh(sshd, ["run", name, dest, "--", "echo $FAULT_KEPT"])
        );
        assert.ok(ms < FAST_MS, `took ${ms} ms`);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout, "still-here\n");
        const fresh = await masterPid(sshd, name);
        assert.notEqual(fresh, frozen);
        assert.equal(isRunning(frozen), false, "the frozen master was killed");
        assert.equal(await shellPid(sshd, name), shell, "the same shell");
      } finally {
        if (isRunning(frozen)) {
          Deno.kill(frozen, "SIGCONT");
          Deno.kill(frozen, "SIGKILL");
        }
      }
    },
  );
});

Deno.test(
  "a killed daemon: a call in flight fails with daemon_gone, the next call starts a fresh daemon that reports the lost sessions",
  async (t) => {
    await using sshd = await startSshd();
    const dest = sshd.dest;
    const socket = `${sshd.remoteRuntimeDir}/sessh/daemon-1.sock`;
    const setup = await sessh(sshd, [
      "run",
      "doomed",
      dest,
      "--shell",
      "bash",
      "--",
      "export FAULT_KEPT=lost",
    ]);
    assert.equal(setup.code, 0, setup.stderr);
    const shell = await shellPid(sshd, "doomed");
    const daemon = parentPid(shell)!;
    assert.ok(
      readCmdline(daemon)?.includes("daemon"),
      "the daemon runs under a name of its own",
    );
    assert.equal(readEnviron(daemon)?.XDG_RUNTIME_DIR, sshd.remoteRuntimeDir);
    assert.deepEqual(listenersOf(socket), [daemon]);

    await t.step(
      "a command in flight ends at once with daemon_gone (exit 255)",
      async () => {
        const running = sessh(sshd, [
          "--json",
          "run",
          "doomed",
          dest,
          "--timeout",
          "60",
          "--",
          "sleep 60",
        ]);
        const deadline = Date.now() + 10_000;
        while (true) {
          const status = await sesshJson(sshd, ["status", "doomed", dest]);
          // A status refused on a loaded machine is asked again; the last
          // answer is what a failure shows.
          const session = status.json.session as Json | undefined;
          if (session?.running === true) break;
          assert.ok(
            Date.now() < deadline,
            `sleep 60 never started: ${JSON.stringify(status.json)}`,
          );
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const { value: result, ms } = await timed(async () => {
          Deno.kill(daemon, "SIGKILL");
          return await running;
        });
        assert.ok(ms < 5000, `took ${ms} ms`);
        assert.equal(result.code, 255, result.stdout);
        assert.deepEqual(failure(result, "run"), {
          code: "daemon_gone",
          message:
            'The sessh daemon on "sessh-test" closed the connection (was it killed?); run the command again to start a new one',
        });
        assert.ok(
          await waitForExit([shell], 5000),
          "the session's shell lost its terminal and exited",
        );
        assert.ok(exists(socket), "the dead daemon's socket is still there");
        assert.deepEqual(listenersOf(socket), []);
      },
    );

    await t.step(
      "the next call starts a fresh daemon on the stale socket, which reports the session as lost",
      async () => {
        const status = await sessh(sshd, ["--json", "status", "doomed", dest]);
        assert.equal(status.code, 1, status.stdout);
        const error = failure(status, "status");
        assert.equal(error.code, "session_lost");
        assert.match(
          error.message,
          new RegExp(
            `^Session "doomed" was lost: the sessh daemon \\(pid ${daemon}\\) that held it is gone`,
          ),
        );
        const [fresh] = listenersOf(socket);
        assert.ok(
          fresh !== undefined && fresh !== daemon,
          `a new daemon listens (${fresh})`,
        );
        const list = await sesshJson(sshd, ["list", dest]);
        assert.equal(list.code, 0, list.stderr);
        const sessions = list.json.sessions as Json[];
        assert.deepEqual(
          sessions.map((s) => [s.name, s.lost, s.alive]),
          [["doomed", true, false]],
        );
      },
    );

    await t.step(
      "sessions can be opened and run again, in shells of the new daemon",
      async () => {
        const opened = await sesshJson(sshd, [
          "run",
          "reborn",
          dest,
          "--shell",
          "bash",
          "--",
          "echo ready",
        ]);
        assert.equal(opened.code, 0, opened.stderr);
        assert.equal(opened.json.created, true);
        assert.equal(opened.json.output, "ready\n");
        const refused = await sessh(sshd, [
          "--json",
          "run",
          "doomed",
          dest,
          "--",
          "true",
        ]);
        assert.equal(refused.code, 1, refused.stdout);
        assert.equal(failure(refused, "run").code, "session_lost");
        const forgotten = await sesshJson(sshd, [
          "close",
          "doomed",
          dest,
          "--keep-master",
        ]);
        assert.equal(forgotten.code, 0, forgotten.stderr);
        const run = await sesshJson(sshd, [
          "run",
          "doomed",
          dest,
          "--",
          'echo "[$FAULT_KEPT]"',
        ]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(
          run.json.created,
          true,
          "the old session was not resurrected",
        );
        assert.equal(run.json.output, "[]\n");
        const newShell = await shellPid(sshd, "reborn");
        const newDaemon = parentPid(newShell)!;
        assert.notEqual(newDaemon, daemon);
        assert.deepEqual(listenersOf(socket), [newDaemon]);
      },
    );
  },
);

/**
 * A root directory for sshd's ChrootDirectory holding the login shell and
 * env with their libraries, and no python3. sshd insists that every
 * component of its path is root-owned and writable by nobody else, which
 * rules out /tmp.
 */
async function pythonlessRoot(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({
    dir: "/run",
    prefix: "sessh-nopython-",
  });
  const disposable = {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
  try {
    await Deno.chmod(path, 0o755);
    const uid = String(Deno.uid());
    const passwd = await Deno.readTextFile("/etc/passwd");
    const shell = passwd.split("\n").map((line) => line.split(":"))
      .find((fields) => fields[2] === uid)?.[6];
    assert.ok(shell, "the login shell is in /etc/passwd");
    for (const program of [shell, "/usr/bin/env"]) {
      const ldd = await runCommand(["ldd", program], { timeoutMs: 10_000 });
      const libraries = [
        ...new TextDecoder().decode(ldd.stdout).matchAll(/(\/\S+) \(0x/g),
      ].map((m) => m[1]);
      for (const file of [program, ...libraries]) {
        await Deno.mkdir(`${path}${file.slice(0, file.lastIndexOf("/"))}`, {
          recursive: true,
        });
        await Deno.copyFile(await Deno.realPath(file), `${path}${file}`);
        await Deno.chmod(`${path}${file}`, 0o755);
      }
    }
    return disposable;
  } catch (error) {
    await disposable[Symbol.asyncDispose]();
    throw error;
  }
}

Deno.test("a host without python3 fails with no_python, exit 1 and how to install it", async () => {
  await using root = await pythonlessRoot();
  await using sshd = await startSshd({
    extraConfig: [`ChrootDirectory ${root.path}`],
  });
  const check = await runCommand([
    "ssh",
    ...sshd.sshArgs,
    sshd.dest,
    "--",
    "env true; command -v python3",
  ], {
    timeoutMs: 10_000,
  });
  assert.equal(
    check.code,
    1,
    "the remote shell and env work but find no python3",
  );

  const { value: json, ms } = await timed(() =>
    sessh(sshd, ["--json", "open", "work", sshd.dest])
  );
  assert.ok(ms < FAST_MS, `took ${ms} ms`);
  assert.equal(json.code, 1, json.stdout);
  const advice =
    `No python3 on "sessh-test"; sessh's remote helper needs Python 3.8 or later ` +
    "(install it, e.g. apt-get install python3 or dnf install python3)";
  assert.deepEqual(failure(json, "open"), {
    code: "no_python",
    message: advice,
  });

  const human = await sessh(sshd, ["run", "work", sshd.dest, "--", "true"]);
  assert.equal(human.code, 1);
  assert.equal(human.stdout, "");
  assert.equal(human.stderr, `sessh: ${advice}\n`);
});
