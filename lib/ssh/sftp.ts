/**
 * File transfers through a destination's ControlMaster with the system
 * `sftp`: no new login, and a transfer cut short resumes where it stopped
 * (`put -a`, `get -a`). Paths travel as quoted words of sftp's batch
 * language on its stdin, never on a command line.
 *
 * @module
 */
import { SesshError, UsageError } from "../errors.ts";
import { onInterrupt } from "../interrupt.ts";
import { runCommand } from "../process.ts";
import type { Destination } from "./destination.ts";
import { clientArgv, directArgv } from "./options.ts";
import type { SshSettings } from "./settings.ts";

/** Which way a transfer goes. */
export type Direction = "upload" | "download";

/**
 * One path as a word of sftp's batch language: double-quoted, with `"` and
 * `\` escaped.
 *
 * @param path The path.
 * @returns The quoted word.
 * @throws {UsageError} for a path with a line break or NUL, which a batch
 *   line cannot hold.
 *
 * @example
 * ```ts
 * import { sftpWord } from "./sftp.ts";
 * console.log(sftpWord('my "file".txt')); // "my \"file\".txt"
 * ```
 */
export function sftpWord(path: string): string {
  if (/[\n\r\0]/.test(path)) {
    throw new UsageError(
      `The path ${
        JSON.stringify(path)
      } holds a line break or NUL; rename it first`,
    );
  }
  return `"${path.replace(/(["\\])/g, "\\$1")}"`;
}

/**
 * The sftp batch that moves one file, resuming a partial copy (`-a`, which
 * needs the partial copy to exist), or a directory tree (`-R`). An upload
 * asks the host to sync each file it wrote before sftp closes it (`-f`,
 * OpenSSH's `fsync@openssh.com`; a server without it writes the file
 * unsynced, as before): the part is then renamed over its target whole,
 * even after a crash of the host.
 *
 * @param direction Upload or download.
 * @param local The local path.
 * @param remote The remote path.
 * @param how `resume`: continue a partial copy at the destination;
 *   `recursive`: copy a directory tree; `sync: false`: an upload whose
 *   files the daemon syncs instead (a tree's, together).
 * @returns The batch text.
 *
 * @example
 * ```ts
 * import { transferBatch } from "./sftp.ts";
 * console.log(transferBatch("upload", "a b.bin", "/tmp/x.bin", { resume: true })); // put -f -a "a b.bin" "/tmp/x.bin"\n
 * ```
 */
export function transferBatch(
  direction: Direction,
  local: string,
  remote: string,
  how: { resume?: boolean; recursive?: boolean; sync?: boolean } = {},
): string {
  const flags = `${how.resume ? " -a" : ""}${how.recursive ? " -R" : ""}`;
  const sync = how.sync === false ? "" : " -f";
  return direction === "upload"
    ? `put${sync}${flags} ${sftpWord(local)} ${sftpWord(remote)}\n`
    : `get${flags} ${sftpWord(remote)} ${sftpWord(local)}\n`;
}

/**
 * argv of `sftp -b -` through the master at `controlPath`: the options of a
 * mux client, with sftp's spelling of the port (`-P`). Without a master
 * (`controlPath` null) sftp makes a plain connection of its own.
 *
 * @param dest The destination.
 * @param settings The settings.
 * @param controlPath The master's control socket, or null for none.
 * @returns The argv, program first.
 *
 * @example
 * ```ts
 * import { sftpArgv } from "./sftp.ts";
 * import { settingsFromEnv } from "./settings.ts";
 * const settings = settingsFromEnv({ SESSH_CONTROL_DIR: "/tmp/ctl" });
 * const argv = sftpArgv({ host: "db1", display: "db1" }, settings, null);
 * console.log(argv.includes("ControlPath=none"), argv.slice(-2)); // true ["--", "db1"]
 * ```
 */
export function sftpArgv(
  dest: Destination,
  settings: SshSettings,
  controlPath: string | null,
): string[] {
  // ssh … -o ControlMaster=no -T -- DEST COMMAND
  const ssh = controlPath === null
    ? directArgv(dest, settings, "")
    : clientArgv(dest, settings, "", { controlPath });
  const options = ssh.slice(1, ssh.indexOf("-T"));
  const portAt = options.indexOf("-p");
  if (portAt >= 0) options[portAt] = "-P";
  return ["sftp", "-b", "-", ...options, "--", ssh[ssh.length - 2]];
}

/**
 * Runs a batch of sftp commands through the master, or over a connection of
 * its own when `controlPath` is null (one per line; sftp
 * stops at the first that fails, unless it starts with `-`). A signal that
 * stops sessh stops sftp first, before the files it writes are cleaned up.
 *
 * @param dest The destination.
 * @param settings The settings.
 * @param controlPath The master's control socket, or null for none.
 * @param batch The commands, each line ending in `\n`.
 * @param signal Stops sftp when aborted; the batch then rejects with the
 *   signal's reason once sftp has exited.
 * @throws {SesshError} `no_file`, `file_denied`, or `remote` with
 *   `details.noSftp` when the host has no sftp subsystem.
 */
export async function sftpBatch(
  dest: Destination,
  settings: SshSettings,
  controlPath: string | null,
  batch: string,
  signal?: AbortSignal,
): Promise<void> {
  signal?.throwIfAborted();
  const stop = new AbortController();
  const abort = () => stop.abort();
  signal?.addEventListener("abort", abort, { once: true });
  const running = runCommand(sftpArgv(dest, settings, controlPath), {
    stdin: new TextEncoder().encode(batch),
    // As long as bytes move: ssh's keepalives end a dead link.
    timeoutMs: 24 * 3600_000,
    signal: stop.signal,
  });
  using _ = onInterrupt(async () => {
    stop.abort();
    await running;
    return "stopped sftp";
  }, signal);
  const result = await running.finally(() =>
    signal?.removeEventListener("abort", abort)
  );
  if (result.code === 0) return;
  // Stopped by the caller, not failed: the caller's reason, not sftp's.
  signal?.throwIfAborted();
  throw sftpError(new TextDecoder().decode(result.stderr), result.code, dest);
}

/**
 * The sftp command that renames a remote file over another (OpenSSH's
 * sftp uses the server's atomic `posix-rename` where it has it).
 *
 * @param from The file to rename.
 * @param to Its new name.
 * @returns The batch line.
 *
 * @example
 * ```ts
 * import { renameLine } from "./sftp.ts";
 * console.log(renameLine("/d/.a.sessh-part", "/d/a")); // rename "/d/.a.sessh-part" "/d/a"\n
 * ```
 */
export function renameLine(from: string, to: string): string {
  return `rename ${sftpWord(from)} ${sftpWord(to)}\n`;
}

/**
 * What sftp's complaint means, as an error that says what to do.
 *
 * @param stderr sftp's standard error.
 * @param code Its exit status.
 * @param dest The destination.
 * @returns The error.
 *
 * @example
 * ```ts
 * import { sftpError } from "./sftp.ts";
 * const err = sftpError('stat remote: No such file or directory\n', 1, { host: "box" });
 * console.log(err.code); // "no_file"
 * ```
 */
export function sftpError(
  stderr: string,
  code: number,
  dest: Pick<Destination, "host">,
): SesshError {
  if (/subsystem request failed/i.test(stderr)) return noSftpError(dest);
  const why = stderr.split("\n").map((line) => line.trim())
    .filter((line) => line && !line.startsWith("sftp>")).join("; ") ||
    `sftp exited ${code}`;
  if (/not found|no such file/i.test(why)) {
    return new SesshError("no_file", `cp found no such file: ${why}`);
  }
  if (/permission denied/i.test(why)) {
    return new SesshError(
      "file_denied",
      `cp was denied: ${why} (check the mode and owner)`,
    );
  }
  const error = new SesshError("remote", `cp failed: ${why}`);
  // Through a master, a refused subsystem reads only "Connection closed",
  // as a dead link does: the caller tells them apart.
  if (/^connection closed$/i.test(why)) error.details.closed = true;
  return error;
}

/**
 * The error of a host without the sftp subsystem (`details.noSftp`).
 *
 * @param dest The destination.
 * @returns The error.
 */
export function noSftpError(dest: Pick<Destination, "host">): SesshError {
  const error = new SesshError(
    "remote",
    `${dest.host} offers no sftp subsystem (Subsystem sftp in its sshd_config); copy through the sessh daemon instead`,
  );
  error.details.noSftp = true;
  return error;
}
