/**
 * The grammar of `history` and `result`; what they do is in `history.ts`,
 * loaded once one of them is parsed.
 *
 * @module
 */
import type { CommonFlags } from "../call.ts";
import type { ResultFlags } from "./history.ts";
import type { FleetFlags } from "../hosts.ts";
import { parseCount } from "../args.ts";
import {
  DEST_OR_HOSTS,
  FLEET,
  MAX_OUTPUT,
  NAME,
  PORT,
  targetCommand,
  verbCommand,
} from "../grammar.ts";

/** `history NAME DEST [PORT]`. */
export const history = targetCommand<CommonFlags>(
  "the last commands run typed, with their ids and exit statuses",
  {},
  async () => (await import("./history.ts")).history,
);

/** `result NAME DEST [ID] [PORT]`. */
export const result = verbCommand<
  ResultFlags & FleetFlags,
  [string, string | undefined, number | undefined, string | undefined]
>({
  brief:
    "a command's exit status and output by id, or that it still runs (exit 124)",
  flags: { ...FLEET, maxOutput: MAX_OUTPUT },
  positional: {
    kind: "tuple",
    parameters: [NAME, DEST_OR_HOSTS, {
      brief: "the command's id (run --json prints it; default: the latest)",
      parse: (v: string) =>
        parseCount(v, "ID", { min: 1, max: Number.MAX_SAFE_INTEGER }),
      placeholder: "ID",
      optional: true as const,
    }, PORT],
  },
  loader: async () => (await import("./history.ts")).result,
  usage: [
    "NAME DEST [ID] [PORT] [options]",
    "NAME --hosts h1,h2[01-08] [options]",
  ],
});
