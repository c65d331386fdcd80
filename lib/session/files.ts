/**
 * Files to and from the host through the daemon, part by part on the
 * connection a client already holds: the library's `upload` and `download`,
 * and what `sessh cp` uses where the host has no sftp subsystem. Paths go as
 * fields of requests, never on a command line; a relative remote path is
 * taken in the home directory, as scp does.
 *
 * @module
 */
import { SesshError } from "../errors.ts";
import { AtomicFile, partPathOf } from "../fs/atomic_file.ts";
import { onInterrupt } from "../interrupt.ts";
import type { Connection } from "../transport/connection.ts";
import { bytesField } from "./wire.ts";
import { OPS } from "../contract/spec.ts";
import { markPhase } from "../phases.ts";

/**
 * Bytes per request, and how many requests are in flight: parts of 256 KiB,
 * where parts of MiBs cost the daemon fresh pages for every copy; 4 MiB in
 * flight (as sftp keeps 64 requests of 32 KiB), since each part passes the
 * agent, ssh and the daemon, and on a busy machine each of them waits its
 * turn for a core: with 1 MiB in flight a copy went at a third of sftp.
 */
const PART = 256 * 1024;
const AHEAD = 16;
/**
 * A part's reply may wait behind the AHEAD parts before it; a dead link is
 * noticed sooner by the connection's heartbeat.
 */
const PART_TIMEOUT_MS = 120_000;

/** A file or directory on the host, as the daemon sees it. */
export interface RemoteFileInfo {
  /** The absolute path. */
  path: string;
  /** Its size in bytes. */
  size: number;
  /** Whether it is a directory. */
  dir: boolean;
}

/** Options of {@linkcode SesshClient.upload} and {@linkcode SesshClient.download}. */
export interface TransferOptions {
  /**
   * Continue a partial copy at the destination, when its bytes are the
   * start of the source (compared by SHA-256 on both sides); otherwise the
   * file is copied anew.
   * @default {false}
   */
  resume?: boolean;
  /** Called after each part with the bytes at the destination and the total. */
  onProgress?: (copied: number, total: number) => void;
  /**
   * Cancels the copy: an aborted signal, before or during it, rejects it
   * with `signal.reason` (an `AbortError` `DOMException` by default). The
   * copy stops before its next part; what was copied stays, and `resume`
   * continues it.
   */
  signal?: AbortSignal;
  /**
   * Copy a directory and everything in it, as `scp -r` does (only the
   * client's `upload` and `download` read it).
   * @default {false}
   */
  recursive?: boolean;
  /**
   * Real paths of the only local directories a download may create files
   * in (MCP's `--allow-local-dir`), judged on the directory each file is
   * actually made in; absent: anywhere.
   */
  within?: readonly string[];
  /**
   * How a single file's bytes go (the client's `upload` and `download`;
   * a `recursive` copy goes through the daemon): `"sftp"`, the host's sftp
   * subsystem over the master (without one, over a connection of its
   * own), or `"helper"`, the sessh daemon on this connection, which needs
   * no sftp subsystem but is about half as fast for a large file. Unset: the
   * daemon for a file of up to 8 MiB left to copy or when there is no
   * master, sftp for a larger one, and the daemon again on a host without
   * sftp (the result's `notice` says so).
   */
  via?: "sftp" | "helper";
}

/**
 * A copy decided before any byte moves: which files, how many bytes, and
 * where it begins.
 */
export interface CopyPlan {
  /** The remote file (a directory given resolved to the file in it). */
  remotePath: string;
  /** The local file (likewise). */
  localPath: string;
  /** The source's size. */
  total: number;
  /** Where the copy begins: 0, or the size of a partial copy to continue. */
  start: number;
  /** The source's permission bits, for a file the copy creates. */
  mode: number;
  /**
   * What a resumed copy continues: the part file an earlier copy left
   * beside the destination (`.NAME.sessh-part`), or the destination itself
   * (a copy cut by scp, sftp or an older sessh). Absent: a fresh copy.
   */
  continues?: "part" | "target";
}

/** What a finished copy did (for a tree, also `files` and `skipped`). */
export interface TransferResult {
  /** The remote file, absolute. */
  remotePath: string;
  /** The local file. */
  localPath: string;
  /** The file's size in bytes. */
  bytes: number;
  /** Where the copy began: 0, or the size of the partial copy it continued. */
  resumedFrom: number;
  /** For a tree: the regular files copied. */
  files?: number;
  /** For a tree: the entries left out (links, sockets, devices). */
  skipped?: number;
  /**
   * How the bytes went (the client's `upload` and `download` say it):
   * through the host's sftp subsystem, or through the sessh daemon.
   */
  via?: "sftp" | "helper";
  /** Why the copy went another way than it would have (no sftp there). */
  notice?: string;
}

/**
 * The file or directory at `path` on the host, or null when there is none.
 *
 * @param connection The daemon connection.
 * @param path The remote path.
 * @returns What is there.
 */
export async function remoteStat(
  connection: Connection,
  path: string,
): Promise<RemoteFileInfo | null> {
  try {
    const reply = await connection.request(OPS.fstat, { path });
    return {
      path: String(reply.path),
      size: Number(reply.size),
      dir: reply.dir === true,
    };
  } catch (error) {
    if (error instanceof SesshError && error.code === "no_file") return null;
    throw error;
  }
}

/**
 * Copies a local file to the host. A remote directory receives the file
 * under its local name.
 *
 * @param connection The daemon connection.
 * @param localPath The file to send.
 * @param remotePath Where to put it.
 * @param options Resume, progress, signal.
 * @returns What was copied.
 * @throws {SesshError} `no_file` or `file_denied` for a remote path that
 *   cannot be written, `usage` for a local path that is not a file.
 */
export async function uploadFile(
  connection: Connection,
  localPath: string,
  remotePath: string,
  options: FileOptions = {},
): Promise<TransferResult> {
  const plan = await planUpload(connection, localPath, remotePath, options);
  markPhase("planned");
  return await sendParts(connection, plan, options);
}

/**
 * {@linkcode TransferOptions} with what the daemon can do, which the client
 * knows from its hello.
 */
export interface FileOptions extends TransferOptions {
  /** The daemon writes a copy to a part file and renames it (`part_files`). */
  partFiles?: boolean;
}

/**
 * Plans an upload: a remote directory takes the file under its local name,
 * and a resumed copy continues the part an earlier copy left beside the
 * target, or a target that holds the source's start.
 *
 * @param connection The daemon connection.
 * @param localPath The file to send.
 * @param remotePath Where to put it.
 * @param options Whether to continue a partial copy, and whether the
 *   daemon keeps parts.
 * @returns The plan.
 */
export async function planUpload(
  connection: Connection,
  localPath: string,
  remotePath: string,
  options: Pick<FileOptions, "resume" | "partFiles"> = {},
): Promise<CopyPlan> {
  const info = await Deno.stat(localPath).catch(() => null);
  if (!info?.isFile) {
    throw new SesshError(
      "usage",
      `No file ${JSON.stringify(localPath)} here to copy`,
      2,
    );
  }
  const total = info.size;
  const there = await remoteStat(connection, remotePath);
  // Named absolutely, as the daemon takes it, so that sftp writes where
  // the daemon commits (see hostPath).
  const target = there === null
    ? await hostPath(connection, remotePath)
    : there.dir
    ? joinPath(there.path, baseName(localPath))
    : there.path;
  const plan: CopyPlan = {
    remotePath: target,
    localPath,
    total,
    start: 0,
    mode: (info.mode ?? 0o644) & 0o777,
  };
  if (!options.resume) return plan;
  const tried = options.partFiles
    ? [["part", partPathOf(target)], ["target", target]] as const
    : [["target", target]] as const;
  for (const [continues, path] of tried) {
    const existing = await remoteStat(connection, path);
    if (!existing?.size || existing.dir) continue;
    const start = await resumePoint(
      connection,
      localPath,
      path,
      existing.size,
      total,
    );
    if (start > 0) return { ...plan, start, continues };
  }
  return plan;
}

/**
 * A path on the host that does not exist yet, absolute as the daemon takes
 * it (`~` expanded, a relative one in `$HOME`), found by its directory.
 * sftp takes a relative path in the home directory of the password
 * database instead (sshd starts its subsystem there), which is another
 * directory where `$HOME` is set otherwise; given the absolute path, sftp
 * writes a part where the daemon then renames it. A directory that does not
 * exist either leaves the path as it is, for the copy's own error.
 *
 * @param connection The daemon connection.
 * @param path The path as typed.
 * @returns The path to use.
 */
async function hostPath(connection: Connection, path: string): Promise<string> {
  // A trailing slash names a directory, which must be there.
  if (path.startsWith("/") || path.endsWith("/")) return path;
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "~" : path.slice(0, slash);
  const parent = await remoteStat(connection, dir);
  return parent?.dir ? joinPath(parent.path, baseName(path)) : path;
}

/**
 * Writes the plan's parts on the host, AHEAD at a time: to a part file
 * beside the target, renamed over it by the last request, where the daemon
 * can (else, and for a copy that continues the target, in place).
 *
 * @param connection The connection to the daemon.
 * @param plan What {@linkcode planUpload} made.
 * @param options Resume, part files, signal, progress.
 * @returns What was copied.
 */
export async function sendParts(
  connection: Connection,
  plan: CopyPlan,
  options: FileOptions,
): Promise<TransferResult> {
  const { total, start, mode } = plan;
  using file = await Deno.open(plan.localPath, { read: true });
  await file.seek(start, Deno.SeekMode.Start);
  const viaPart = options.partFiles === true && plan.continues !== "target";
  const path = viaPart ? partPathOf(plan.remotePath) : plan.remotePath;
  let committed = false;
  const discard = async () => {
    if (committed || !viaPart) return undefined;
    committed = true;
    if (options.resume) {
      return `the part sent is in ${path} on the host (copy again with --resume to continue)`;
    }
    await connection.request(OPS.fwrite, { path, discard: true }, {
      timeoutMs: 5000,
    });
    return `${plan.remotePath} on the host left as it was; removed ${path} there`;
  };
  using _ = onInterrupt(discard, options.signal);
  // Each part in flight, with where the file ends once it is written.
  const asked: { reply: Promise<Record<string, unknown>>; end: number }[] = [];
  let sent = start;
  let absolute = plan.remotePath;
  const ask = (offset: number, data: Uint8Array) => {
    const reply = connection.request(OPS.fwrite, {
      path,
      offset,
      data,
      truncate: offset === start && start === 0,
      mode,
      ...(viaPart ? { part: true, target: plan.remotePath } : {}),
    }, { timeoutMs: PART_TIMEOUT_MS });
    reply.catch(() => {});
    asked.push({ reply, end: offset + data.length });
  };
  // One buffer for every part: a request copies its bytes into its frame as
  // it is made, and a fresh one per part cost the kernel a zeroed page for
  // every 4 KiB sent (a third of this process's CPU per MB).
  const buffer = new Uint8Array(PART);
  // A file of no size may be one made up as it is read (/proc): it is read
  // to its end.
  const end = total > 0 ? total : Number.POSITIVE_INFINITY;
  try {
    // An empty file still needs its one (empty) write to exist.
    if (total === start) ask(start, new Uint8Array(0));
    while (sent < end || asked.length > 0) {
      while (asked.length < AHEAD && sent < end) {
        stopIfAborted(options.signal);
        const data = await readPart(
          file,
          buffer.subarray(0, Math.min(PART, end - sent)),
        );
        if (data.length === 0) break; // the file shrank while it was read
        ask(sent, data);
        sent += data.length;
      }
      if (asked.length === 0) break;
      const part = asked.shift()!;
      const reply = await part.reply;
      if (!viaPart) absolute = String(reply.path ?? absolute);
      options.onProgress?.(part.end, Math.max(total, part.end));
    }
    if (viaPart) {
      const done = await connection.request(OPS.fwrite, {
        path,
        offset: sent,
        part: true,
        commit: plan.remotePath,
      }, { timeoutMs: PART_TIMEOUT_MS });
      committed = true;
      absolute = String(done.path ?? absolute);
    }
  } catch (error) {
    await Promise.all(asked.map((part) => part.reply.catch(() => {})));
    await discard().catch(() => {});
    throw error;
  }
  return {
    remotePath: absolute,
    localPath: plan.localPath,
    bytes: sent,
    resumedFrom: start,
  };
}

/**
 * Copies a file from the host. A local directory receives the file under
 * its remote name.
 *
 * @param connection The daemon connection.
 * @param remotePath The file to fetch.
 * @param localPath Where to put it.
 * @param options Resume, progress, signal.
 * @returns What was copied.
 * @throws {SesshError} `no_file` or `file_denied` for a remote path that
 *   cannot be read, `usage` for a remote directory.
 */
export async function downloadFile(
  connection: Connection,
  remotePath: string,
  localPath: string,
  options: FileOptions = {},
): Promise<TransferResult> {
  const plan = await planDownload(connection, remotePath, localPath, options);
  markPhase("planned");
  return await fetchParts(connection, plan, options);
}

/**
 * Plans a download: a local directory takes the file under its remote name,
 * and a resumed copy continues a local file that holds the source's start.
 *
 * @param connection The daemon connection.
 * @param remotePath The file to fetch.
 * @param localPath Where to put it.
 * @param options Whether to continue a partial copy.
 * @returns The plan.
 */
export async function planDownload(
  connection: Connection,
  remotePath: string,
  localPath: string,
  options: Pick<TransferOptions, "resume"> = {},
): Promise<CopyPlan> {
  const source = await remoteStat(connection, remotePath);
  if (source === null) {
    throw new SesshError(
      "no_file",
      `No such file or directory on the host: ${remotePath}`,
    );
  }
  if (source.dir) {
    throw new SesshError(
      "usage",
      `${source.path} on the host is a directory; copy it with cp -r (recursive: true in the library)`,
      2,
    );
  }
  const local = await Deno.stat(localPath).catch(() => null);
  const target = local?.isDirectory
    ? joinPath(localPath, localName(remotePath, source.path))
    : localPath;
  const total = source.size;
  const plan: CopyPlan = {
    remotePath: source.path,
    localPath: target,
    total,
    start: 0,
    mode: 0,
  };
  if (!options.resume) return plan;
  // The part an earlier sessh copy left first, then the file itself; each
  // only when it holds the source's start, and is a plain file of ours.
  for (
    const [continues, path] of [["part", partPathOf(target)], [
      "target",
      target,
    ]] as const
  ) {
    const info = await Deno.lstat(path).catch(() => null);
    if (!info?.isFile || info.nlink !== 1 || info.size === 0) continue;
    const start = await resumePoint(
      connection,
      path,
      source.path,
      info.size,
      total,
    );
    if (start > 0) return { ...plan, start, continues };
  }
  return plan;
}

/**
 * Reads the plan's parts from the host, AHEAD at a time, and writes them
 * here.
 *
 * @param connection The connection to the daemon.
 * @param plan What {@linkcode planDownload} made.
 * @param options Resume, signal, progress, the allowed directories.
 * @returns What was copied.
 */
export async function fetchParts(
  connection: Connection,
  plan: CopyPlan,
  options: TransferOptions,
): Promise<TransferResult> {
  const { total } = plan;
  await using out = await openLocal(plan, options);
  const { file } = out;
  const start = out.start;
  const asked: Promise<Record<string, unknown>>[] = [];
  let next = start;
  let copied = start;
  const ask = (offset: number) => {
    const reply = connection.request(OPS.fread, {
      path: plan.remotePath,
      offset,
      max: PART,
    }, { timeoutMs: PART_TIMEOUT_MS });
    reply.catch(() => {});
    asked.push(reply);
  };
  // A file of no size may be one the host makes up as it is read (/proc):
  // it is read to its end, a part at a time from where the last one ended.
  const sized = total > 0;
  while (!sized || copied < total) {
    if (!sized) ask(copied);
    while (sized && asked.length < AHEAD && next < total) {
      ask(next);
      next += PART;
    }
    stopIfAborted(options.signal);
    // Never more than was asked for, nor past the size the copy began with
    // (a file that grows meanwhile, or a host that sends more): the copy is
    // of the file as it was planned.
    const data = bytesField((await asked.shift()!).data)
      .subarray(0, sized ? Math.min(PART, total - copied) : PART);
    if (data.length === 0) break; // the file shrank on the host, or ended
    await writeAll(file, data);
    copied += data.length;
    options.onProgress?.(copied, Math.max(total, copied));
  }
  // A source that shrank meanwhile leaves nothing stale past its new end.
  if (sized && copied < total) await file.truncate(copied);
  await out.commit();
  return {
    remotePath: plan.remotePath,
    localPath: out.path,
    bytes: copied,
    resumedFrom: start,
  };
}

/**
 * The local file a download writes: a part beside the destination renamed
 * over it at the end, or for a copy that continues the destination itself,
 * that file. A part to continue that changed since it was checked is
 * started anew.
 *
 * @param plan The download's plan.
 * @param options Resume (keeps the part when cut) and the allowed directories.
 * @returns The open file, positioned where the copy begins.
 */
export async function openLocal(
  plan: CopyPlan,
  options: TransferOptions,
): Promise<AtomicFile> {
  if (plan.continues === "target") {
    const same = await AtomicFile.continueTarget(
      plan.localPath,
      plan.start,
      options.within,
      options.signal,
    );
    if (same) return same;
  }
  const out = await AtomicFile.open(plan.localPath, {
    continuePart: plan.continues === "part",
    keepPart: options.resume ?? false,
    within: options.within,
    stop: options.signal,
  });
  if (out.start !== plan.start) await out.restart();
  return out;
}

/**
 * The name a file or tree from the host takes in a local directory: the
 * last part of the path the user typed, or where that names no file (`.`,
 * `~`, a path ending in `..`) the host's name for it, when that is one
 * plain name.
 *
 * @param typed The remote path as the user gave it.
 * @param reported The path the host reported for it.
 * @returns The name.
 * @throws {SesshError} `hostile_listing` when neither is a plain name.
 */
export function localName(typed: string, reported: string): string {
  for (const name of [baseName(typed), baseName(reported)]) {
    if (plainName(name) && name !== "~") return name;
  }
  throw new SesshError(
    "hostile_listing",
    `The host named ${JSON.stringify(reported)} for ${
      JSON.stringify(typed)
    }, which is no plain file name; give the local name in the destination path`,
  );
}

/**
 * Whether a name from the host is one plain file name: not empty, `.` or
 * `..`, and without `/`, NUL or a line break (which sftp's batch cannot
 * carry and a terminal would show as two lines).
 *
 * @param name The name.
 * @returns Whether it is safe to make in a local directory.
 *
 * @example
 * ```ts
 * import { plainName } from "./files.ts";
 * console.log(plainName("a b.txt"), plainName(".."), plainName("a\nb")); // true false false
 * ```
 */
export function plainName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." &&
    !/[/\0\n\r]/.test(name);
}

/**
 * Where a copy continues: the destination's size when its bytes are the
 * source's start, else 0 (and the copy starts anew).
 *
 * @param connection The daemon connection.
 * @param localPath The local side (source or destination).
 * @param remotePath The remote side.
 * @param existing The destination's size.
 * @param total The source's size.
 * @returns The offset to copy from.
 */
export async function resumePoint(
  connection: Connection,
  localPath: string,
  remotePath: string,
  existing: number,
  total: number,
): Promise<number> {
  if (existing > total) return 0;
  const [here, there] = await Promise.all([
    localDigest(localPath, existing),
    connection.request(OPS.fhash, { path: remotePath, length: existing }, {
      timeoutMs: PART_TIMEOUT_MS,
    }),
  ]);
  return here === there.sha256 ? existing : 0;
}

/** The SHA-256 (hex) of a local file's first `length` bytes, read in parts. */
export async function localDigest(
  path: string,
  length: number,
): Promise<string> {
  // node:crypto hashes as it reads; WebCrypto would need the whole prefix in
  // memory. Loaded here: only a resumed copy needs it.
  const { createHash } = await import("node:crypto");
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  let left = length;
  const buffer = new Uint8Array(Math.min(length, 1 << 20));
  while (left > 0) {
    const part = await readPart(
      file,
      buffer.subarray(0, Math.min(left, 1 << 20)),
    );
    if (part.length === 0) break;
    hash.update(part);
    left -= part.length;
  }
  return hash.digest("hex");
}

/** Fills `into` from the file's position; fewer bytes only at its end. */
async function readPart(
  file: Deno.FsFile,
  into: Uint8Array,
): Promise<Uint8Array> {
  let filled = 0;
  while (filled < into.length) {
    const n = await file.read(into.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return into.subarray(0, filled);
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) {
    written += await file.write(data.subarray(written));
  }
}

function stopIfAborted(signal: AbortSignal | undefined): void {
  // Between two parts: what was copied stays, for `resume` to continue.
  signal?.throwIfAborted();
}

/** The last part of a path, trailing slashes ignored. */
export function baseName(path: string): string {
  return path.replace(/\/+$/, "").split("/").at(-1) || path;
}

/** `dir/name`; just `dir` for an empty name. */
export function joinPath(dir: string, name: string): string {
  return name ? `${dir.replace(/\/+$/, "")}/${name}` : dir;
}
