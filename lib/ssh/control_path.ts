/**
 * The real control socket path of a destination, as ssh itself expands
 * `ControlPath=<dir>/%C` (a hash of local host, remote host, port, user
 * and jump host, after ssh config is applied).
 *
 * @module
 */

import { ConnectError } from "../errors.ts";
import { runCommand } from "../process.ts";
import type { Destination } from "./destination.ts";
import { configArgv } from "./options.ts";
import type { SshSettings } from "./settings.ts";
import { classifySshFailure } from "./ssh_errors.ts";

/**
 * Asks `ssh -G` (which reads config but never connects) for the expanded
 * control path of the destination.
 *
 * @param dest The destination.
 * @param settings The settings; the same ones must be used for the master.
 * @returns The absolute socket path, e.g. `/run/user/1000/sessh/3f2a…`.
 * @throws {ConnectError} when ssh rejects the options or config.
 *
 * @example
 * ```ts
 * import { resolveControlPath } from "./control_path.ts";
 * import { settingsFromEnv } from "./settings.ts";
 * const settings = settingsFromEnv({ SESSH_CONTROL_DIR: "/tmp/ctl" });
 * const path = await resolveControlPath({ host: "db1", display: "db1" }, settings);
 * console.log(path.startsWith("/tmp/ctl/")); // true
 * ```
 */
export async function resolveControlPath(
  dest: Destination,
  settings: SshSettings,
): Promise<string> {
  // ssh -G can run `Match exec` commands from the user's config.
  const result = await runCommand(configArgv(dest, settings), {
    timeoutMs: 10_000,
  });
  const stderr = new TextDecoder().decode(result.stderr);
  if (result.code !== 0) throw classifySshFailure(dest, result.code, stderr);
  const path = /^controlpath (.+)$/m.exec(
    new TextDecoder().decode(result.stdout),
  )?.[1];
  if (path === undefined || !path.startsWith("/")) {
    throw new ConnectError(
      "ssh_failed",
      `Cannot tell the control socket of ${
        JSON.stringify(dest.display)
      }: ssh -G printed controlpath ${
        path ?? "nothing"
      }; check your ssh config`,
    );
  }
  return path;
}
