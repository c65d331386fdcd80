/**
 * Port forwards through a destination's running ControlMaster (`ssh -O
 * forward`, `ssh -O cancel`), recorded beside its control socket so that
 * `status` can list them and a master that replaces a dead one gets them
 * back.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { Forward } from "./forward_spec.ts";

export {
  type Forward,
  parseForward,
  parseForwardFlag,
} from "./forward_spec.ts";
import { runCommand } from "../process.ts";
import type { Destination } from "./destination.ts";
import { baseOptions, destinationArg } from "./options.ts";
import type { SshSettings } from "./settings.ts";
import { classifySshFailure } from "./ssh_errors.ts";

/** The file beside a control socket that records its forwards. */
function recordPath(controlPath: string): string {
  return `${controlPath}.forwards.json`;
}

/**
 * The forwards recorded for a master.
 *
 * @param controlPath The master's control socket.
 * @returns The forwards; none when nothing is recorded.
 */
export async function recordedForwards(
  controlPath: string,
): Promise<Forward[]> {
  try {
    const list = JSON.parse(await Deno.readTextFile(recordPath(controlPath)));
    return Array.isArray(list)
      ? list.filter((f) =>
        ["L", "R", "D"].includes(f?.kind) && typeof f?.spec === "string"
      )
      : [];
  } catch {
    return [];
  }
}

/**
 * Forgets a master's forwards: it was stopped on purpose, and the next one
 * starts without them.
 *
 * @param controlPath The master's control socket.
 */
export async function forgetForwards(controlPath: string): Promise<void> {
  await Deno.remove(recordPath(controlPath)).catch(() => {});
}

async function record(controlPath: string, forwards: Forward[]): Promise<void> {
  const path = recordPath(controlPath);
  const tmp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(forwards), { mode: 0o600 });
  await Deno.rename(tmp, path);
}

/**
 * Adds or cancels a forward on the running master, and records the change.
 *
 * @param dest The destination.
 * @param settings The settings (the same as the master's).
 * @param controlPath The master's control socket.
 * @param forward The forward.
 * @param cancel Cancel it instead.
 * @returns The forwards recorded now.
 * @throws {SesshError} with ssh's reason when the master refuses.
 */
export async function changeForward(
  dest: Destination,
  settings: SshSettings,
  controlPath: string,
  forward: Forward,
  cancel = false,
): Promise<Forward[]> {
  await applyForward(dest, settings, forward, cancel);
  const same = (f: Forward) =>
    f.kind === forward.kind && f.spec === forward.spec;
  const recorded = (await recordedForwards(controlPath)).filter((f) =>
    !same(f)
  );
  const now = cancel ? recorded : [...recorded, forward];
  await record(controlPath, now);
  return now;
}

/**
 * Sets the recorded forwards up again on a master that replaced a dead one.
 * A forward the new master refuses (its port taken meanwhile) is dropped
 * from the record.
 *
 * @param dest The destination.
 * @param settings The settings.
 * @param controlPath The master's control socket.
 * @returns The forwards that failed, with why.
 */
export async function restoreForwards(
  dest: Destination,
  settings: SshSettings,
  controlPath: string,
): Promise<{ forward: Forward; why: string }[]> {
  const failed: { forward: Forward; why: string }[] = [];
  const kept: Forward[] = [];
  const recorded = await recordedForwards(controlPath);
  for (const forward of recorded) {
    try {
      await applyForward(dest, settings, forward, false);
      kept.push(forward);
    } catch (error) {
      failed.push({ forward, why: (error as Error).message });
    }
  }
  if (failed.length) await record(controlPath, kept);
  return failed;
}

async function applyForward(
  dest: Destination,
  settings: SshSettings,
  forward: Forward,
  cancel: boolean,
): Promise<void> {
  const withPort = dest.port === undefined
    ? settings
    : { ...settings, port: dest.port };
  const argv = [
    "ssh",
    ...baseOptions(withPort),
    "-O",
    cancel ? "cancel" : "forward",
    `-${forward.kind}`,
    forward.spec,
    "--",
    destinationArg(dest),
  ];
  const result = await runCommand(argv, {
    timeoutMs: (settings.connectTimeoutSeconds + 5) * 1000,
  });
  if (result.code !== 0) {
    const stderr = new TextDecoder().decode(result.stderr).trim();
    if (result.code === 255 && !/forward/i.test(stderr)) {
      throw classifySshFailure(dest, result.code, stderr);
    }
    throw new UsageError(
      `The master refused to ${
        cancel ? "cancel" : "set up"
      } -${forward.kind} ${forward.spec}: ${
        stderr || `ssh exited ${result.code}`
      }`,
      "ssh_failed",
    );
  }
}
