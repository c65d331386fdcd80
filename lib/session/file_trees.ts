/**
 * Directory trees to and from the host, file by file through the daemon
 * (`cp -r` where there is no sftp, and `recursive` in the library). As with
 * `scp -r`, a destination directory that exists receives the tree under its
 * own name, and otherwise the tree becomes it. Directories and regular files
 * are copied; links and other kinds are skipped and counted, as sftp does.
 *
 * @module
 */
import { SesshError } from "../errors.ts";
import type { Connection } from "../transport/connection.ts";
import {
  baseName,
  downloadFile,
  type FileOptions,
  joinPath,
  localName,
  plainName,
  remoteStat,
  type TransferResult,
  uploadFile,
} from "./files.ts";
import { OPS } from "../contract/spec.ts";

/** What a copied tree holds. */
export interface TreeResult extends TransferResult {
  /** Regular files copied. */
  files: number;
  /** Entries left out: links, sockets, devices. */
  skipped: number;
}

/**
 * Copies a local file, or with `recursive` a directory tree, to the host.
 *
 * @param connection The daemon connection.
 * @param localPath The file or directory.
 * @param remotePath Where.
 * @param options Recursive, resume, progress, signal.
 * @returns What was copied.
 */
export async function uploadPath(
  connection: Connection,
  localPath: string,
  remotePath: string,
  options: FileOptions = {},
): Promise<TransferResult> {
  const info = await Deno.stat(localPath).catch(() => null);
  if (!info?.isDirectory) {
    return await uploadFile(connection, localPath, remotePath, options);
  }
  if (!options.recursive) {
    throw new SesshError(
      "usage",
      `${localPath} is a directory; copy it with cp -r (recursive: true in the library)`,
      2,
    );
  }
  return await uploadTree(connection, localPath, remotePath, options);
}

/**
 * Copies a file, or with `recursive` a directory tree, from the host.
 *
 * @param connection The daemon connection.
 * @param remotePath The file or directory on the host.
 * @param localPath Where.
 * @param options Recursive, resume, progress, signal.
 * @returns What was copied.
 */
export async function downloadPath(
  connection: Connection,
  remotePath: string,
  localPath: string,
  options: FileOptions = {},
): Promise<TransferResult> {
  if (options.recursive && (await remoteStat(connection, remotePath))?.dir) {
    return await downloadTree(connection, remotePath, localPath, options);
  }
  return await downloadFile(connection, remotePath, localPath, options);
}

/** One entry of a tree: its path from the top (`/`-separated). */
export interface TreeEntry {
  /** The path from the top of the tree. */
  path: string;
  /** Whether it is a directory. */
  dir: boolean;
  /** Its size in bytes. */
  size: number;
  /** Its permission bits. */
  mode: number;
}

/**
 * The directories and regular files under a local directory, parents
 * first, with how many other entries (links, sockets) were left out.
 *
 * @param top The directory.
 * @returns Its entries, and the count skipped.
 */
export async function localTree(
  top: string,
): Promise<{ entries: TreeEntry[]; skipped: number }> {
  const entries: TreeEntry[] = [];
  let skipped = 0;
  const walk = async (relative: string) => {
    const names = [];
    for await (const entry of Deno.readDir(joinPath(top, relative))) {
      names.push(entry);
    }
    names.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    for (const entry of names) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (!entry.isDirectory && !entry.isFile) {
        skipped++;
        continue;
      }
      const info = await Deno.lstat(joinPath(top, path));
      entries.push({
        path,
        dir: entry.isDirectory,
        size: entry.isFile ? info.size : 0,
        mode: (info.mode ?? 0o644) & 0o777,
      });
      if (entry.isDirectory) await walk(path);
    }
  };
  await walk("");
  return { entries, skipped };
}

/**
 * Copies a local directory tree to the host.
 *
 * @param connection The daemon connection.
 * @param localDir The directory to send.
 * @param remotePath Where: an existing directory takes it under its name.
 * @param options Resume (per file), progress over the whole tree, signal.
 * @returns The remote top, the bytes and files copied, what was skipped.
 */
export async function uploadTree(
  connection: Connection,
  localDir: string,
  remotePath: string,
  options: FileOptions = {},
): Promise<TreeResult> {
  const tree = await localTree(localDir);
  const there = await remoteStat(connection, remotePath);
  const made = await connection.request(OPS.fmkdir, {
    path: there?.dir ? joinPath(there.path, baseName(localDir)) : remotePath,
    mode: ((await Deno.stat(localDir)).mode ?? 0o755) & 0o777,
  });
  const top = String(made.path);
  return await copyEntries(tree, options, async (entry, fileOptions) => {
    const path = `${top}/${entry.path}`;
    if (entry.dir) {
      await connection.request(OPS.fmkdir, { path, mode: entry.mode });
      return null;
    }
    return await uploadFile(
      connection,
      joinPath(localDir, entry.path),
      path,
      fileOptions,
    );
  }, { remotePath: top, localPath: localDir });
}

/**
 * Copies a directory tree from the host. The whole listing is checked
 * before anything is written: a path with an empty, `.` or `..` part, an
 * absolute path or a name with a line break or NUL refuses the copy
 * (`hostile_listing`), so that a host cannot write elsewhere on this
 * machine. The tree's local name comes from the path the user typed, and
 * a directory in the destination that is a link is never followed.
 *
 * @param connection The daemon connection.
 * @param remoteDir The directory to fetch.
 * @param localPath Where: an existing directory takes it under its name.
 * @param options Resume (per file), progress over the whole tree, signal.
 * @returns The local top, the bytes and files copied, what was skipped.
 * @throws {SesshError} `hostile_listing` for a listing that leads out.
 */
export async function downloadTree(
  connection: Connection,
  remoteDir: string,
  localPath: string,
  options: FileOptions = {},
): Promise<TreeResult> {
  const listed = await connection.request(OPS.flist, { path: remoteDir });
  const source = String(listed.path);
  const entries = checkedListing(listed.entries);
  const top = await treeTop(localPath, remoteDir, source);
  const dirs = new LocalDirs(top);
  await dirs.make("", 0o755);
  const tree = { entries, skipped: Number(listed.skipped) || 0 };
  return await copyEntries(tree, options, async (entry, fileOptions) => {
    if (entry.dir) {
      await dirs.make(entry.path, entry.mode | 0o700);
      return null;
    }
    const cut = entry.path.lastIndexOf("/");
    await dirs.make(cut < 0 ? "" : entry.path.slice(0, cut), 0o755);
    return await downloadFile(
      connection,
      `${source}/${entry.path}`,
      joinPath(top, entry.path),
      fileOptions,
    );
  }, { remotePath: source, localPath: top });
}

/**
 * Where a tree from the host lands: inside an existing directory under the
 * name the user typed (see {@linkcode localName}), else the path itself.
 *
 * @param localPath The destination the user gave.
 * @param typed The remote directory as the user typed it.
 * @param reported The host's absolute path for it.
 * @returns The local top of the tree.
 */
export async function treeTop(
  localPath: string,
  typed: string,
  reported: string,
): Promise<string> {
  const here = await Deno.stat(localPath).catch(() => null);
  return here?.isDirectory
    ? joinPath(localPath, localName(typed, reported))
    : localPath;
}

/**
 * The directories of a tree being written, made part by part: each part
 * under the top is looked at without following links, and one that is a
 * link (or not a directory) stops the copy.
 */
export class LocalDirs {
  #top: string;
  #made = new Set<string>();

  /** @param top The tree's top, which the user named (a link there is theirs). */
  constructor(top: string) {
    this.#top = top;
  }

  /**
   * Makes `relative` (and the parts above it) under the top.
   *
   * @param relative The directory's path from the top; "" for the top.
   * @param mode Permission bits of a directory it makes.
   * @throws {SesshError} `file_denied` for a part that is a link or a file.
   */
  async make(relative: string, mode: number): Promise<void> {
    if (this.#made.has(relative)) return;
    if (relative === "") {
      await Deno.mkdir(this.#top, { recursive: true });
      this.#made.add("");
      return;
    }
    const cut = relative.lastIndexOf("/");
    await this.make(cut < 0 ? "" : relative.slice(0, cut), 0o755);
    const path = joinPath(this.#top, relative);
    let info = await Deno.lstat(path).catch(() => null);
    if (info === null) {
      await Deno.mkdir(path, { mode }).catch((error) => {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      });
      info = await Deno.lstat(path);
    }
    if (!info.isDirectory) {
      throw new SesshError(
        "file_denied",
        `${JSON.stringify(path)} in the destination is ${
          info.isSymlink ? "a symbolic link" : "not a directory"
        }; sessh copies a tree only into real directories: move it away or copy elsewhere`,
      );
    }
    this.#made.add(relative);
  }
}

/**
 * A tree listed by the host, checked whole: each entry's path must be
 * relative and made of plain names (see {@linkcode plainName}).
 *
 * @param entries The `entries` of the daemon's `flist` reply.
 * @returns The entries.
 * @throws {SesshError} `hostile_listing` naming the first bad entry.
 */
export function checkedListing(entries: unknown): TreeEntry[] {
  if (!Array.isArray(entries)) throw hostile("no list of entries", "");
  return entries.map((raw) => {
    const entry = (raw ?? {}) as Record<string, unknown>;
    const path = typeof entry.path === "string" ? entry.path : "";
    if (!path.split("/").every(plainName)) throw hostile("an entry", path);
    return {
      path,
      dir: entry.dir === true,
      size: Math.max(0, Number(entry.size) || 0),
      mode: Number(entry.mode) & 0o777,
    };
  });
}

function hostile(what: string, path: string): SesshError {
  const error = new SesshError(
    "hostile_listing",
    `The host listed ${what} ${
      JSON.stringify(path)
    } in the tree, which is no plain relative path (an empty, . or .. part, an absolute path, a line break or NUL); nothing was copied`,
  );
  error.details.entry = path;
  return error;
}

/** Copies each entry in order, with progress over the whole tree. */
async function copyEntries(
  tree: { entries: TreeEntry[]; skipped: number },
  options: FileOptions,
  copy: (
    entry: TreeEntry,
    fileOptions: FileOptions,
  ) => Promise<TransferResult | null>,
  tops: { remotePath: string; localPath: string },
): Promise<TreeResult> {
  const total = tree.entries.reduce((n, entry) => n + entry.size, 0);
  let bytes = 0;
  let resumedFrom = 0;
  let files = 0;
  for (const entry of tree.entries) {
    const done = bytes;
    const copied = await copy(entry, {
      resume: options.resume,
      signal: options.signal,
      within: options.within,
      partFiles: options.partFiles,
      onProgress: (copied) => options.onProgress?.(done + copied, total),
    });
    if (copied === null) continue;
    bytes += copied.bytes;
    resumedFrom += copied.resumedFrom;
    files++;
  }
  options.onProgress?.(bytes, total);
  return { ...tops, bytes, resumedFrom, files, skipped: tree.skipped };
}
