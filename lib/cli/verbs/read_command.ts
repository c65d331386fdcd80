/**
 * The grammar of `logs`, `screen` and `wait`; what they do is in
 * `read.ts`, loaded once one of them is parsed.
 *
 * @module
 */
import type { CommonFlags } from "../call.ts";
import type { LogsFlags, WaitFlags } from "./read.ts";
import type { FleetFlags } from "../hosts.ts";
import { parseLines, parseMillis, parsePattern } from "../args.ts";
import {
  DEST,
  DEST_OR_HOSTS,
  FLEET,
  fleetTargetCommand,
  MAX_OUTPUT,
  NAME,
  PORT,
  SINCE,
  switchFlag,
  TIMEOUT,
  verbCommand,
} from "../grammar.ts";

const LINES = {
  brief: "how many lines (default 300, SESSH_LOG_LINES_DEFAULT)",
  parse: parseLines,
  placeholder: "LINES",
  optional: true as const,
};

/**
 * `logs NAME DEST [LINES] [PORT]`: a number after DEST is LINES, as in the
 * bash sessh; the port comes after it, or as `-p`.
 */
export const logs = verbCommand<
  LogsFlags & FleetFlags,
  [string, string | undefined, number | undefined, string | undefined]
>({
  brief: "recent output as text: the last LINES (default 300)",
  flags: {
    ...FLEET,
    since: SINCE,
    raw: switchFlag("the bytes as the terminal received them"),
    follow: switchFlag("keep streaming new output until interrupted"),
    maxOutput: MAX_OUTPUT,
  },
  positional: {
    kind: "tuple",
    parameters: [NAME, DEST_OR_HOSTS, LINES, PORT],
  },
  loader: async () => (await import("./read.ts")).logs,
  usage: [
    "NAME DEST [LINES] [PORT] [options]",
    "NAME --hosts h1,h2[01-08] [options]",
  ],
});

/**
 * `screen NAME DEST [LINES] [PORT]` (alias `pane`). A number after DEST is
 * LINES, as for `logs` and as the bash sessh's `pane` read it; the port
 * comes after it, or as `-p`.
 */
export const screen = verbCommand<
  CommonFlags,
  [string, string, number | undefined, string | undefined]
>({
  brief: "the visible screen as text, with the cursor",
  flags: {},
  positional: {
    kind: "tuple",
    parameters: [NAME, DEST, {
      ...LINES,
      brief: "the last LINES lines, those scrolled off above the screen too",
    }, PORT],
  },
  loader: async () => (await import("./read.ts")).screen,
});

/** `wait NAME DEST [PORT]` for a pattern, idleness or the command's end. */
export const wait = fleetTargetCommand<WaitFlags & FleetFlags>(
  "wait for output, idleness or the command's end",
  {
    for: {
      kind: "parsed",
      parse: parsePattern,
      brief: "until output matches this regular expression",
      optional: true,
      placeholder: "regex",
    },
    idle: {
      kind: "parsed",
      parse: (v) => parseMillis(v, "--idle"),
      brief: "until no output came for this many milliseconds",
      optional: true,
      placeholder: "ms",
    },
    done: switchFlag("until the running command finishes"),
    since: {
      ...SINCE,
      brief:
        "read from this cursor (default: --for since the last input, --idle from now)",
    },
    timeout: TIMEOUT,
    maxOutput: MAX_OUTPUT,
  },
  async () => (await import("./read.ts")).wait,
);
