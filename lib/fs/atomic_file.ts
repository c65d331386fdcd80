/**
 * Every local file sessh writes (a copy from the host, an MCP download, a
 * recording) goes through here: the bytes go to a part file made
 * exclusively beside the target, in its real parent directory; the part is
 * synced, then renamed over the target. A reader of the target sees the old
 * file or the whole new one, a copy cut short leaves the old file as it
 * was, and a symlink or hard link at the target is replaced, never written
 * through.
 *
 * The part is named `.NAME.sessh-part`, in the same directory as NAME, so
 * that a copy asked to resume finds it again and continues it; a copy that
 * is not resumable removes it when it fails or is interrupted.
 *
 * What is left open: Deno has no `openat`, so the part is made by a path
 * through the real directory that was checked. Once made, it is checked
 * again (its real directory and its inode), so a directory swapped for a
 * link in between makes the copy fail before a byte is written, and the
 * final rename only moves a name inside one directory. In the moment
 * between such a swap and the checks, sessh can still remove or rename a
 * file named `.NAME.sessh-part` in the swapped-in directory; it never
 * writes into a file there.
 *
 * @module
 */
import { SesshError, UsageError } from "../errors.ts";
import { onInterrupt } from "../interrupt.ts";

/** Options of {@linkcode AtomicFile.open}. */
export interface AtomicFileOptions {
  /**
   * Continue the part file an earlier, cut copy left (`start` says how many
   * bytes it holds; 0 when there was none to continue). Without it, a part
   * left over is replaced.
   * @default {false}
   */
  continuePart?: boolean;
  /**
   * Keep the part when this copy fails or is interrupted, for a copy asked
   * to resume; without it the part is removed.
   * @default {false}
   */
  keepPart?: boolean;
  /**
   * Permission bits of a new file (before the umask).
   * @default {0o644}
   */
  mode?: number;
  /**
   * Real paths of the directories the file must be created in (MCP's
   * `--allow-local-dir`); empty or absent: anywhere.
   */
  within?: readonly string[];
  /**
   * The signal that stops the copy, when its call has clean-up steps of its
   * own (a copy the local agent runs: `stepsOfCall` in `interrupt.ts`).
   */
  stop?: AbortSignal;
}

/**
 * The part file's name for a target: `.NAME.sessh-part` beside it.
 *
 * @param target The file being written.
 * @returns The part's path.
 *
 * @example
 * ```ts
 * import { partPathOf } from "./atomic_file.ts";
 * console.log(partPathOf("out/app.log")); // "out/.app.log.sessh-part"
 * ```
 */
export function partPathOf(target: string): string {
  const { dir, name } = splitPath(target);
  return `${dir === "." && !target.startsWith("./") ? "" : `${dir}/`}` +
    `.${name}.sessh-part`;
}

/**
 * A file being written in place of a target, by way of a part file beside
 * it. `commit()` makes it the target; disposing it first (a failed copy)
 * removes the part, or keeps it for a resumable copy.
 *
 * @example
 * ```ts
 * import { AtomicFile } from "./atomic_file.ts";
 * const dir = await Deno.makeTempDir();
 * {
 *   await using out = await AtomicFile.open(`${dir}/notes.txt`);
 *   await out.file.write(new TextEncoder().encode("hello\n"));
 *   await out.commit();
 * }
 * console.log(await Deno.readTextFile(`${dir}/notes.txt`)); // "hello\n"
 * ```
 */
export class AtomicFile implements AsyncDisposable {
  /** The target, in its real directory. */
  readonly path: string;
  /** The part file the bytes go to until `commit()`. */
  readonly partPath: string;
  /** The open part file, positioned at `start`. */
  readonly file: Deno.FsFile;
  #start: number;
  #keep: boolean | undefined;
  #done = false;
  #guard: Disposable;

  private constructor(
    path: string,
    partPath: string,
    file: Deno.FsFile,
    start: number,
    keep: boolean | undefined,
    stop: AbortSignal | undefined,
  ) {
    this.path = path;
    this.partPath = partPath;
    this.file = file;
    this.#start = start;
    this.#keep = keep;
    this.#guard = onInterrupt(() => this.#abandon(), stop);
  }

  /**
   * Opens a part file for `target`: made exclusively in the target's real
   * parent directory, or with `resume` the part an earlier copy left there.
   *
   * @param target The file to write.
   * @param options Resume, mode, the directories it must be made in.
   * @returns The open part.
   * @throws {SesshError} `no_file` when the parent directory is missing,
   *   `usage` (exit 2) when the target is a directory or a device, or lies
   *   outside `within`; `file_denied` when a part file cannot be made.
   */
  static async open(
    target: string,
    options: AtomicFileOptions = {},
  ): Promise<AtomicFile> {
    const { dir, name } = splitPath(target);
    const parent = await realParent(dir, name);
    if (options.within?.length) checkWithin(parent, options.within, target);
    const path = `${parent === "/" ? "" : parent}/${name}`;
    await checkRegular(path, target);
    const partPath = partPathOf(path);
    const resumed = options.continuePart ? await openPart(partPath) : null;
    const file = resumed ?? await createPart(partPath, options.mode ?? 0o644);
    const start = resumed ? (await file.stat()).size : 0;
    try {
      // The directory checked above may have been swapped for a link since:
      // the part must be where it was checked to be, and be this file.
      await checkPartAt(file, partPath, parent, options.within);
      await file.seek(start, Deno.SeekMode.Start);
    } catch (error) {
      const held = await file.stat();
      file.close();
      // Only the part made here: the name may lead elsewhere now.
      const there = await Deno.lstat(partPath).catch(() => null);
      if (!resumed && there?.ino === held.ino && there?.dev === held.dev) {
        await Deno.remove(partPath).catch(() => {});
      }
      throw error;
    }
    return new AtomicFile(
      path,
      partPath,
      file,
      start,
      options.keepPart,
      options.stop,
    );
  }

  /**
   * Opens the target itself to continue it at `start`, for a resumed copy
   * whose target holds the source's first bytes (a copy cut by an older
   * sessh, scp or sftp): appending keeps every byte it had. Only a plain
   * file of ours with no other name is continued.
   *
   * @param target The partial file.
   * @param start Where to continue.
   * @param within The directories it must lie in, as for `open`.
   * @param stop The signal that stops the copy, as for `open`.
   * @returns The open file, or null when it cannot be continued safely.
   */
  static async continueTarget(
    target: string,
    start: number,
    within?: readonly string[],
    stop?: AbortSignal,
  ): Promise<AtomicFile | null> {
    const { dir, name } = splitPath(target);
    const parent = await realParent(dir, name);
    if (within?.length) checkWithin(parent, within, target);
    const path = `${parent === "/" ? "" : parent}/${name}`;
    const file = await openPart(path);
    if (file === null) return null;
    try {
      await checkPartAt(file, path, parent, within);
    } catch (error) {
      file.close();
      throw error;
    }
    await file.seek(start, Deno.SeekMode.Start);
    return new AtomicFile(path, path, file, start, true, stop);
  }

  /** Bytes the part already held (a resumed copy), else 0. */
  get start(): number {
    return this.#start;
  }

  /** Empties the part, for a copy that must begin anew after all. */
  async restart(): Promise<void> {
    await this.file.truncate(0);
    await this.file.seek(0, Deno.SeekMode.Start);
    this.#start = 0;
  }

  /**
   * Syncs the part and renames it over the target (a link there is
   * replaced, not followed). The rename only moves a name within the
   * directory: if that directory was swapped for a link after it was
   * checked, the rename finds no part there and fails, so no byte lands
   * outside it.
   */
  async commit(): Promise<void> {
    await this.file.sync();
    this.file.close();
    this.#done = true;
    this.#guard[Symbol.dispose]();
    if (this.partPath !== this.path) {
      await Deno.rename(this.partPath, this.path);
    }
  }

  /** Removes the part (kept for a resumable copy) if not committed. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#done) return;
    this.#guard[Symbol.dispose]();
    await this.#abandon();
  }

  async #abandon(): Promise<string> {
    if (!this.#done) {
      this.#done = true;
      try {
        this.file.close();
      } catch {
        // Closed already.
      }
    }
    if (this.partPath === this.path) {
      return `${this.path} holds the part copied (copy again with --resume to continue)`;
    }
    if (this.#keep) {
      return `${this.path} left as it was; the part copied is in ${this.partPath} (copy again with --resume to continue)`;
    }
    await Deno.remove(this.partPath).catch(() => {});
    return `${this.path} left as it was; removed ${this.partPath}`;
  }
}

/**
 * Checks, before any work, that `target` can be written as a file: its
 * directory exists, and nothing but a regular file or a link is there.
 *
 * @param target The file to write.
 * @throws {SesshError} as {@linkcode AtomicFile.open}.
 *
 * @example
 * ```ts
 * import { checkWritable } from "./atomic_file.ts";
 * await checkWritable("/dev/null").catch((error) => console.log(error.code)); // "usage"
 * ```
 */
export async function checkWritable(target: string): Promise<void> {
  const { dir, name } = splitPath(target);
  const parent = await realParent(dir, name);
  await checkRegular(`${parent === "/" ? "" : parent}/${name}`, target);
}

/** A path's directory and last name; refuses a path that names no file. */
function splitPath(target: string): { dir: string; name: string } {
  const trimmed = target.replace(/\/+$/, "");
  const cut = trimmed.lastIndexOf("/");
  const name = trimmed.slice(cut + 1);
  if (name === "" || name === "." || name === ".." || target.endsWith("/")) {
    throw new UsageError(
      `${JSON.stringify(target)} names a directory; give a file path to write`,
    );
  }
  return { dir: cut < 0 ? "." : trimmed.slice(0, cut) || "/", name };
}

/**
 * Only a regular file, a link (which is replaced) or nothing may be at the
 * target: a directory, a device or a pipe named as a file is a mistake.
 */
async function checkRegular(path: string, shown: string): Promise<void> {
  const there = await Deno.lstat(path).catch(() => null);
  const what = there?.isSymlink
    ? await Deno.stat(path).catch(() => null)
    : there;
  if (what === null || what === undefined || what.isFile) return;
  throw new UsageError(
    what.isDirectory
      ? `${JSON.stringify(shown)} is a directory; give a file path to write`
      : `${
        JSON.stringify(shown)
      } is not a regular file (a device, a pipe or a socket); sessh writes only regular files, give a file path`,
  );
}

async function realParent(dir: string, name: string): Promise<string> {
  try {
    const real = await Deno.realPath(dir);
    if ((await Deno.stat(real)).isDirectory) return real;
  } catch {
    // Reported below.
  }
  throw new SesshError(
    "no_file",
    `No directory ${JSON.stringify(dir)} here to write ${
      JSON.stringify(name)
    } into; create it first`,
  );
}

/** A real directory must be one of `roots` or inside one. */
function checkWithin(real: string, roots: readonly string[], shown: string) {
  const inside = roots.some((root) =>
    real === root || real.startsWith(root === "/" ? "/" : `${root}/`)
  );
  if (!inside) {
    throw new UsageError(
      `${
        JSON.stringify(shown)
      } is outside the local directories the operator allowed (${
        roots.join(", ")
      }; sessh mcp --allow-local-dir DIR)`,
    );
  }
}

async function createPart(
  partPath: string,
  mode: number,
): Promise<Deno.FsFile> {
  // A part left by an earlier copy is replaced; remove() takes a link away
  // without following it, and createNew then refuses anything made since.
  await Deno.remove(partPath).catch(() => {});
  try {
    return await Deno.open(partPath, {
      write: true,
      createNew: true,
      mode: mode & 0o777,
    });
  } catch (error) {
    throw partError(partPath, error);
  }
}

/** An earlier copy's part: a plain file of ours with no other name, or null. */
async function openPart(partPath: string): Promise<Deno.FsFile | null> {
  const info = await Deno.lstat(partPath).catch(() => null);
  if (!info?.isFile || info.nlink !== 1 || info.uid !== Deno.uid()) return null;
  const file = await Deno.open(partPath, { write: true }).catch(() => null);
  const opened = await file?.stat().catch(() => null);
  if (file && (opened?.ino !== info.ino || opened?.dev !== info.dev)) {
    // Swapped between the look and the open: not the part we checked.
    file.close();
    return null;
  }
  return file;
}

async function checkPartAt(
  file: Deno.FsFile,
  partPath: string,
  parent: string,
  within: readonly string[] | undefined,
): Promise<void> {
  const [held, real] = await Promise.all([
    file.stat(),
    Deno.realPath(partPath).catch(() => null),
  ]);
  const at = real === null ? null : await Deno.lstat(real).catch(() => null);
  const realDir = real?.slice(0, real.lastIndexOf("/")) || "/";
  if (
    at === null || at.ino !== held.ino || at.dev !== held.dev ||
    realDir !== parent
  ) {
    throw new SesshError(
      "file_denied",
      `The directory of ${
        JSON.stringify(partPath)
      } changed while the file was being made; nothing was written`,
    );
  }
  if (within?.length) checkWithin(realDir, within, partPath);
}

function partError(partPath: string, error: unknown): SesshError {
  if (error instanceof Deno.errors.PermissionDenied) {
    return new SesshError(
      "file_denied",
      `Permission denied making ${
        JSON.stringify(partPath)
      } (check the directory's mode and owner)`,
    );
  }
  if (error instanceof Deno.errors.AlreadyExists) {
    return new SesshError(
      "file_denied",
      `${
        JSON.stringify(partPath)
      } appeared while it was being made: another copy is writing the same file`,
    );
  }
  return new SesshError(
    "file_denied",
    `Cannot make ${JSON.stringify(partPath)}: ${(error as Error).message}`,
  );
}
