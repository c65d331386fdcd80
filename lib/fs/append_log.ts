/**
 * A log file that only grows, such as `sessh mcp --audit`: opened with
 * `O_APPEND`, made with mode 0600 when it is new, and refused when the name
 * is a link (symbolic or hard), not a plain file, someone else's, or open to
 * group or others. Each line goes out in one `write`, so lines from one
 * writer never interleave and a crash loses at most the line being written.
 *
 * What is left open: Deno has no `O_NOFOLLOW`, so an existing file is
 * checked by `lstat` and then opened by its name; the file opened is checked
 * again by device and inode, so a link swapped in between is caught before a
 * byte is written.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/**
 * An append-only log file; close it (or dispose it) when done.
 *
 * @example
 * ```ts
 * import { AppendLog } from "./append_log.ts";
 * const path = `${Deno.makeTempDirSync()}/audit.jsonl`;
 * using log = AppendLog.open(path);
 * log.appendLine('{"tool":"run"}');
 * console.log(Deno.readTextFileSync(path)); // {"tool":"run"}
 * ```
 */
export class AppendLog implements Disposable {
  readonly #file: Deno.FsFile;
  /** The path it was opened by. */
  readonly path: string;

  private constructor(file: Deno.FsFile, path: string) {
    this.#file = file;
    this.path = path;
  }

  /**
   * Opens `path` for appending, making it (mode 0600) if it is missing.
   *
   * @param path The log file.
   * @returns The open log.
   * @throws {UsageError} When the path is a link, not a plain file, not
   * ours, readable or writable by others, or cannot be opened.
   */
  static open(path: string): AppendLog {
    let file: Deno.FsFile;
    try {
      // createNew is O_CREAT|O_EXCL: it fails on any name, a link included.
      file = Deno.openSync(path, {
        append: true,
        createNew: true,
        mode: 0o600,
      });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) {
        throw refused(path, (error as Error).message);
      }
      try {
        file = openExisting(path);
      } catch (error) {
        if (error instanceof UsageError) throw error;
        throw refused(path, (error as Error).message);
      }
    }
    return new AppendLog(file, path);
  }

  /**
   * Appends one line (a newline is added) with a single write.
   *
   * @param line The text, without a newline.
   */
  appendLine(line: string): void {
    const bytes = new TextEncoder().encode(`${line}\n`);
    let written = this.#file.writeSync(bytes);
    // A regular file takes the whole write; a full disk may cut it short.
    while (written < bytes.length) {
      written += this.#file.writeSync(bytes.subarray(written));
    }
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function openExisting(path: string): Deno.FsFile {
  const info = Deno.lstatSync(path);
  const fault = info.isSymlink
    ? "it is a symbolic link; name the file itself"
    : !info.isFile
    ? "it is not a plain file"
    : info.uid !== Deno.uid()
    ? `it is owned by uid ${info.uid}, not by you (uid ${Deno.uid()})`
    : info.nlink !== 1
    ? `it has ${info.nlink} names (a hard link); name a file of its own`
    : (info.mode ?? 0) & 0o077
    ? `its mode is ${
      ((info.mode ?? 0) & 0o777).toString(8)
    }, open to others; chmod 600 it`
    : undefined;
  if (fault) throw refused(path, fault);
  const file = Deno.openSync(path, { append: true });
  const opened = file.statSync();
  if (opened.ino !== info.ino || opened.dev !== info.dev) {
    file.close();
    throw refused(path, "it was replaced while it was opened");
  }
  return file;
}

function refused(path: string, why: string): UsageError {
  return new UsageError(
    `Refusing the log file ${JSON.stringify(path)}: ${why}`,
  );
}
