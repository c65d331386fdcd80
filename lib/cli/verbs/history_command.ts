/**
 * The grammar of `history` and `result`; what they do is in `history.ts`,
 * loaded once one of them is parsed.
 *
 * @module
 */
import { buildCommand } from "@stricli/core";
import type { CommonFlags } from "../call.ts";
import type { ProgramContext } from "../context.ts";
import type { ResultFlags } from "./history.ts";
import { parseCount } from "../args.ts";
import {
  COMMON,
  COMMON_ALIASES,
  DEST,
  MAX_OUTPUT,
  NAME,
  PORT,
  targetCommand,
} from "../grammar.ts";

/** `history NAME DEST [PORT]`. */
export const history = targetCommand<CommonFlags>(
  "the last commands run typed, with their ids and exit statuses",
  {},
  async () => (await import("./history.ts")).history,
);

/** `result NAME DEST [ID] [PORT]`. */
export const result = buildCommand<
  ResultFlags,
  [string, string, number | undefined, string | undefined],
  ProgramContext
>({
  loader: async () => (await import("./history.ts")).result,
  parameters: {
    flags: { ...COMMON, maxOutput: MAX_OUTPUT },
    aliases: COMMON_ALIASES,
    positional: {
      kind: "tuple",
      parameters: [NAME, DEST, {
        brief: "the command's id (run --json prints it; default: the latest)",
        parse: (v: string) =>
          parseCount(v, "ID", { min: 1, max: Number.MAX_SAFE_INTEGER }),
        placeholder: "ID",
        optional: true as const,
      }, PORT],
    },
  },
  docs: {
    brief:
      "a command's exit status and output by id, or that it still runs (exit 124)",
  },
});
