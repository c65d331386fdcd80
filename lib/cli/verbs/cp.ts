/**
 * `cp [NAME] SRC DST`: a file to or from the host, in scp's shape (one side
 * `[user@]host:path`), through the destination's ControlMaster with sftp.
 * A copy cut short resumes where it stopped when run again. With NAME, a
 * relative remote path is taken in the session's current directory.
 *
 * @module
 */
import { UsageError } from "../../errors.ts";
import { runCommand } from "../../process.ts";
import { sftpArgv, transferBatch } from "../../ssh/sftp.ts";
import { type CommonFlags, connect, type Outcome } from "../call.ts";

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

/**
 * `cp [NAME] SRC DST`.
 *
 * @param words NAME SRC DST, or SRC DST.
 * @param flags Options.
 * @param progress Where progress goes on a terminal (stderr), or null.
 * @returns The outcome.
 */
export async function cpCommand(
  words: string[],
  flags: CommonFlags,
  progress: ((line: string) => Promise<void>) | null,
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
  const direction = from.host === null ? "upload" : "download";
  const remote = direction === "upload" ? to : from;
  const local = direction === "upload" ? from : to;
  if (direction === "upload") {
    const info = await Deno.stat(local.path).catch(() => null);
    if (!info?.isFile) {
      throw new UsageError(
        `No file ${JSON.stringify(local.path)} here to copy`,
      );
    }
  }
  await using client = await connect({ dest: remote.host! }, flags);
  let remotePath = remote.path || ".";
  if (name !== undefined && !remotePath.startsWith("/")) {
    const cwd = (await client.session(name).status()).cwd;
    if (cwd) remotePath = `${cwd}/${remotePath}`;
  }
  const started = performance.now();
  const watching = progress && direction === "download"
    ? watchSize(local.path, progress)
    : null;
  const transfer = (resume: boolean) =>
    runCommand(
      sftpArgv(client.destination, client.settings, client.master.controlPath),
      {
        stdin: new TextEncoder().encode(
          transferBatch(direction, local.path, remotePath, resume),
        ),
        timeoutMs: 24 * 3600_000,
      },
    );
  const decoder = new TextDecoder();
  // A partial copy at the destination is continued; sftp's -a needs one.
  let result = await transfer(
    direction === "download"
      ? (await Deno.stat(local.path).catch(() => null))?.isFile ?? false
      : true,
  ).finally(() => watching?.stop());
  if (
    result.code !== 0 && direction === "upload" &&
    /stat remote: No such file/.test(decoder.decode(result.stderr))
  ) {
    result = await transfer(false);
  }
  if (result.code !== 0) {
    const stderr = decoder.decode(result.stderr);
    if (/subsystem request failed/i.test(stderr)) {
      throw new UsageError(
        `cp needs the host's sftp subsystem, and ${remote.host} offers none (Subsystem sftp in its sshd_config)`,
        "remote",
      );
    }
    const why = stderr.split("\n").map((l) => l.trim())
      .filter((l) => l && !l.startsWith("sftp>")).join("; ");
    throw new UsageError(
      `cp failed: ${why || `sftp exited ${result.code}`}`,
      "remote",
    );
  }
  const localFile = direction === "upload"
    ? local.path
    : await localTarget(local.path, remotePath);
  const bytes = (await Deno.stat(localFile).catch(() => null))?.size ?? null;
  const durationMs = Math.round(performance.now() - started);
  return {
    op: "cp",
    fields: {
      direction,
      source: src,
      destination: dst,
      remote_path: remotePath,
      bytes,
      duration_ms: durationMs,
    },
    text: `${direction === "upload" ? "sent" : "received"} ${
      bytes ?? "?"
    } bytes in ${(durationMs / 1000).toFixed(1)} s\n`,
    exitCode: 0,
  };
}

/** The local file a download wrote: into a directory, under the remote name. */
async function localTarget(local: string, remote: string): Promise<string> {
  const info = await Deno.stat(local).catch(() => null);
  return info?.isDirectory ? `${local}/${remote.split("/").at(-1)}` : local;
}

/** Reports a growing local file's size every half second. */
function watchSize(path: string, report: (line: string) => Promise<void>) {
  const started = performance.now();
  const timer = setInterval(async () => {
    const size = (await Deno.stat(path).catch(() => null))?.size ?? 0;
    const seconds = (performance.now() - started) / 1000;
    await report(
      `\r${(size / 1e6).toFixed(1)} MB, ${
        (size / 1e6 / seconds).toFixed(1)
      } MB/s`,
    );
  }, 500);
  return {
    stop: () => {
      clearInterval(timer);
      void report("\r\x1b[K");
    },
  };
}
