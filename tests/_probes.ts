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
import {
  isRunning,
  listPids,
  parentPid,
  readCmdline,
  readEnviron,
} from "../lib/ssh/procfs.ts";

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
 * The pid of the local agent that serves the fixture's session `name`, as
 * `status --json` reports the way it took (`path.agent_pid`).
 *
 * @param sshd The fixture.
 * @param name A session of it, reached warm.
 * @returns The agent's pid.
 */
export async function agentPidOf(
  sshd: TestSshd,
  name: string,
): Promise<number> {
  const status = await sesshJson(sshd, ["status", name, sshd.dest]);
  const pid = (status.json.path as Record<string, unknown> | undefined)
    ?.agent_pid;
  assert.ok(typeof pid === "number" && pid > 0, JSON.stringify(status.json));
  return pid;
}

/**
 * The fixture's remote daemons: the processes that hold a daemon's locked
 * pid file open (removed or not), as the helper's own procfs fallback
 * finds them. A daemon is forked off a bridge, so its command line is the
 * bridge's; its pattern worker, forked off it in turn, holds the same files.
 *
 * @param sshd The fixture.
 * @returns Their pids.
 */
export function daemonsOf(sshd: TestSshd): number[] {
  const holds = (pid: number) => {
    try {
      return Array.from(Deno.readDirSync(`/proc/${pid}/fd`)).some((fd) => {
        try {
          const target = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`);
          return /\/daemon-\d+\.pid( \(deleted\))?$/.test(target);
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  };
  return listPids().filter((pid) =>
    readEnviron(pid)?.XDG_CACHE_HOME === sshd.remoteCacheDir && holds(pid) &&
    !holds(parentPid(pid) ?? 0)
  );
}

/**
 * The pid of the fixture's daemon.
 *
 * @param sshd The fixture.
 * @returns The pid of its one daemon.
 */
export function daemonPid(sshd: TestSshd): number {
  const pids = daemonsOf(sshd);
  assert.equal(pids.length, 1, `daemons: ${pids}`);
  return pids[0];
}

/** A process's name (`/proc/PID/comm`), or undefined when it is gone. */
export function readComm(pid: number): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trimEnd();
  } catch {
    return undefined;
  }
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

/** Whether anything (a file, a socket, a dangling link) is at `path`. */
export function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Running processes (other than this one) that name `text` on their command line. */
export function processesNaming(text: string): number[] {
  return listPids().filter((pid) =>
    pid !== Deno.pid && isRunning(pid) &&
    (readCmdline(pid)?.some((arg) => arg.includes(text)) ?? false)
  );
}

export async function shellPid(sshd: TestSshd, name: string): Promise<number> {
  const status = await sesshJson(sshd, ["status", name, sshd.dest]);
  assert.equal(status.code, 0, status.stderr);
  return (status.json.session as Record<string, unknown>).shell_pid as number;
}

/** The pids holding a listening Unix socket bound at `path`, from /proc/net/unix and /proc/PID/fd. */
export function listenersOf(path: string): number[] {
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

/** Every file under `dir` (following no links) whose bytes hold `needle`. */
export async function filesHolding(
  dir: string,
  needle: Uint8Array,
): Promise<string[]> {
  const found: string[] = [];
  const holds = (data: Uint8Array) => {
    outer: for (let i = 0; i + needle.length <= data.length; i++) {
      for (let j = 0; j < needle.length; j++) {
        if (data[i + j] !== needle[j]) continue outer;
      }
      return true;
    }
    return false;
  };
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await filesHolding(path, needle));
    else if (entry.isFile) {
      const data = await Deno.readFile(path).catch(() => new Uint8Array());
      if (holds(data)) found.push(path);
    }
  }
  return found;
}

/**
 * Whether `pid` has the file that was at `path` open after its name was
 * taken away (a rename over it, an unlink).
 *
 * @param path The file's former path.
 * @param pid The process; this one by default.
 * @returns Whether it holds it.
 */
export async function holdsDeleted(
  path: string,
  pid: number | "self" = "self",
): Promise<boolean> {
  for await (const entry of Deno.readDir(`/proc/${pid}/fd`)) {
    const to = await Deno.readLink(`/proc/${pid}/fd/${entry.name}`)
      .catch(() => "");
    if (to === `${path} (deleted)`) return true;
  }
  return false;
}
