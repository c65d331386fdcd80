/**
 * `cp -r` through the host's sftp subsystem. Upward, the daemon makes the
 * directories and sftp sends each file to a part beside it on the host,
 * then renames it; downward, the daemon lists the tree, the listing is
 * checked whole (see `checkedListing`), and sftp fetches each file to a
 * part beside its local target, which is then renamed over it.
 *
 * @module
 */
import { partPathOf } from "../../fs/atomic_file.ts";
import { onInterrupt } from "../../interrupt.ts";
import type { SesshClient } from "../../session/client.ts";
import {
  checkedListing,
  LocalDirs,
  localTree,
  treeTop,
} from "../../session/file_trees.ts";
import {
  baseName,
  joinPath,
  openLocal,
  type TransferResult,
} from "../../session/files.ts";
import { type Direction, renameLine, transferBatch } from "../../ssh/sftp.ts";
import {
  discardRemote,
  fileViaSftp,
  localSize,
  sftp,
  type SftpOptions,
} from "../../session/sftp_copy.ts";
import { CAPS, OPS } from "../../contract/spec.ts";

/** Files per sftp batch in a tree: each holds a part file open meanwhile. */
const BATCH_FILES = 64;
/** How long the daemon may take to sync and rename a batch's parts. */
const COMMIT_TIMEOUT_MS = 60_000;

/**
 * A directory tree through sftp, landing as scp -r puts it: inside an
 * existing directory, else as the destination. Upward, `put -R`; downward,
 * the daemon lists the tree (checked whole, see `checkedListing`) and sftp
 * fetches each file to a part beside its target. A file given with -r is
 * copied as a file.
 *
 * @param client The connected client.
 * @param direction Upload or download.
 * @param localPath The local side, as typed.
 * @param remotePath The remote side.
 * @param options Resume, progress, the signal that stops it.
 * @returns What was copied, with files and entries left out.
 */
export async function treeViaSftp(
  client: SesshClient,
  direction: Direction,
  localPath: string,
  remotePath: string,
  options: SftpOptions,
): Promise<TransferResult> {
  const there = await client.stat(remotePath).catch(() => null);
  const here = await Deno.stat(localPath).catch(() => null);
  const isTree = direction === "upload" ? here?.isDirectory : there?.dir;
  if (!isTree) {
    return await fileViaSftp(client, direction, localPath, remotePath, options);
  }
  if (direction === "download") {
    return {
      ...await downloadTreeViaSftp(
        client,
        remotePath,
        localPath,
        options.signal,
      ),
      via: "sftp",
    };
  }
  const tree = await localTree(localPath);
  const files = tree.entries.filter((entry) => !entry.dir);
  const result = {
    localPath,
    bytes: files.reduce((n, entry) => n + entry.size, 0),
    resumedFrom: 0,
    files: files.length,
    skipped: tree.skipped,
  };
  if (!client.daemon.caps.includes(CAPS.part_files)) {
    await sftp(
      client,
      transferBatch("upload", localPath, remotePath, { recursive: true }),
      options.signal,
    );
    const remoteTop = there?.dir
      ? joinPath(there.path, baseName(localPath))
      : there?.path ?? remotePath;
    return { ...result, remotePath: remoteTop, via: "sftp" };
  }
  // The daemon makes the directories (and names the top absolutely, so that
  // sftp and the daemon mean the same paths); sftp sends each file to a part
  // beside it, and the daemon syncs a batch's parts together and renames
  // each (a daemon before `part_sync`: sftp syncs and renames each).
  const mode = async (path: string) =>
    ((await Deno.stat(path)).mode ?? 0o755) & 0o777;
  const made = await client.connection.request(OPS.fmkdir, {
    path: there?.dir ? joinPath(there.path, baseName(localPath)) : remotePath,
    mode: await mode(localPath),
  });
  const top = String(made.path);
  for (const entry of tree.entries.filter((entry) => entry.dir)) {
    await client.connection.request(OPS.fmkdir, {
      path: `${top}/${entry.path}`,
      mode: entry.mode,
    });
  }
  const syncsTogether = client.daemon.caps.includes(CAPS.part_sync);
  for (let at = 0; at < files.length; at += BATCH_FILES) {
    const chunk = files.slice(at, at + BATCH_FILES).map((entry) => {
      const target = `${top}/${entry.path}`;
      return {
        local: joinPath(localPath, entry.path),
        target,
        part: partPathOf(target),
      };
    });
    const discard = async () => {
      for (const { part, target } of chunk) {
        await discardRemote(client, part, target, false).catch(() => {});
      }
      return `the files not yet copied under ${top} on the host left as they were; their parts removed`;
    };
    using _ = onInterrupt(discard, options.signal);
    try {
      if (syncsTogether) {
        // sftp sends the batch's parts; the daemon syncs them all at once
        // (a journal commit shared, where sftp's `put -f` cost one a file),
        // then renames each.
        await sftp(
          client,
          chunk.map(({ local, part }) =>
            transferBatch("upload", local, part, { sync: false })
          ).join(""),
          options.signal,
        );
        await Promise.all(
          chunk.map(({ part, target }) =>
            client.connection.request(OPS.fwrite, {
              path: part,
              part: true,
              target,
              commit: target,
              foreign: true,
            }, { timeoutMs: COMMIT_TIMEOUT_MS })
          ),
        );
      } else {
        await sftp(
          client,
          chunk.map(({ local, part, target }) =>
            transferBatch("upload", local, part) + renameLine(part, target)
          ).join(""),
          options.signal,
        );
      }
    } catch (error) {
      await discard();
      throw error;
    }
  }
  return { ...result, remotePath: top, via: "sftp" };
}

async function downloadTreeViaSftp(
  client: SesshClient,
  remotePath: string,
  localPath: string,
  signal: AbortSignal | undefined,
): Promise<TransferResult> {
  const listed = await client.connection.request(OPS.flist, {
    path: remotePath,
  });
  const source = String(listed.path);
  const entries = checkedListing(listed.entries);
  const top = await treeTop(localPath, remotePath, source);
  const dirs = new LocalDirs(top);
  await dirs.make("", 0o755);
  const files = [];
  for (const entry of entries) {
    const cut = entry.path.lastIndexOf("/");
    await dirs.make(
      entry.dir ? entry.path : cut < 0 ? "" : entry.path.slice(0, cut),
      entry.dir ? entry.mode | 0o700 : 0o755,
    );
    if (!entry.dir) files.push(entry);
  }
  let bytes = 0;
  for (let at = 0; at < files.length; at += BATCH_FILES) {
    const chunk = files.slice(at, at + BATCH_FILES);
    const outs = [];
    try {
      let batch = "";
      for (const entry of chunk) {
        const out = await openLocal(
          {
            remotePath: `${source}/${entry.path}`,
            localPath: joinPath(top, entry.path),
            total: entry.size,
            start: 0,
            mode: 0,
          },
          { signal },
        );
        outs.push(out);
        batch += transferBatch(
          "download",
          out.partPath,
          `${source}/${entry.path}`,
        );
      }
      await sftp(client, batch, signal);
      for (const out of outs) {
        await out.commit();
        bytes += await localSize(out.path);
      }
    } finally {
      for (const out of outs) await out[Symbol.asyncDispose]();
    }
  }
  return {
    remotePath: source,
    localPath: top,
    bytes,
    resumedFrom: 0,
    files: files.length,
    skipped: Number(listed.skipped) || 0,
  };
}
