/**
 * `cp [NAME] SRC DST`: a file to or from the host, in scp's shape (one side
 * `[user@]host:path`), through the destination's ControlMaster: with the
 * host's sftp subsystem, or through the sessh daemon for a file of up to
 * 8 MiB (`DAEMON_COPY_MAX`) and where there is none
 * (or with `--via helper`, or by default without a master:
 * `SESSH_CONTROL_MASTER=no`, where `--via sftp` makes a connection of its own).
 * `--resume` continues a cut copy when the part at the destination is the
 * source's start. With NAME, a relative remote path is taken in the
 * session's current directory.
 *
 * @module
 */
import { UsageError } from "../../errors.ts";
import type { TransferResult } from "../../session/files.ts";
import type { Direction } from "../../ssh/sftp.ts";
import {
  DAEMON_COPY_MAX,
  fallsBackFromSftp,
  noSftpNotice,
} from "../../session/sftp_copy.ts";
import { treeViaSftp } from "./cp_sftp_tree.ts";
import { type CommonFlags, connect, type Outcome } from "../call.ts";
import { progressBar } from "../progress.ts";
import { verb } from "../context.ts";
import { wellFormed } from "../../well_formed.ts";
import { transferJson } from "../../report/result_json.ts";
import { markPhase } from "../../phases.ts";
import { stepsDone } from "../../interrupt.ts";

/** Flags of `cp`. */
export interface CpFlags extends CommonFlags {
  /** Continue a cut copy. */
  resume?: boolean;
  /** How the bytes go: the host's sftp subsystem (the default) or the daemon. */
  via?: "sftp" | "helper";
  /** Copy a directory tree, as scp -r. */
  recursive?: boolean;
}

/** One side of a copy. */
export interface CopySide {
  /** The host part, as a destination (`user@host`), or null for a local path. */
  host: string | null;
  /** The path. */
  path: string;
}

/**
 * Reads one side of a copy as scp does: a colon before any slash makes it
 * remote (write `./a:b` for a local name with a colon).
 *
 * @param word The argument.
 * @returns The side.
 *
 * @example
 * ```ts
 * import { copySide } from "./cp.ts";
 * console.log(copySide("me@box:logs/app.log")); // { host: "me@box", path: "logs/app.log" }
 * console.log(copySide("./a:b")); // { host: null, path: "./a:b" }
 * ```
 */
export function copySide(word: string): CopySide {
  const match = /^([^:/]+):(.*)$/s.exec(word);
  return match
    ? { host: match[1], path: match[2] }
    : { host: null, path: word };
}

/** Where a copy's progress bar goes: a terminal, and its width if known. */
export interface ProgressOutput {
  /** Writes one redraw. */
  write(text: string): Promise<void>;
  /** The terminal's width; this process's console's when absent. */
  columns?: number;
}

/** Where a copy runs for its caller, when not in the caller's process. */
export interface CopyCaller {
  /** The caller's directory, which a relative local path is read from. */
  cwd?: string;
  /** Stops the copy (the caller's signal, or the caller gone). */
  stop?: AbortSignal;
}

/**
 * `cp [NAME] SRC DST`.
 *
 * @param words NAME SRC DST, or SRC DST.
 * @param flags Options.
 * @param progress Where the progress bar goes on a terminal (stderr), or null.
 * @param caller The caller's directory and stop, when the local agent runs
 *   the copy for a thin client.
 * @returns The outcome.
 */
export async function cpCommand(
  words: string[],
  flags: CpFlags,
  progress: ProgressOutput | null,
  caller: CopyCaller = {},
): Promise<Outcome> {
  const [name, src, dst] = words.length === 3
    ? words
    : [undefined, words[0], words[1]];
  if (src === undefined || dst === undefined) {
    throw new UsageError(
      "Usage: sessh cp [NAME] SRC DEST, one side as host:path",
    );
  }
  const from = copySide(src);
  const to = copySide(dst);
  if ((from.host === null) === (to.host === null)) {
    throw new UsageError(
      "One side of cp is remote (host:path) and the other local; write ./a:b for a local name with a colon",
    );
  }
  const direction: Direction = from.host === null ? "upload" : "download";
  const remote = direction === "upload" ? to : from;
  const typed = direction === "upload" ? from : to;
  const local = { ...typed, path: fromCaller(typed.path, caller.cwd) };
  if (direction === "upload") {
    const info = await Deno.stat(local.path).catch(() => null);
    if (info?.isDirectory && !flags.recursive) {
      throw new UsageError(
        `${typed.path} is a directory; copy it with cp -r`,
      );
    }
    if (!info?.isFile && !info?.isDirectory) {
      throw new UsageError(
        `No file ${JSON.stringify(typed.path)} here to copy`,
      );
    }
  }
  // A tree resumed is checked file by file, which sftp cannot do.
  if (flags.recursive && flags.resume && flags.via === "sftp") {
    throw new UsageError(
      "cp -r --resume checks each file through the sessh daemon; leave out --via sftp",
    );
  }
  await using client = await connect({ dest: remote.host! }, flags);
  let remotePath = remote.path || ".";
  if (name !== undefined && !/^[/~]/.test(remotePath)) {
    const cwd = (await client.session(name).status()).cwd;
    if (cwd) remotePath = `${cwd}/${remotePath}`;
  }
  const started = performance.now();
  const bar = progress ? progressBar(progress.write, progress.columns) : null;
  const options = {
    resume: flags.resume ?? false,
    recursive: flags.recursive ?? false,
    onProgress: bar?.update,
    signal: caller.stop,
  };
  let copied: TransferResult | null = null;
  let notice: string | undefined;
  try {
    // One file goes the way the library chooses (`via` in TransferOptions);
    // a tree through sftp unless resumed, or without a master, where sftp
    // would cost a connection of its own.
    const treeVia = flags.via ??
      (options.resume || client.master === null ? "helper" : "sftp");
    if (options.recursive && treeVia === "sftp") {
      copied = await treeViaSftp(
        client,
        direction,
        local.path,
        remotePath,
        // Unless sftp was asked for, a small file goes through the daemon.
        flags.via ? options : { ...options, daemonUpTo: DAEMON_COPY_MAX },
      )
        .catch((error) => {
          if (fallsBackFromSftp(error, client, flags.via)) return null;
          throw error;
        });
      if (copied === null) notice = noSftpNotice(client);
    }
    const how = { ...options, via: options.recursive ? undefined : flags.via };
    copied ??= direction === "upload"
      ? await client.upload(local.path, remotePath, how)
      : await client.download(remotePath, local.path, how);
  } catch (error) {
    // Stopped in the agent, the copy fails at once: the steps that end it
    // (its part removed on the host) use this connection until done.
    await stepsDone(caller.stop);
    throw error;
  } finally {
    await bar?.done();
  }
  markPhase("copied");
  // The local path as typed, as the caller's own process reports it: an
  // upload's source and a tree's top (a file downloaded is reported by the
  // real path of the file made, either way).
  if (
    local.path !== typed.path &&
    (direction === "upload" || copied.files !== undefined) &&
    (copied.localPath === local.path ||
      copied.localPath.startsWith(`${local.path}/`))
  ) {
    copied = {
      ...copied,
      localPath: typed.path + copied.localPath.slice(local.path.length),
    };
  }
  const durationMs = Math.round(performance.now() - started);
  const tree = copied.files === undefined
    ? {}
    : { files: copied.files, skipped: copied.skipped ?? 0 };
  return {
    op: "cp",
    fields: {
      direction,
      source: src,
      destination: dst,
      ...transferJson(copied),
      ...tree,
      via: copied.via ?? "helper",
      duration_ms: durationMs,
    },
    text: copySummary(direction, copied, durationMs),
    notice: notice ?? copied.notice,
    exitCode: 0,
  };
}

/** `cp`, as its grammar in `cp_command.ts` calls it. */
export const cp = verb((
  context,
  flags: CpFlags,
  first: string,
  second: string,
  third: string | undefined,
) => {
  const words = [first, second, third].filter((w) => w !== undefined);
  // A progress line on a terminal, for a person watching: this process's,
  // or the thin client's the agent runs the copy for (never the agent's
  // own, which may be a terminal when `sessh agent` runs in one).
  const own = context.cwd === undefined;
  const progress: ProgressOutput | null = context.sink.json
    ? null
    : context.bar ?? (own && Deno.stderr.isTerminal()
      ? {
        write: async (line: string) => {
          await Deno.stderr.write(new TextEncoder().encode(line));
        },
      }
      : null);
  const fields = words.length === 3 ? ["NAME", "SRC", "DEST"] : ["SRC", "DEST"];
  words.forEach((word, i) => wellFormed(word, fields[i]));
  return cpCommand(words, flags, progress, {
    cwd: context.cwd,
    stop: context.stop,
  });
});

/**
 * A local path as the caller meant it: a relative one is read from the
 * caller's directory, when the copy runs in another process (the agent).
 *
 * @param path The path as typed.
 * @param cwd The caller's directory, or undefined in the caller's process.
 * @returns The path to open.
 *
 * @example
 * ```ts
 * import { fromCaller } from "./cp.ts";
 * console.log(fromCaller("a/b.txt", "/home/me"), fromCaller("/etc/x", "/home/me")); // "/home/me/a/b.txt" "/etc/x"
 * console.log(fromCaller("~/x", "/w"), fromCaller("x", undefined)); // "/w/~/x" "x"
 * ```
 */
export function fromCaller(path: string, cwd: string | undefined): string {
  if (cwd === undefined || path === "" || path.startsWith("/")) return path;
  return `${cwd.replace(/\/+$/, "")}/${path}`;
}

/**
 * The line a copy prints: what went which way, in how many files, how
 * long it took.
 *
 * @param direction `upload` or `download`.
 * @param copied What was copied.
 * @param durationMs How long it took.
 * @returns The line, with its newline.
 *
 * @example
 * ```ts ignore
 * copySummary("upload", { bytes: 2, files: 1, resumedFrom: 0 }, 100);
 * // "sent 2 bytes in 1 file in 0.1 s\n"
 * ```
 */
export function copySummary(
  direction: "upload" | "download",
  copied: Pick<TransferResult, "bytes" | "files" | "skipped" | "resumedFrom">,
  durationMs: number,
): string {
  const resumed = copied.resumedFrom > 0
    ? `, resumed at byte ${copied.resumedFrom}`
    : "";
  const skipped = copied.skipped
    ? ` (${
      count(copied.skipped, "link or other", "links and others")
    } left out)`
    : "";
  const inFiles = copied.files === undefined
    ? ""
    : ` in ${count(copied.files, "file")}${skipped}`;
  return `${direction === "upload" ? "sent" : "received"} ${
    count(copied.bytes, "byte")
  }${inFiles} in ${(durationMs / 1000).toFixed(1)} s${resumed}\n`;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
