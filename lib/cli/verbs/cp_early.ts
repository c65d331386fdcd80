/**
 * The head start of `cp` through sftp: sftp starts, through the master's
 * socket, before the client's modules load and the daemon is asked what to
 * copy, and gets its batch once that is known (issue 21). Its own start, the
 * mux client's and the subsystem's on the host then overlap all of sessh's
 * work before the transfer, as scp has none of that work to do.
 *
 * The socket is the one the last copy with the same destination and
 * settings went through, remembered in the control directory; without one,
 * `ssh -G` tells it (as `ensureMaster` asks), which costs about as long as
 * the modules take to load. Either is only a guess until the client
 * confirms it: the copy uses the early sftp when the client goes through
 * the same master, and starts sftp anew when it does not, or when no master
 * answered there (the guard of `clientArgv` keeps it from connecting on its
 * own). Until it has its batch it has written nothing anywhere.
 *
 * @module
 */
import { resolveControlPath } from "../../ssh/control_path.ts";
import { parseDestination } from "../../ssh/destination.ts";
import { settingsFromEnv } from "../../ssh/settings.ts";
import { type PendingSftp, startSftp } from "../../ssh/sftp.ts";
import { sshFlags, type SshFlagWords } from "../ssh_flags.ts";

/** How many destinations' sockets are remembered. */
const REMEMBERED = 32;

/** An early sftp, and what the client's master is to be checked against. */
export interface EarlySftp {
  /** The sftp waiting for its batch; null when no master ran at the socket. */
  sftp: PendingSftp | null;
  /** Where the socket is remembered, and under which key. */
  memo: { file: string; key: string; guessed: string | null };
}

/**
 * Starts sftp for a copy to or from `host` through its master, when ssh's
 * settings keep one (`SESSH_CONTROL_MASTER` not `no`).
 *
 * @param host The remote side's destination, as typed.
 * @param flags The call's ssh flags.
 * @returns The sftp waiting for its batch, or null where there is no head
 *   start to take (no master in the settings, or ssh refusing the options:
 *   the copy then says why).
 *
 * @example
 * ```ts ignore
 * import { startEarlySftp } from "./cp_early.ts";
 * const early = await startEarlySftp("me@box", {});
 * await early?.sftp?.cancel();
 * ```
 */
export async function startEarlySftp(
  host: string,
  flags: SshFlagWords,
): Promise<EarlySftp | null> {
  try {
    const destination = parseDestination(host);
    const settings = settingsFromEnv(Deno.env.toObject(), sshFlags(flags));
    if (!settings.controlMaster) return null;
    const file = `${settings.controlDir}/cp-sockets.json`;
    const key = JSON.stringify([destination, settings]);
    const remembered = (await readMemo(file))[key];
    const controlPath = remembered ??
      await resolveControlPath(destination, settings);
    // No socket, no master: the client starts one, and sftp after it.
    const socket = (await Deno.lstat(controlPath).catch(() => null))?.isSocket;
    return {
      sftp: socket ? startSftp(destination, settings, controlPath) : null,
      memo: { file, key, guessed: remembered ?? null },
    };
  } catch {
    return null;
  }
}

/**
 * The early sftp when it goes through the master the client reached, else
 * null (and it is ended). The client's socket is remembered for the next
 * copy when it was not what this one guessed.
 *
 * @param early What {@linkcode startEarlySftp} gave.
 * @param controlPath The client's master's socket, or null without one.
 * @returns The sftp to give the batch to, or null to start one anew.
 */
export async function confirmEarlySftp(
  early: Promise<EarlySftp | null> | undefined,
  controlPath: string | null,
): Promise<PendingSftp | null> {
  const started = await early;
  if (!started) return null;
  const { sftp, memo } = started;
  if (controlPath !== null && memo.guessed !== controlPath) {
    await remember(memo.file, memo.key, controlPath).catch(() => {});
  }
  if (sftp && controlPath !== null && sftp.controlPath === controlPath) {
    return sftp;
  }
  await sftp?.cancel();
  return null;
}

async function readMemo(file: string): Promise<Record<string, string>> {
  try {
    const memo = JSON.parse(await Deno.readTextFile(file));
    return memo && typeof memo === "object" ? memo : {};
  } catch {
    return {};
  }
}

/**
 * Writes the memo whole beside itself and renames it over the old one: a
 * reader never sees half of it, and no link at its name is followed.
 */
async function remember(
  file: string,
  key: string,
  controlPath: string,
): Promise<void> {
  const memo = await readMemo(file);
  delete memo[key];
  memo[key] = controlPath;
  const kept = Object.entries(memo).slice(-REMEMBERED);
  const temp = `${file}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(temp, JSON.stringify(Object.fromEntries(kept)), {
    createNew: true,
    mode: 0o600,
  });
  await Deno.rename(temp, file).catch(async (error) => {
    await Deno.remove(temp).catch(() => {});
    throw error;
  });
}
