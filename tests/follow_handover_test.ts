/**
 * `logs --follow --raw` through the local agent hands its stream to ssh
 * (`lib/session/raw_follow.ts`, `lib/cli/handover.ts`): the thin client
 * runs an `ssh` through the ControlMaster with its own stdout, and the
 * daemon writes the session's bytes into that channel bare. It must print
 * what the command line's own follow prints (the same bytes, the same
 * notices, the same exit code), and be kept off hosts where it could not.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import {
  cliArgv,
  openBuffered,
  type RunningSessh,
  sessh,
  startSessh,
} from "./_cli.ts";
import { PHASE_LINE_PREFIX } from "../lib/phases.ts";
import { daemonPid } from "./_probes.ts";

const TRACE = { SESSH_TRACE_PHASES: "1" };

/** Starts the fixture's agent with a first call, and waits until it answers. */
async function warm(sshd: TestSshd): Promise<void> {
  const first = await sessh(sshd, ["run", "w", sshd.dest, "--", "true"]);
  assert.equal(first.code, 0, first.stderr);
  for (let i = 0; i < 100; i++) {
    const probe = await sessh(sshd, ["status", "w", sshd.dest], { env: TRACE });
    if (/"thin":/.test(probe.stderr)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the agent did not start");
}

/** The names of a process's children, read from /proc. */
async function children(pid: number): Promise<string[]> {
  const list = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`);
  const names: string[] = [];
  for (const child of list.trim().split(" ").filter(Boolean)) {
    try {
      names.push((await Deno.readTextFile(`/proc/${child}/comm`)).trim());
    } catch { /* gone */ }
  }
  return names;
}

/** A follower's end: its exit code, and its stderr without the phase line. */
async function ended(
  follower: RunningSessh,
): Promise<{ code: number; stderr: string; thin: boolean }> {
  const { code, stderr } = await follower.finish();
  const lines = stderr.split("\n");
  return {
    code,
    thin: lines.some((line) =>
      line.startsWith(PHASE_LINE_PREFIX) && line.includes('"thin":')
    ),
    stderr: lines.filter((line) => !line.startsWith(PHASE_LINE_PREFIX))
      .join("\n"),
  };
}

/**
 * Starts the same follow twice, through the agent (handed over) and on the
 * command line's own path, and returns both.
 */
function bothFollows(
  sshd: TestSshd,
  args: string[],
): { handed: RunningSessh; own: RunningSessh } {
  return {
    handed: startSessh(sshd, args, TRACE),
    own: startSessh(sshd, args, { ...TRACE, SESSH_AGENT_THIN: "0" }),
  };
}

Deno.test("a thin logs --follow --raw runs its own ssh, and prints what the command line's follow prints, to the shell's exit", async (t) => {
  await using sshd = await startSshd();
  await warm(sshd);
  const d = sshd.dest;
  const setup = await sessh(sshd, [
    "run",
    "f",
    d,
    "--shell",
    "bash",
    "--",
    "printf 'one\\ntwo\\nthree\\n'",
  ]);
  assert.equal(setup.code, 0, setup.stderr);
  const fromCursor = bothFollows(sshd, [
    "logs",
    "f",
    d,
    "--follow",
    "--raw",
    "--since",
    "0",
  ]);
  const lastLines = bothFollows(sshd, [
    "logs",
    "f",
    d,
    "2",
    "--follow",
    "--raw",
  ]);
  const followers = [
    fromCursor.handed,
    fromCursor.own,
    lastLines.handed,
    lastLines.own,
  ];
  await Promise.all(followers.map((f) => f.until(/three/)));
  await t.step(
    "the handed-over follow's bytes come through an ssh of its own",
    async () => {
      assert.deepEqual(await children(fromCursor.handed.child.pid), ["ssh"]);
      assert.ok(!(await children(fromCursor.own.child.pid)).includes("ssh"));
    },
  );
  const live = await sessh(sshd, ["run", "f", d, "--", "echo live-$((6*7))"]);
  assert.equal(live.code, 0, live.stderr);
  await Promise.all(followers.map((f) => f.until(/live-42/)));
  const exit = await sessh(sshd, ["send", "f", d, "--enter", "--", "exit 3"]);
  assert.equal(exit.code, 0, exit.stderr);
  const ends = await Promise.all(followers.map(ended));
  await t.step("the same bytes, notices and exit codes", () => {
    for (const [handed, own] of [[0, 1], [2, 3]]) {
      assert.equal(ends[handed].thin, true, "went the full path");
      assert.equal(ends[own].thin, false);
      assert.equal(followers[handed].printed(), followers[own].printed());
      assert.equal(ends[handed].stderr, ends[own].stderr);
      assert.equal(ends[handed].code, ends[own].code);
    }
    assert.equal(ends[0].code, 0);
    assert.match(ends[0].stderr, /^sessh: the shell exited with status 3$/m);
    assert.match(followers[0].printed(), /one\r\ntwo\r\nthree/);
  });
  await t.step(
    "a session that is not there: refused as on the command line's path",
    async () => {
      const args = ["logs", "nope", d, "--follow", "--raw"];
      const handed = await sessh(sshd, args);
      const own = await sessh(sshd, args, { env: { SESSH_AGENT_THIN: "0" } });
      assert.equal(handed.code, own.code);
      assert.notEqual(handed.code, 0);
      assert.equal(handed.stderr, own.stderr);
      assert.equal(handed.stdout, "");
    },
  );
});

Deno.test("a handed-over follow behind the buffer tells the gap as the command line does, and Ctrl-C ends it with 0", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  const d = sshd.dest;
  await openBuffered(sshd, "g", "64K");
  const flood = await sessh(sshd, [
    "run",
    "g",
    d,
    "--",
    "seq 1 100000 | tail -c 300000; echo flood-over",
  ]);
  assert.equal(flood.code, 0, flood.stderr);
  const { handed, own } = bothFollows(sshd, [
    "logs",
    "g",
    d,
    "--follow",
    "--raw",
    "--since",
    "0",
  ]);
  await Promise.all([handed.until(/flood-over/), own.until(/flood-over/)]);
  assert.deepEqual(await children(handed.child.pid), ["ssh"]);
  handed.child.kill("SIGINT");
  own.child.kill("SIGINT");
  const [a, b] = await Promise.all([ended(handed), ended(own)]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.match(a.stderr, /bytes of output went by unseen/);
  assert.equal(a.stderr, b.stderr);
  assert.equal(handed.printed(), own.printed());
});

Deno.test("a host whose login shell prints keeps the follow on the agent's path: nothing but the output reaches stdout", async () => {
  await using sshd = await startSshd();
  // bash reads ~/.bashrc for a command ssh runs, before the helper starts.
  // The session's own bash, interactive, prints nothing.
  await Deno.writeTextFile(
    `${sshd.home}/.bashrc`,
    "[[ $- == *i* ]] || echo login-noise\n",
  );
  await warm(sshd);
  const d = sshd.dest;
  const setup = await sessh(sshd, ["run", "n", d, "--", "echo quiet-42"]);
  assert.equal(setup.code, 0, setup.stderr);
  const { handed, own } = bothFollows(sshd, [
    "logs",
    "n",
    d,
    "--follow",
    "--raw",
    "--since",
    "0",
  ]);
  await Promise.all([handed.until(/quiet-42/), own.until(/quiet-42/)]);
  assert.deepEqual(await children(handed.child.pid), []);
  handed.child.kill("SIGINT");
  own.child.kill("SIGINT");
  const [a] = await Promise.all([ended(handed), ended(own)]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.thin, true);
  assert.equal(handed.printed(), own.printed());
  assert.doesNotMatch(handed.printed(), /login-noise/);
});

Deno.test("a handed-over follow whose reader goes away exits 141, as the command line's does", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  const d = sshd.dest;
  await openBuffered(sshd, "r", "8M");
  const flood = await sessh(sshd, ["run", "r", d, "--", "seq 1 400000"]);
  assert.equal(flood.code, 0, flood.stderr);
  const argv = cliArgv(sshd, [
    "logs",
    "r",
    d,
    "--follow",
    "--raw",
    "--since",
    "0",
  ], true);
  const quoted = [Deno.execPath(), ...argv].map((word) => `'${word}'`)
    .join(" ");
  for (const thin of ["1", "0"]) {
    const out = await new Deno.Command("bash", {
      args: ["-c", `set -o pipefail; ${quoted} | head -c 100000 | tail -c 7`],
      env: { ...sshd.env, ...TRACE, SESSH_AGENT_THIN: thin },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 141, `SESSH_AGENT_THIN=${thin}: ${stderr}`);
    assert.equal(stderr.includes('"thin":'), thin === "1", stderr);
    assert.doesNotMatch(stderr, /^sessh:/m);
  }
});

Deno.test("a handed-over follow whose daemon dies says that it ended early, and exits 255", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  const d = sshd.dest;
  const setup = await sessh(sshd, ["run", "k", d, "--", "echo before-42"]);
  assert.equal(setup.code, 0, setup.stderr);
  const follower = startSessh(
    sshd,
    ["logs", "k", d, "--follow", "--raw", "--since", "0"],
    TRACE,
  );
  await follower.until(/before-42/);
  assert.deepEqual(await children(follower.child.pid), ["ssh"]);
  Deno.kill(daemonPid(sshd), "SIGKILL");
  const end = await ended(follower);
  assert.equal(end.code, 255, end.stderr);
  assert.match(
    end.stderr,
    /^sessh: the follow ended before the shell exited: the connection to the host or its sessh daemon was lost/m,
  );
});
