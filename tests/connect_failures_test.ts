/**
 * Hosts that cannot be reached, logged in to or used: each failure ends
 * quickly with its own code, exit status and ssh's own cause.
 */
import assert from "node:assert/strict";
import { runCommand } from "../lib/process.ts";
import { readCmdline } from "../lib/ssh/procfs.ts";
import { keygen, startSshd } from "./_sshd.ts";
import { jsonFailure, sessh } from "./_cli.ts";
import { processesNaming, timed } from "./_probes.ts";

/** Failures must come back within the fixture's SESSH_CONNECT_TIMEOUT (5 s) plus a margin. */
const FAST_MS = 20_000;

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
    return jsonFailure(result, "open");
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
          "check SESSH_IDENTITY or the ssh identity option (-i KEY)",
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
  assert.equal(json.code, 1, `stdout: ${json.stdout}\nstderr: ${json.stderr}`);
  const advice =
    `No python3 on "sessh-test"; sessh's remote helper needs Python 3.8 or later ` +
    "(install it, e.g. apt-get install python3 or dnf install python3)";
  assert.deepEqual(jsonFailure(json, "open"), {
    code: "no_python",
    message: advice,
  });

  const human = await sessh(sshd, ["run", "work", sshd.dest, "--", "true"]);
  assert.equal(human.code, 1);
  assert.equal(human.stdout, "");
  assert.equal(human.stderr, `sessh: ${advice}\n`);
});
