/**
 * The grammar of `forward`; what it does is in `forward.ts`, loaded once
 * it is parsed.
 *
 * @module
 */
import { buildCommand } from "@stricli/core";
import type { ProgramContext } from "../context.ts";
import type { ForwardFlags } from "./forward.ts";
import {
  COMMON,
  COMMON_ALIASES,
  DEST,
  PORT,
  switchFlag,
  textFlag,
} from "../grammar.ts";

/** `forward DEST [PORT] -L|-R|-D SPEC [--cancel]`. */
export const forward = buildCommand<
  ForwardFlags,
  [string, string | undefined],
  ProgramContext
>({
  loader: async () => (await import("./forward.ts")).forward,
  parameters: {
    flags: {
      ...COMMON,
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
    },
    aliases: { ...COMMON_ALIASES, L: "local", R: "remote", D: "dynamic" },
    positional: { kind: "tuple", parameters: [DEST, PORT] },
  },
  docs: {
    brief:
      "forward a port through the master (-L, -R, -D); kept when the master is replaced",
  },
});
