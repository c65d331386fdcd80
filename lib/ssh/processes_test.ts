import assert from "node:assert/strict";
import {
  chooseBackend,
  type LocalProcesses,
  localProcesses,
  type ProcessEntry,
  type ProcessState,
} from "./processes.ts";
import { procfsBackend } from "./procfs.ts";
import { settingsFromEnv } from "./settings.ts";

const onLinux = Deno.build.os === "linux";
const ENV = { SESSH_CONTROL_DIR: "/tmp/ctl" };

/** `sleep 30`, with a zombie child: its shell forked `sleep 0`, then became it. */
function sleeperWithZombie(): Deno.ChildProcess {
  return new Deno.Command("sh", {
    args: ["-c", "sleep 0 & exec sleep 30"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function zombieOf(
  processes: LocalProcesses,
  parent: number,
): Promise<ProcessEntry> {
  const deadline = Date.now() + 5000;
  while (true) {
    const zombie = (await processes.list()).find((entry) =>
      entry.ppid === parent && entry.stat.startsWith("Z")
    );
    if (zombie) return zombie;
    assert.ok(Date.now() < deadline, "the shell's child became a zombie");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function waitForCommand(
  processes: LocalProcesses,
  pid: number,
  text: string,
): Promise<ProcessEntry> {
  const deadline = Date.now() + 5000;
  while (true) {
    const entry = await processes.get(pid);
    const command = entry && [entry.command].flat().join(" ");
    if (entry && command === text) return entry;
    assert.ok(Date.now() < deadline, `pid ${pid} runs ${text}: ${command}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The state a signal leads to, which the kernel sets a moment after kill(2) returns. */
async function reaches(
  processes: LocalProcesses,
  pid: number,
  state: ProcessState,
): Promise<void> {
  const deadline = Date.now() + 5000;
  while (true) {
    const now = await processes.state(pid);
    if (now === state) return;
    assert.ok(Date.now() < deadline, `pid ${pid} is ${now}, not ${state}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

Deno.test("chooseBackend() reads procfs on Linux only, and not when told not to", async (t) => {
  const table: [typeof Deno.build.os, boolean, string][] = [
    ["linux", false, "procfs"],
    ["linux", true, "ps"],
    ["darwin", false, "ps"],
    ["freebsd", false, "ps"],
    ["netbsd", false, "ps"],
    ["windows", false, "ps"],
  ];
  for (const [os, noProcfs, backend] of table) {
    await t.step(
      `${os} ${noProcfs}`,
      () => assert.equal(chooseBackend(os, noProcfs), backend),
    );
  }
});

Deno.test("localProcesses() answers through ps when SESSH_NO_PROCFS=1", async () => {
  const processes = localProcesses(
    settingsFromEnv({ ...ENV, SESSH_NO_PROCFS: "1" }),
  );
  assert.equal(processes.source, "ps");
  assert.equal(processes.checked, "checked with ps");
  const self = await processes.get(Deno.pid);
  // Only ps gives text: procfs gives the exact argv.
  assert.equal(typeof self?.command, "string");
  assert.equal(self?.ppid, Deno.ppid);
});

Deno.test({
  name: "localProcesses() answers through procfs on Linux by default",
  ignore: !onLinux,
  async fn() {
    const processes = localProcesses(settingsFromEnv(ENV));
    assert.equal(processes.source, "procfs");
    assert.equal(processes.checked, procfsBackend.checked);
    assert.ok(Array.isArray((await processes.get(Deno.pid))?.command));
  },
});

Deno.test({
  name:
    "the ps backend agrees with procfs on a running, stopped, zombie and ended process",
  ignore: !onLinux,
  async fn() {
    const ps = localProcesses({ noProcfs: true });
    const procfs = localProcesses({ noProcfs: false });
    await using child = sleeperWithZombie();
    const byProcfs = await waitForCommand(procfs, child.pid, "sleep 30");
    const byPs = await waitForCommand(ps, child.pid, "sleep 30");
    assert.deepEqual(byProcfs.command, ["sleep", "30"]);
    assert.equal(byPs.command, "sleep 30");
    assert.equal(byPs.ppid, Deno.pid);
    assert.equal(byProcfs.ppid, Deno.pid);
    // Just started, sleep may still be running ("R"); asleep, both say "S".
    const deadline = Date.now() + 5000;
    while ((await procfs.get(child.pid))?.stat !== "S") {
      assert.ok(Date.now() < deadline, "sleep 30 falls asleep");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal((await ps.get(child.pid))?.stat[0], "S");
    assert.equal(await ps.state(child.pid), "running");
    assert.ok((await ps.list()).some((entry) => entry.pid === child.pid));

    Deno.kill(child.pid, "SIGSTOP");
    await reaches(procfs, child.pid, "stopped");
    assert.equal(await ps.state(child.pid), "stopped");
    Deno.kill(child.pid, "SIGCONT");
    await reaches(procfs, child.pid, "running");
    assert.equal(await ps.state(child.pid), "running");

    const zombie = await zombieOf(procfs, child.pid);
    assert.equal((await ps.get(zombie.pid))?.stat[0], "Z");
    assert.equal(await ps.state(zombie.pid), "gone");
    assert.equal(await ps.waitForExit([zombie.pid], 1000), true);

    assert.equal(await ps.waitForExit([child.pid], 200), false);
    child.kill("SIGKILL");
    await child.status;
    assert.equal(await ps.state(child.pid), "gone");
    assert.equal(await procfs.state(child.pid), "gone");
    assert.equal(await ps.waitForExit([child.pid], 1000), true);
  },
});

Deno.test("the ps backend never asks about pid 0 or below, which name process groups", async () => {
  const ps = localProcesses({ noProcfs: true });
  assert.deepEqual(await ps.lookup([0, -1, Number.NaN, 1.5]), []);
  assert.equal(await ps.state(0), "gone");
});
