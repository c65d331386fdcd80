/**
 * The grammar of `status`, `list` and `close`; what they do is in
 * `manage.ts`, loaded once one of them is parsed.
 *
 * @module
 */
import type { CommonFlags } from "../call.ts";
import type { CloseFlags } from "./manage.ts";
import type { FleetFlags } from "../hosts.ts";
import { parseSeconds } from "../args.ts";
import {
  DEST_OR_HOSTS,
  FLEET,
  fleetTargetCommand,
  PORT,
  switchFlag,
  verbCommand,
} from "../grammar.ts";

/** `status NAME DEST [PORT]`. */
export const status = fleetTargetCommand<CommonFlags & FleetFlags>(
  "master, shell, running command, cwd, buffer",
  {},
  async () => (await import("./manage.ts")).status,
);

/** `list DEST [PORT]`. */
export const list = verbCommand<
  CommonFlags & FleetFlags,
  [string | undefined, string | undefined]
>({
  brief: "every session of this user on the host (or hosts: --hosts)",
  flags: FLEET,
  positional: { kind: "tuple", parameters: [DEST_OR_HOSTS, PORT] },
  loader: async () => (await import("./manage.ts")).list,
});

/** `close NAME DEST [PORT]`. */
export const close = fleetTargetCommand<CloseFlags & FleetFlags>(
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
