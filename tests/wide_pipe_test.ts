/**
 * A bridge's output pipes widen at its first flood, not when it opens: a
 * user's wide pipes are few (16 per process), and an agent's idle bridges
 * would otherwise hold them all, leaving a later flood a narrow pipe. The
 * command line's stdout, a pipe of its own, widens at its first flood too.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { cursorNow, openBuffered, sesshJson, startFollowRaw } from "./_cli.ts";
import { daemonPid } from "./_probes.ts";
import { listPids, readCmdline } from "../lib/ssh/procfs.ts";
import { PIPE_SIZE } from "../lib/transport/pipe_size.ts";

const FLOOD = 3_000_000;

/** The sizes of the pipes a process holds (F_GETPIPE_SZ), by descriptor. */
async function pipeSizes(pid: number): Promise<Record<string, number>> {
  const { stdout } = await new Deno.Command("python3", {
    args: [
      "-c",
      "import fcntl, json, os, sys\nsizes = {}\n" +
      "for fd in os.listdir('/proc/%s/fd' % sys.argv[1]):\n" +
      "    path = '/proc/%s/fd/%s' % (sys.argv[1], fd)\n" +
      "    if os.readlink(path).startswith('pipe:'):\n" +
      "        f = os.open(path, os.O_RDONLY | os.O_NONBLOCK)\n" +
      "        sizes[fd] = fcntl.fcntl(f, 1032)\n" +
      "        os.close(f)\n" +
      "print(json.dumps(sizes))",
      String(pid),
    ],
    stdout: "piped",
  }).output();
  return JSON.parse(new TextDecoder().decode(stdout));
}

/** The local agent's bridges to the fixture: their ssh processes. */
function agentBridges(sshd: TestSshd): number[] {
  return listPids().filter((pid) => {
    const argv = readCmdline(pid) ?? [];
    // The remote command is one word, the helper's loader and its verb.
    return argv[0]?.endsWith("ssh") && /(^| )bridge$/.test(argv.at(-1) ?? "") &&
      argv.some((arg) => arg.includes(sshd.controlDir));
  });
}

/** Whether the agent's bridges and the daemon hold a widened pipe each. */
async function widened(sshd: TestSshd) {
  const bridges = agentBridges(sshd);
  assert.ok(bridges.length > 0, "the agent holds a bridge");
  const local = await Promise.all(
    bridges.map(async (pid) => (await pipeSizes(pid))["1"]),
  );
  const daemon = Object.values(await pipeSizes(daemonPid(sshd)));
  return {
    local: local.some((size) => size === PIPE_SIZE),
    daemon: daemon.some((size) => size === PIPE_SIZE),
  };
}

Deno.test({
  name:
    "a follow's flood widens its bridge's output pipes on both ends and the command line's stdout, and calls before it leave them as they were",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using sshd = await startSshd();
    const dest = sshd.dest;
    await openBuffered(sshd, "s", "8M");
    // Calls go past the agent until it has started: until one went
    // through it, with a deadline.
    const deadline = Date.now() + 30_000;
    let since;
    do {
      since = await cursorNow(sshd, "s");
    } while (agentBridges(sshd).length === 0 && Date.now() < deadline);
    assert.deepEqual(await widened(sshd), { local: false, daemon: false });
    const flood = await sesshJson(sshd, [
      "run",
      "s",
      dest,
      "--",
      `head -c ${FLOOD} /dev/zero | tr '\\0' x | fold -w 100 >/dev/tty`,
    ]);
    assert.equal(flood.code, 0, flood.stderr);
    // Its stdout is held open until it is killed: a follow that wrote to a
    // reader gone would end by itself, its bridge given back.
    await using follow = startFollowRaw(sshd, "s", since, {
      timeoutMs: 60_000,
    });
    const got = await follow.count(FLOOD);
    assert.ok(got >= FLOOD, `the follow printed ${got} bytes`);
    // Measured while the follow still holds its bridge.
    const after = await widened(sshd);
    assert.deepEqual(after, { local: true, daemon: true });
    // The command line writes the flood to a pipe of its own, widened too.
    assert.equal((await pipeSizes(follow.pid))["1"], PIPE_SIZE);
  },
});
