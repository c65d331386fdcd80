/**
 * The grammar of `status`, `list` and `close`; what they do is in
 * `manage.ts`, loaded once one of them is parsed.
 *
 * @module
 */
import type { CommonFlags } from "../call.ts";
import type { CloseFlags } from "./manage.ts";
import { parseSeconds } from "../args.ts";
import {
  DEST,
  PORT,
  switchFlag,
  targetCommand,
  verbCommand,
} from "../grammar.ts";

/** `status NAME DEST [PORT]`. */
export const status = targetCommand<CommonFlags>(
  "master, shell, running command, cwd, buffer",
  {},
  async () => (await import("./manage.ts")).status,
);

/** `list DEST [PORT]`. */
export const list = verbCommand<CommonFlags, [string, string | undefined]>({
  brief: "every session of this user on the host",
  flags: {},
  positional: { kind: "tuple", parameters: [DEST, PORT] },
  loader: async () => (await import("./manage.ts")).list,
});

/** `close NAME DEST [PORT]`. */
export const close = targetCommand<CloseFlags>(
  "end the session (and the master when none is left)",
  {
    keepMaster: switchFlag("leave the ssh master running"),
    grace: {
      kind: "parsed",
      parse: (v) => parseSeconds(v, "--grace"),
      brief: "time between SIGHUP and SIGKILL (default 2)",
      optional: true,
      placeholder: "seconds",
    },
  },
  async () => (await import("./manage.ts")).close,
);
