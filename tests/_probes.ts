/**
 * Small probes the end-to-end tests and the benchmark share: timing a call,
 * the ControlMaster's pid through the real CLI, the daemon's pid and a
 * process's memory from /proc.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { TestSshd } from "./_sshd.ts";
import { sesshJson } from "./_cli.ts";
import { listPids, readCmdline } from "../lib/ssh/procfs.ts";

/**
 * Runs `run` and measures it.
 *
 * @param run What to time.
 * @returns Its value and the wall-clock milliseconds it took.
 */
export async function timed<T>(
  run: () => Promise<T>,
): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await run();
  return { value, ms: Math.round(performance.now() - start) };
}

/**
 * The pid of the destination's ControlMaster, as `sessh status` reports it.
 *
 * @param sshd The fixture.
 * @param name A session of it.
 * @returns The master's pid.
 */
export async function masterPid(
  sshd: TestSshd,
  name: string,
): Promise<number> {
  const status = await sesshJson(sshd, ["status", name, sshd.dest]);
  assert.equal(status.code, 0, status.stderr);
  const master = status.json.master as Record<string, unknown>;
  assert.equal(master.alive, true);
  assert.equal(typeof master.pid, "number");
  return master.pid as number;
}

/**
 * The pid of the fixture's daemon: its command line names the fixture's
 * remote runtime directory.
 *
 * @param sshd The fixture.
 * @returns The pid of its one daemon.
 */
export function daemonPid(sshd: TestSshd): number {
  const pids = listPids().filter((pid) => {
    const argv = readCmdline(pid) ?? [];
    return argv.includes("daemon") &&
      argv.some((arg) => arg.startsWith(sshd.remoteRuntimeDir));
  });
  assert.equal(pids.length, 1, `daemons: ${pids}`);
  return pids[0];
}

/**
 * Resident memory of a process, from /proc.
 *
 * @param pid The process.
 * @returns Its RSS in KiB.
 */
export function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = /^VmRSS:\s+(\d+)/m.exec(status)?.[1];
  assert.ok(kib !== undefined, `no VmRSS for pid ${pid}`);
  return Number(kib);
}
