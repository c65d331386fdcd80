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
  joinPath,
  remoteStat,
  type TransferOptions,
  type TransferResult,
  uploadFile,
} from "./files.ts";

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
  options: TransferOptions = {},
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
  options: TransferOptions = {},
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
  options: TransferOptions = {},
): Promise<TreeResult> {
  const tree = await localTree(localDir);
  const there = await remoteStat(connection, remotePath);
  const made = await connection.request("fmkdir", {
    path: there?.dir ? joinPath(there.path, baseName(localDir)) : remotePath,
    mode: ((await Deno.stat(localDir)).mode ?? 0o755) & 0o777,
  });
  const top = String(made.path);
  return await copyEntries(tree, options, async (entry, fileOptions) => {
    const path = `${top}/${entry.path}`;
    if (entry.dir) {
      await connection.request("fmkdir", { path, mode: entry.mode });
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
 * Copies a directory tree from the host. Every path the host names is
 * checked to stay inside the destination (no `..`, no absolute path), so
 * that a host cannot write elsewhere on this machine.
 *
 * @param connection The daemon connection.
 * @param remoteDir The directory to fetch.
 * @param localPath Where: an existing directory takes it under its name.
 * @param options Resume (per file), progress over the whole tree, signal.
 * @returns The local top, the bytes and files copied, what was skipped.
 */
export async function downloadTree(
  connection: Connection,
  remoteDir: string,
  localPath: string,
  options: TransferOptions = {},
): Promise<TreeResult> {
  const listed = await connection.request("flist", { path: remoteDir });
  const source = String(listed.path);
  const entries = (listed.entries as Record<string, unknown>[]).map(
    (entry) => ({
      path: checkedRelative(String(entry.path)),
      dir: entry.dir === true,
      size: Number(entry.size),
      mode: Number(entry.mode) & 0o777,
    }),
  );
  const here = await Deno.stat(localPath).catch(() => null);
  const top = here?.isDirectory
    ? joinPath(localPath, baseName(source))
    : localPath;
  await Deno.mkdir(top, { recursive: true });
  const tree = { entries, skipped: Number(listed.skipped) };
  return await copyEntries(tree, options, async (entry, fileOptions) => {
    const path = joinPath(top, entry.path);
    if (entry.dir) {
      await Deno.mkdir(path, { recursive: true, mode: entry.mode | 0o700 });
      return null;
    }
    return await downloadFile(
      connection,
      `${source}/${entry.path}`,
      path,
      fileOptions,
    );
  }, { remotePath: source, localPath: top });
}

/** Copies each entry in order, with progress over the whole tree. */
async function copyEntries(
  tree: { entries: TreeEntry[]; skipped: number },
  options: TransferOptions,
  copy: (
    entry: TreeEntry,
    fileOptions: TransferOptions,
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

/** A path from the host, refused when it could leave the destination. */
function checkedRelative(path: string): string {
  const parts = path.split("/");
  if (
    path === "" || path.startsWith("/") || path.includes("\0") ||
    parts.some((part) => part === ".." || part === "." || part === "")
  ) {
    throw new SesshError(
      "protocol",
      `The host listed ${
        JSON.stringify(path)
      } in the tree, which would leave the destination; nothing more was copied`,
    );
  }
  return path;
}
