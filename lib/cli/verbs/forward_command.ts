/**
 * The grammar of `forward`; what it does is in `forward.ts`, loaded once
 * it is parsed.
 *
 * @module
 */
import type { ForwardFlags } from "./forward.ts";
import { DEST, PORT, switchFlag, textFlag, verbCommand } from "../grammar.ts";

/** `forward DEST [PORT] [-L|-R|-D SPEC [--cancel]]`, or `--list`. */
export const forward = verbCommand<ForwardFlags, [string, string | undefined]>(
  {
    brief:
      "forward a port through the master (-L, -R, -D), or list the forwards",
    description:
      "Without -L, -R or -D, lists the forwards in place. They are kept when the master is replaced.",
    flags: {
      local: textFlag(
        "a local port reaching the host's side: [bind:]port:host:hostport",
        "spec",
      ),
      remote: textFlag(
        "a port on the host reaching this side: [bind:]port:host:hostport",
        "spec",
      ),
      dynamic: textFlag(
        "a SOCKS proxy through the host: [bind:]port",
        "spec",
      ),
      cancel: switchFlag("cancel the forward instead"),
      list: switchFlag("list the forwards instead"),
    },
    aliases: { L: "local", R: "remote", D: "dynamic" },
    positional: { kind: "tuple", parameters: [DEST, PORT] },
    loader: async () => (await import("./forward.ts")).forward,
  },
);
