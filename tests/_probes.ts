/**
 * Small probes the end-to-end tests share: timing a call, and reading the
 * ControlMaster's pid through the real CLI.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { TestSshd } from "./_sshd.ts";
import { sesshJson } from "./_cli.ts";

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
