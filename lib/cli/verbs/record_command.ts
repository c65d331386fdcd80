/**
 * The grammar of `record`; what it does is in `record.ts`, loaded once it
 * is parsed.
 *
 * @module
 */
import type { RecordFlags } from "./record.ts";
import { parseCount } from "../args.ts";
import { SINCE, targetCommand, textFlag } from "../grammar.ts";

/** `record NAME DEST [PORT]`: the output as an asciicast. */
export const record = targetCommand<RecordFlags>(
  "the output with its timing, as an asciicast v2 file (asciinema)",
  {
    since: SINCE,
    command: {
      kind: "parsed",
      parse: (v: string) =>
        parseCount(v, "--command", { min: 1, max: Number.MAX_SAFE_INTEGER }),
      brief: "one command's output, by the id run printed",
      optional: true,
      placeholder: "id",
    },
    output: textFlag("the file to write (- for stdout)", "file", "--output"),
  },
  async () => (await import("./record.ts")).record,
);
