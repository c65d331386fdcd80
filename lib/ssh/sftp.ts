/**
 * File transfers through a destination's ControlMaster with the system
 * `sftp`: no new login, and a transfer cut short resumes where it stopped
 * (`put -a`, `get -a`). Paths travel as quoted words of sftp's batch
 * language on its stdin, never on a command line.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { Destination } from "./destination.ts";
import { clientArgv } from "./options.ts";
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
 * needs the partial copy to exist).
 *
 * @param direction Upload or download.
 * @param local The local path.
 * @param remote The remote path.
 * @param resume Continue a partial copy at the destination.
 * @returns The batch text.
 *
 * @example
 * ```ts
 * import { transferBatch } from "./sftp.ts";
 * console.log(transferBatch("upload", "a b.bin", "/tmp/x.bin", true)); // put -a "a b.bin" "/tmp/x.bin"\n
 * ```
 */
export function transferBatch(
  direction: Direction,
  local: string,
  remote: string,
  resume: boolean,
): string {
  const a = resume ? " -a" : "";
  return direction === "upload"
    ? `put${a} ${sftpWord(local)} ${sftpWord(remote)}\n`
    : `get${a} ${sftpWord(remote)} ${sftpWord(local)}\n`;
}

/**
 * argv of `sftp -b -` through the master at `controlPath`: the options of a
 * mux client, with sftp's spelling of the port (`-P`).
 *
 * @param dest The destination.
 * @param settings The settings.
 * @param controlPath The master's control socket.
 * @returns The argv, program first.
 */
export function sftpArgv(
  dest: Destination,
  settings: SshSettings,
  controlPath: string,
): string[] {
  // clientArgv: ssh … -o ControlMaster=no -T -- DEST COMMAND
  const ssh = clientArgv(dest, settings, "", { controlPath });
  const options = ssh.slice(1, ssh.indexOf("-T"));
  const portAt = options.indexOf("-p");
  if (portAt >= 0) options[portAt] = "-P";
  return ["sftp", "-b", "-", ...options, "--", ssh[ssh.length - 2]];
}
