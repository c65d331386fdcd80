/**
 * The grammar of `cp`; what it does is in `cp.ts`, loaded once it is
 * parsed.
 *
 * @module
 */
import { buildCommand } from "@stricli/core";
import type { ProgramContext } from "../context.ts";
import type { CpFlags } from "./cp.ts";
import { COMMON, COMMON_ALIASES, switchFlag } from "../grammar.ts";

/** `cp [NAME] SRC DEST`, one side `[user@]host:path`. */
export const cp = buildCommand<
  CpFlags,
  [string, string, string | undefined],
  ProgramContext
>({
  loader: async () => (await import("./cp.ts")).cp,
  parameters: {
    flags: {
      ...COMMON,
      resume: switchFlag(
        "continue a cut copy, if the destination holds the source's start (checked by SHA-256)",
      ),
      recursive: switchFlag(
        "copy a directory and everything in it, as scp -r (links are left out)",
      ),
      via: {
        kind: "enum",
        values: ["sftp", "helper"],
        brief:
          "sftp (the default; the daemon where the host has none), or helper: the sessh daemon",
        optional: true,
      },
    },
    aliases: { ...COMMON_ALIASES, r: "recursive" },
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
  },
  docs: {
    brief:
      "copy a file to or from the host through the master (sftp, or the daemon)",
    customUsage: ["[NAME] SRC DEST [options]"],
  },
});
