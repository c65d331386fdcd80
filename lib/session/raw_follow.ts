/**
 * A raw follow handed to ssh: the command that has the daemon write a
 * session's output, bytes alone, into the stdout of an `ssh` through the
 * ControlMaster (`helper/raw_follow.py`). The master then writes them into
 * that ssh's stdout as it writes `ssh DEST cat`'s, and no sessh process
 * copies them: `logs --follow --raw` through the local agent hands its
 * stream over so to the thin client (issue 21), which runs it
 * (`lib/cli/handover.ts`).
 *
 * @module
 */
import { bridgeCommand } from "../remote/bootstrap.ts";
import { clientArgv } from "../ssh/options.ts";
import { encodeFrame } from "../protocol/frame.ts";
import { CAPS } from "../contract/spec.ts";
import type { SesshClient } from "./client.ts";

/** What a raw follow runs: the ssh command, and its stdin (the request). */
export interface RawFollowCommand {
  /** `ssh … DEST COMMAND`, through the client's ControlMaster. */
  argv: string[];
  /** The request, one frame, for its stdin. */
  input: Uint8Array;
}

/**
 * Where a raw follow starts: a cursor, or the start of the buffer (what a
 * raw `logs` prints, whatever its LINES).
 */
export type RawFollowStart = { since: number } | { whole: true };

/**
 * The command of a raw follow of session `name` on `client`'s host, or
 * null where none can be handed over: without a ControlMaster (a plain
 * connection would log in again), a daemon without the `raw_follow` cap
 * (an older helper's), or a login shell that printed anything before the
 * helper, which would reach the reader ahead of the output.
 *
 * @param client The client whose master and daemon it goes through.
 * @param name The session.
 * @param from From a cursor, or the whole buffer.
 * @returns The command, or null.
 *
 * @example
 * ```ts ignore
 * import { rawFollowCommand } from "./raw_follow.ts";
 * const command = rawFollowCommand(client, "work", { whole: true });
 * ```
 */
export function rawFollowCommand(
  client: SesshClient,
  name: string,
  from: RawFollowStart,
): RawFollowCommand | null {
  const master = client.master;
  if (
    master === null || !client.daemon.caps.includes(CAPS.raw_follow) ||
    !client.loginQuiet
  ) return null;
  // The request goes on stdin: the remote command line is fixed text.
  const command = bridgeCommand({
    role: "follow",
    noProcfs: client.settings.noProcfs,
  });
  return {
    argv: clientArgv(client.destination, client.settings, command, {
      controlPath: master.controlPath,
    }),
    input: encodeFrame({ name, ...from }),
  };
}
