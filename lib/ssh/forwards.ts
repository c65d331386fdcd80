/**
 * Port forwards through a destination's running ControlMaster (`ssh -O
 * forward`, `ssh -O cancel`), recorded beside its control socket so that
 * `status` can list them and a master that replaces a dead one gets them
 * back.
 *
 * @module
 */
import { SesshError, UsageError } from "../errors.ts";
import { type Forward, sameForward } from "./forward_spec.ts";

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
  if (cancel) {
    return (await cancelForward(dest, settings, controlPath, forward)).forwards;
  }
  await applyForward(dest, settings, forward, false);
  const recorded = (await recordedForwards(controlPath)).filter((f) =>
    !sameSpelling(f, forward)
  );
  const now = [...recorded, forward];
  await record(controlPath, now);
  return now;
}

/**
 * Cancels a forward on the running master. ssh compares a cancel with the
 * forward as it was set up, field by field as written, so a recorded
 * forward that is the same one spelled differently is cancelled by its
 * recorded spelling.
 *
 * @param dest The destination.
 * @param settings The settings (the same as the master's).
 * @param controlPath The master's control socket.
 * @param forward The forward, as the user wrote it.
 * @returns The forward cancelled (as ssh knew it), and those recorded now.
 * @throws {SesshError} `no_forward` when the master had no such forward.
 */
export async function cancelForward(
  dest: Destination,
  settings: SshSettings,
  controlPath: string,
  forward: Forward,
): Promise<{ cancelled: Forward; forwards: Forward[] }> {
  const recorded = await recordedForwards(controlPath);
  const cancelled = recorded.find((f) => sameSpelling(f, forward)) ??
    recorded.find((f) => sameForward(f, forward)) ?? forward;
  const rest = recorded.filter((f) => !sameSpelling(f, cancelled));
  try {
    await applyForward(dest, settings, cancelled, true);
  } catch (error) {
    // Not on the master: a record of it is stale (a master that replaced
    // a dead one could not set it up again).
    if (error instanceof SesshError && error.code === "no_forward") {
      if (rest.length !== recorded.length) await record(controlPath, rest);
      error.message += rest.length
        ? `; forwards set up through it: ${
          rest.map((f) => `-${f.kind} ${f.spec}`).join(", ")
        }`
        : "; no forward is set up through it";
    }
    throw error;
  }
  await record(controlPath, rest);
  return { cancelled, forwards: rest };
}

function sameSpelling(a: Forward, b: Forward): boolean {
  return a.kind === b.kind && a.spec === b.spec;
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
  const stderr = new TextDecoder().decode(result.stderr).trim();
  // `ssh -O cancel` exits 0 when the master refuses; only its message
  // tells (OpenSSH's mux client: "forwarding request failed: port not
  // forwarded").
  const refused = /forwarding request failed: *([^\r\n]*)/.exec(stderr);
  if (cancel && result.code === 0 && refused) {
    throw new SesshError(
      "no_forward",
      `No forward -${forward.kind} ${forward.spec} to cancel through the master of ${
        JSON.stringify(dest.host)
      }: ssh says "${refused[1] || "cancel forward request failed"}"`,
      1,
    );
  }
  if (result.code !== 0) {
    if (result.code === 255 && !/forward/i.test(stderr)) {
      throw classifySshFailure(dest, result.code, stderr);
    }
    throw new UsageError(
      `The master refused to ${
        cancel ? "cancel" : "set up"
      } -${forward.kind} ${forward.spec}: ${
        stderr || `ssh exited ${result.code}`
      }`,
      "forward_refused",
    );
  }
}
