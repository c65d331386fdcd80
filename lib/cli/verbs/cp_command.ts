/**
 * The grammar of `cp`; what it does is in `cp.ts`, loaded once it is
 * parsed.
 *
 * @module
 */
import type { CpFlags } from "./cp.ts";
import { switchFlag, verbCommand } from "../grammar.ts";

/** `cp [NAME] SRC DEST`, one side `[user@]host:path`. */
export const cp = verbCommand<CpFlags, [string, string, string | undefined]>({
  brief:
    "copy a file to or from the host through the master (sftp, or the daemon)",
  flags: {
    resume: switchFlag(
      "continue a cut copy (its start checked by SHA-256)",
    ),
    recursive: switchFlag(
      "a directory and all in it, as scp -r (not links)",
    ),
    via: {
      kind: "enum",
      values: ["sftp", "helper"],
      brief: "default sftp; the daemon up to 8 MiB, or without sftp",
      optional: true,
    },
  },
  aliases: { r: "recursive" },
  positional: {
    kind: "tuple",
    parameters: [
      { brief: "NAME, or SRC", parse: String, placeholder: "NAME" },
      { brief: "SRC, or DEST", parse: String, placeholder: "SRC" },
      {
        brief: "DEST ([user@]host:path on one side)",
        parse: String,
        placeholder: "DEST",
        optional: true,
      },
    ],
  },
  usage: ["[NAME] SRC DEST [options]"],
  loader: async () => (await import("./cp.ts")).cp,
});
