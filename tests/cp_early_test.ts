/**
 * `sessh cp` through sftp starts sftp before it asks the daemon what to
 * copy (`lib/cli/verbs/cp_early.ts`), at the master's socket the last copy
 * used; a guess that turns out wrong (another master, or one that died)
 * costs a new sftp, never a copy to the wrong place.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd, usesControlMaster } from "./_sshd.ts";
import { sesshJson } from "./_cli.ts";
import { PHASE_LINE_PREFIX } from "../lib/phases.ts";

const ignore = !usesControlMaster();

/** The remembered sockets of the fixture's control directory. */
async function memo(sshd: TestSshd): Promise<Record<string, string>> {
  return JSON.parse(
    await Deno.readTextFile(`${sshd.controlDir}/cp-sockets.json`),
  );
}

/** A temporary directory, removed with all in it when disposed. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir();
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** `sessh cp --json FROM TO` with the phases traced. */
async function cp(sshd: TestSshd, from: string, to: string) {
  const result = await sesshJson(sshd, ["cp", from, to], {
    env: { SESSH_TRACE_PHASES: "1" },
  });
  assert.equal(result.code, 0, JSON.stringify(result.json) + result.stderr);
  const line = result.stderr.split("\n")
    .find((l) => l.startsWith(PHASE_LINE_PREFIX));
  assert.ok(line, result.stderr);
  const marks: Record<string, number> =
    JSON.parse(line.slice(PHASE_LINE_PREFIX.length)).marks;
  return { json: result.json, marks };
}

Deno.test({
  name:
    "cp starts sftp before the daemon plans the copy, at the socket the last copy used",
  ignore,
  async fn() {
    await using sshd = await startSshd();
    const file = `${sshd.dir}/a.txt`;
    await Deno.writeTextFile(file, "early\n");
    const remote = `${sshd.dest}:${sshd.home}`;
    await cp(sshd, file, `${remote}/first.txt`);
    const up = await cp(sshd, file, `${remote}/second.txt`);
    assert.ok(
      up.marks.sftp < up.marks.planned,
      `sftp started at ${up.marks.sftp} ms, the plan was done at ${up.marks.planned} ms`,
    );
    assert.equal(
      await Deno.readTextFile(`${sshd.home}/second.txt`),
      "early\n",
    );
    const down = await cp(sshd, `${remote}/second.txt`, `${file}.back`);
    assert.ok(down.marks.sftp < down.marks.planned);
    assert.equal(await Deno.readTextFile(`${file}.back`), "early\n");
  },
});

Deno.test({
  name:
    "cp whose remembered socket is another host's master copies through its own",
  ignore,
  async fn() {
    // Each host's sftp starts in its own HOME, so that a relative path
    // tells which host a copy reached.
    await using homes = await tempDir();
    const host = (name: string) => {
      const home = `${homes.path}/${name}`;
      return startSshd({
        home,
        sftp: false,
        extraConfig: [`Subsystem sftp internal-sftp -d ${home}`],
      });
    };
    await using a = await host("a");
    await using b = await host("b");
    const file = `${a.dir}/a.txt`;
    await Deno.writeTextFile(file, "for a\n");
    // Both call sessh with one control directory: b's master is up and
    // its socket remembered, and a's copies are remembered under b's.
    const shared = { ...b, controlDir: a.controlDir, env: a.env };
    await cp(shared, file, `${b.dest}:${b.home}/warm.txt`);
    await cp(a, file, `${a.dest}:${a.home}/warm.txt`);
    const sockets = await memo(a);
    const [bSocket, aSocket] = Object.values(sockets);
    assert.notEqual(aSocket, bSocket);
    await Deno.writeTextFile(
      `${a.controlDir}/cp-sockets.json`,
      JSON.stringify(
        Object.fromEntries(Object.keys(sockets).map((key) => [key, bSocket])),
      ),
    );
    await Deno.writeTextFile(file, "only for a\n");
    await cp(a, file, `${a.dest}:relative.txt`);
    assert.equal(
      await Deno.readTextFile(`${a.home}/relative.txt`),
      "only for a\n",
    );
    assert.equal(
      await Deno.stat(`${b.home}/relative.txt`).catch(() => null),
      null,
      "the copy went to the other host",
    );
    assert.ok(Object.values(await memo(a)).includes(aSocket));
  },
});

Deno.test({
  name:
    "cp whose remembered master died copies once the client has started a new one",
  ignore,
  async fn() {
    await using sshd = await startSshd();
    const file = `${sshd.dir}/a.txt`;
    await Deno.writeTextFile(file, "after the master\n");
    await cp(sshd, file, `${sshd.dest}:${sshd.home}/warm.txt`);
    const [socket] = Object.values(await memo(sshd));
    const pid = Number(await Deno.readTextFile(`${socket}.pid`));
    // SIGKILL leaves the socket behind: the early sftp finds nobody there.
    Deno.kill(pid, "SIGKILL");
    const up = await cp(sshd, file, `${sshd.dest}:${sshd.home}/after.txt`);
    assert.equal(up.json.bytes, 17);
    assert.equal(
      await Deno.readTextFile(`${sshd.home}/after.txt`),
      "after the master\n",
    );
  },
});
