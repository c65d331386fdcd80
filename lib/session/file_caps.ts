/**
 * Whether the daemon can copy files, asked before a copy goes its way:
 * a leaf, so that the client loads none of the copy code to ask.
 *
 * @module
 */
import { CAPS } from "../contract/spec.ts";
import { SesshError } from "../errors.ts";

/**
 * Refuses a copy through a daemon that predates file requests (an older
 * sessh started it, and it runs on while it has sessions).
 *
 * @param client The client's destination and its daemon's capabilities.
 * @throws {SesshError} `helper_failed`, saying when the daemon is replaced.
 *
 * @example
 * ```ts
 * import { requireFileCopies } from "./file_caps.ts";
 * requireFileCopies({ destination: { host: "box" }, daemon: { caps: ["files"] } });
 * ```
 */
export function requireFileCopies(client: {
  destination: { host: string };
  daemon: { caps: readonly string[] };
}): void {
  if (!client.daemon.caps.includes(CAPS.files)) {
    throw new SesshError(
      "helper_failed",
      `The sessh daemon on ${client.destination.host} predates file copies (an older sessh started it); it is replaced once its sessions are closed`,
    );
  }
}
