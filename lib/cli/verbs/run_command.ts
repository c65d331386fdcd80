/**
 * The grammar of `open` and `run`; what they do is in `run.ts`, loaded
 * once one of them is parsed.
 *
 * @module
 */
import type { OpenFlags, RunFlags } from "./run.ts";
import type { FleetFlags } from "../hosts.ts";
import {
  fleetTargetCommand,
  MAX_OUTPUT,
  OPEN,
  switchFlag,
  TIMEOUT,
} from "../grammar.ts";

/** `open NAME DEST [PORT]`. */
export const open = fleetTargetCommand<OpenFlags & FleetFlags>(
  "create a session, or reuse it",
  OPEN,
  async () => (await import("./run.ts")).open,
);

/** `run NAME DEST [PORT] -- COMMAND…`. */
export const run = fleetTargetCommand<RunFlags & FleetFlags>(
  "type a command, wait for it, print its output",
  {
    ...OPEN,
    timeout: TIMEOUT,
    noWait: switchFlag("type the command and return without waiting for it"),
    force: switchFlag("interrupt a running command and run this one instead"),
    maxOutput: MAX_OUTPUT,
  },
  async () => (await import("./run.ts")).run,
  {
    payload: "COMMAND…",
    description:
      "The command goes after --, as one or more words joined by spaces.",
  },
);
