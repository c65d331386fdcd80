/**
 * One file through the host's sftp subsystem, planned with the daemon's
 * file requests, for `cp` and for the client's `upload` and `download`
 * (`copyOneFile` chooses between sftp and the daemon). sftp writes no
 * target in place: a download goes to a part file beside the target (made
 * here, exclusively, synced and renamed over it), an upload to a part file
 * on the host that sftp syncs (`put -f`) and the daemon (or, before
 * `part_commit`, sftp) renames over the target, so that a copy cut short
 * leaves the old file. Trees: lib/cli/verbs/cp_sftp_tree.ts.
 *
 * @module
 */
import { SesshError, UsageError } from "../errors.ts";
import { partPathOf } from "../fs/atomic_file.ts";
import { onInterrupt } from "../interrupt.ts";
import type { SesshClient } from "./client.ts";
import {
  type CopyPlan,
  downloadFile,
  fetchParts,
  type FileOptions,
  openLocal,
  planDownload,
  planUpload,
  sendParts,
  type TransferResult,
  uploadFile,
} from "./files.ts";
import {
  type Direction,
  noSftpError,
  renameLine,
  sftpBatch,
  transferBatch,
} from "../ssh/sftp.ts";
import { CAPS, OPS } from "../contract/spec.ts";
import { markPhase } from "../phases.ts";
import { everyWhile, flushingInSteps } from "./part_flush.ts";
import { requireFileCopies } from "./file_caps.ts";
import { holdAtAgent } from "../transport/agent_hold.ts";

/** How long the daemon's rename of an upload's part may take. */
const COMMIT_TIMEOUT_MS = 30_000;
/**
 * How long the local agent may take to hold a download's old target (plus
 * the 500 ms `askAgent` adds); an agent this slow holds nothing.
 */
const HOLD_TIMEOUT_MS = 1000;

/**
 * The most a file may have left to copy for the daemon to carry it rather
 * than sftp, when the user did not choose (`--via`). The daemon is already
 * connected, where sftp starts a process, a channel and its subsystem
 * first: on the test host the daemon's copy was the faster one up to about
 * 16 MiB each way (1 MiB: 44 against 58 ms up, 43 against 59 down; 8 MiB:
 * 85 / 114 up, 75 / 84 down; 16 MiB even; 32 MiB: sftp 19% faster), and
 * only sftp keeps pace with scp beyond.
 */
export const DAEMON_COPY_MAX = 8 << 20;

/** How a copy through sftp runs. */
export interface SftpOptions {
  /** Continue a cut copy. */
  resume: boolean;
  /** Called with the bytes at the destination and the total. */
  onProgress?: (copied: number, total: number) => void;
  /**
   * Have the daemon carry a file with at most this many bytes left to copy
   * (see {@linkcode DAEMON_COPY_MAX}); unset, sftp carries every file.
   */
  daemonUpTo?: number;
  /** Stops the copy (sftp, or the daemon before its next part). */
  signal?: AbortSignal;
  /** The only local directories a download may make its file in. */
  within?: readonly string[];
}

/**
 * One file through sftp. A daemon too old for file requests leaves the
 * paths to sftp (in place, as sftp writes them), and cannot check a resume.
 *
 * @param client The connected client.
 * @param direction Upload or download.
 * @param localPath The local side, as typed.
 * @param remotePath The remote side.
 * @param options Resume, progress, stop, the local directories allowed,
 *   and how small a file the daemon carries instead.
 * @returns What was copied, and which way (`via`: the daemon carries a file
 *   within `daemonUpTo`).
 */
export async function fileViaSftp(
  client: SesshClient,
  direction: Direction,
  localPath: string,
  remotePath: string,
  options: SftpOptions,
): Promise<TransferResult> {
  const files = client.daemon.caps.includes(CAPS.files);
  const partFiles = client.daemon.caps.includes(CAPS.part_files);
  if (!files && options.resume) {
    throw new UsageError(
      `The sessh daemon on ${client.destination.host} predates checked resumes (an older sessh started it); copy without --resume, or close its sessions so that a new one starts`,
    );
  }
  const plan: CopyPlan = !files
    ? { remotePath, localPath, total: -1, start: 0, mode: 0 }
    : direction === "upload"
    ? await planUpload(client.connection, localPath, remotePath, {
      resume: options.resume,
      partFiles,
    })
    : await planDownload(client.connection, remotePath, localPath, options);
  markPhase("planned");
  const whole = plan.total >= 0 && plan.start === plan.total &&
    plan.continues === "target";
  if (whole) {
    return {
      remotePath: plan.remotePath,
      localPath: plan.localPath,
      bytes: plan.total,
      resumedFrom: plan.start,
      via: "sftp",
    };
  }
  // By the same plan, so the choice costs no request. A file of no size
  // goes this way too: the daemon reads one the host makes up (/proc) to
  // its end and refuses a FIFO, whose open would keep sftp waiting.
  const rest = plan.total - plan.start;
  if (files && rest <= (options.daemonUpTo ?? -1)) {
    const how = {
      resume: options.resume,
      onProgress: options.onProgress,
      signal: options.signal,
      within: options.within,
    };
    const copied = direction === "upload"
      ? await sendParts(client.connection, plan, { ...how, partFiles })
      : await fetchParts(client.connection, plan, how);
    return { ...copied, via: "helper" };
  }
  const run = (batch: string, watched: () => Promise<number>) =>
    watching(
      options,
      plan.total,
      watched,
      () => sftp(client, batch, options.signal),
    );
  if (direction === "download") {
    if (!files) {
      await run(
        transferBatch("download", localPath, remotePath),
        () => localSize(localPath),
      );
      return {
        remotePath,
        localPath,
        bytes: await localSize(localPath),
        resumedFrom: 0,
        via: "sftp",
      };
    }
    // sftp opens the part by its name and truncates it (the same file: made
    // here a moment ago, in a directory of the user's); ours stays open so
    // that commit() syncs what sftp wrote.
    await using out = await openLocal(plan, {
      resume: options.resume,
      within: options.within,
      signal: options.signal,
    });
    // Asked for while sftp runs, so that its answer is there by the rename.
    const holding = holdOldTarget(client, out);
    try {
      // A source of no size may be one the host makes up as it is read
      // (/proc): sftp reads it to its end.
      if (out.start < plan.total || plan.total === 0) {
        await flushingInSteps({ file: out.file, total: plan.total }, () =>
          run(
            transferBatch("download", out.partPath, plan.remotePath, {
              resume: out.start > 0,
            }),
            () => localSize(out.partPath),
          ));
        markPhase("sftp");
      }
      await holding;
      // The sync before the rename stays: a reader sees the old file or the
      // whole new one, even after a crash. The flushes above leave it little
      // to write (part_flush.ts).
      await out.commit();
      markPhase("committed");
    } finally {
      (await holding)?.();
    }
    return {
      remotePath: plan.remotePath,
      localPath: out.path,
      bytes: plan.total || await localSize(out.path),
      resumedFrom: out.start,
      via: "sftp",
    };
  }
  const remoteSize = async () =>
    (await client.stat(part).catch(() => null))?.size ?? 0;
  const viaPart = partFiles && plan.continues !== "target";
  const part = viaPart ? partPathOf(plan.remotePath) : plan.remotePath;
  using _ = onInterrupt(
    () =>
      viaPart
        ? discardRemote(client, part, plan.remotePath, options.resume)
        : undefined,
    options.signal,
  );
  // The daemon renames the part where it can: it lets go of the file
  // replaced after its reply, which sftp's rename waited for (file_ops.py).
  const daemonCommits = viaPart &&
    client.daemon.caps.includes(CAPS.part_commit);
  try {
    // A part that holds the whole source only needs its rename; an empty
    // source with no part yet still needs its (empty) part made.
    const whole = plan.continues === "part" && plan.start === plan.total;
    const send = whole
      ? ""
      : transferBatch("upload", localPath, part, { resume: plan.start > 0 });
    const batch = send +
      (viaPart && !daemonCommits ? renameLine(part, plan.remotePath) : "");
    const flushes = viaPart && send !== "" &&
      client.daemon.caps.includes(CAPS.part_flush);
    if (batch) {
      await (flushes
        ? flushingOnHost(client, part, () => run(batch, remoteSize))
        : run(batch, remoteSize));
    }
    markPhase("sftp");
    if (daemonCommits) {
      await client.connection.request(OPS.fwrite, {
        path: part,
        part: true,
        target: plan.remotePath,
        commit: plan.remotePath,
        sync: false,
      }, { timeoutMs: COMMIT_TIMEOUT_MS });
      markPhase("committed");
    }
  } catch (error) {
    if (viaPart) {
      await discardRemote(client, part, plan.remotePath, options.resume).catch(
        () => {},
      );
    }
    throw error;
  }
  const bytes = plan.total > 0
    ? plan.total
    : (await client.stat(plan.remotePath).catch(() => null))?.size ?? 0;
  return {
    remotePath: plan.remotePath,
    localPath,
    bytes,
    resumedFrom: plan.start,
    via: "sftp",
  };
}

/**
 * How often the host is asked to start writing an upload's part to its
 * disk while sftp writes it.
 */
const HOST_FLUSH_MS = 20;

/**
 * Has the daemon start the writeback of an upload's part while sftp writes
 * it (`fwrite`'s `flush`: what the part holds past the last one), so that
 * the sync sftp makes before it closes the part (`put -f`) finds little
 * left, as a download's flushes in steps do (`part_flush.ts`). A flush that
 * fails (no part yet, or a lost link) is only a head start not taken.
 *
 * @param client The connected client.
 * @param part The part's path on the host.
 * @param work What writes it (sftp).
 * @returns What `work` returns.
 */
async function flushingOnHost<T>(
  client: SesshClient,
  part: string,
  work: () => Promise<T>,
): Promise<T> {
  let flushed = 0;
  return await everyWhile(HOST_FLUSH_MS, async () => {
    const reply = await client.connection.request(OPS.fwrite, {
      path: part,
      part: true,
      flush: true,
      offset: flushed,
    }, { timeoutMs: COMMIT_TIMEOUT_MS }).catch(() => null);
    if (typeof reply?.size === "number") flushed = reply.size;
    return true;
  }, work);
}

/**
 * One file, the way `options.via` asks: through the host's sftp subsystem,
 * or through the daemon (`"helper"`). Unset, a file with more than
 * {@linkcode DAEMON_COPY_MAX} bytes left to copy goes through sftp when
 * there is a master to run it on (only sftp keeps pace with scp there), and
 * through the daemon on a host without sftp, which `notice` then says;
 * without a master the daemon, already connected, carries every file.
 *
 * @param client The connected client.
 * @param direction Upload or download.
 * @param localPath The local side.
 * @param remotePath The remote side.
 * @param options How; `recursive` is not read (one file).
 * @returns What was copied, and how (`via`).
 */
export async function copyOneFile(
  client: SesshClient,
  direction: Direction,
  localPath: string,
  remotePath: string,
  options: FileOptions,
): Promise<TransferResult> {
  const byDaemon = async (): Promise<TransferResult> => {
    requireFileCopies(client);
    const copied = direction === "upload"
      ? await uploadFile(client.connection, localPath, remotePath, options)
      : await downloadFile(client.connection, remotePath, localPath, options);
    return { ...copied, via: "helper" };
  };
  const chosen = options.via ?? (client.master === null ? "helper" : "sftp");
  if (chosen === "helper") return await byDaemon();
  const how: SftpOptions = {
    resume: options.resume ?? false,
    onProgress: options.onProgress,
    signal: options.signal,
    within: options.within,
    // Unless sftp was asked for, a small file goes through the daemon.
    daemonUpTo: options.via ? undefined : DAEMON_COPY_MAX,
  };
  try {
    return await fileViaSftp(client, direction, localPath, remotePath, how);
  } catch (error) {
    if (!fallsBackFromSftp(error, client, options.via)) throw error;
  }
  return { ...await byDaemon(), notice: noSftpNotice(client) };
}

/**
 * Whether a copy that found no sftp subsystem on the host goes through the
 * daemon instead: only when sftp was not asked for by name, and the daemon
 * copies files.
 *
 * @param error What the copy through sftp threw.
 * @param client The connected client.
 * @param asked The way the caller asked for (`via`), if any.
 * @returns Whether to copy through the daemon.
 */
export function fallsBackFromSftp(
  error: unknown,
  client: SesshClient,
  asked: "sftp" | "helper" | undefined,
): boolean {
  return error instanceof SesshError && error.details.noSftp === true &&
    asked === undefined && client.daemon.caps.includes(CAPS.files);
}

/**
 * What a copy says when it went through the daemon for want of sftp.
 *
 * @param client The connected client.
 * @returns The notice.
 */
export function noSftpNotice(client: SesshClient): string {
  return `${client.destination.host} has no sftp subsystem; copied through the sessh daemon`;
}

/**
 * Has the local agent hold the file the part will be renamed over, so that
 * the rename only drops a name and the agent frees the old file after this
 * call lets go (issue 21: 29–35 ms of a 100 MB download). Only through an
 * agent of another process; a part that is the target itself replaces
 * nothing.
 *
 * @param client The connected client.
 * @param out The part and its target.
 * @returns A function that lets go of the old file, or null.
 */
async function holdOldTarget(
  client: SesshClient,
  out: { path: string; partPath: string },
): Promise<(() => void) | null> {
  const { warm, agentPid } = client.path;
  if (!warm || agentPid === Deno.pid || out.partPath === out.path) return null;
  return await holdAtAgent(
    client.settings.controlDir,
    Deno.env.toObject(),
    out.path,
    HOLD_TIMEOUT_MS,
  );
}

/**
 * sftp's own batch; a refused subsystem told from a dead link.
 *
 * @param client The connected client.
 * @param batch The batch's lines.
 * @param signal Stops sftp.
 */
export async function sftp(
  client: SesshClient,
  batch: string,
  signal?: AbortSignal,
): Promise<void> {
  await sftpBatch(
    client.destination,
    client.settings,
    // Without a master (SESSH_CONTROL_MASTER=no), a connection of its own.
    client.master?.controlPath ?? null,
    batch,
    signal,
  ).catch(async (error) => {
    throw await closedMeansNoSftp(client, error);
  });
}

/**
 * Through a master, a refused subsystem reads only "Connection closed", as a
 * dead link does: a link that still answers closed only sftp's channel.
 */
async function closedMeansNoSftp(
  client: SesshClient,
  error: unknown,
): Promise<unknown> {
  const answers = error instanceof SesshError &&
    error.details.closed === true &&
    await client.connection.request(OPS.ping, {}, { timeoutMs: 5000 })
      .then(() => true, () => false);
  return answers ? noSftpError(client.destination) : error;
}

/**
 * sftp writes the bytes itself: the bar follows the destination's size.
 * Without a bar no timer is touched, not even to clear none: the first touch
 * of Deno's global timers costs 10–25 ms (lib/timer.ts).
 */
async function watching<T>(
  options: SftpOptions,
  total: number,
  size: () => Promise<number>,
  work: () => Promise<T>,
): Promise<T> {
  if (!options.onProgress || total < 0) return await work();
  const timer = setInterval(async () => {
    options.onProgress?.(await size().catch(() => 0), total);
  }, 250);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * A local file's size, -1 when there is none (not following a link).
 *
 * @param path The file.
 * @returns Its size.
 */
export async function localSize(path: string): Promise<number> {
  return (await Deno.lstat(path).catch(() => null))?.size ?? 0;
}

/**
 * Removes an upload's part on the host, unless it is kept to resume.
 *
 * @param client The connected client.
 * @param part The part's path on the host.
 * @param target The file it was to become.
 * @param keep Whether it is kept (a copy with `--resume`).
 * @returns What was left, for the report of a stop.
 */
export async function discardRemote(
  client: SesshClient,
  part: string,
  target: string,
  keep: boolean,
): Promise<string> {
  if (keep) {
    return `the part sent is in ${part} on the host (copy again with --resume to continue)`;
  }
  await client.connection.request(OPS.fwrite, { path: part, discard: true }, {
    timeoutMs: 5000,
  });
  return `${target} on the host left as it was; removed ${part} there`;
}
