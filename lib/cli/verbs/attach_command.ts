/**
 * The grammar of `attach`, `watch` and `detach`; what they do is in
 * `attach.ts`, loaded once one of them is parsed.
 *
 * @module
 */
import type { CommonFlags } from "../call.ts";
import type { AttachFlags } from "./attach.ts";
import { validateName } from "../../session/name.ts";
import {
  DEST,
  OPEN,
  PORT,
  switchFlag,
  targetCommand,
  textFlag,
  verbCommand,
} from "../grammar.ts";

/** The flags `attach` and `watch` share: leaving, and surviving a cut. */
const ATTACH_LINK = {
  detachKeys: textFlag(
    'local detach keys (default "C-b d"; "none" turns them off)',
    "keys",
  ),
  retries: textFlag(
    'reconnect attempts after a lost link (default 10, or "forever")',
    "n",
  ),
};

/** `attach [NAME] DEST [PORT]`. */
export const attach = verbCommand<
  AttachFlags,
  [string, string | undefined, string | undefined]
>({
  brief: "attach this terminal to a session",
  flags: {
    new: switchFlag("always start a new session"),
    session: {
      kind: "parsed",
      parse: validateName,
      brief: "attach this existing session",
      optional: true,
      placeholder: "name",
    },
    list: switchFlag("print the sessions (busy ones marked) and exit"),
    readOnly: switchFlag(
      "watch beside the interactive client: keys go nowhere (also: sessh watch)",
    ),
    ...ATTACH_LINK,
    shell: OPEN.shell,
    forward: OPEN.forward,
  },
  positional: {
    kind: "tuple",
    parameters: [
      {
        brief: "NAME DEST, or DEST alone",
        parse: String,
        placeholder: "NAME",
      },
      { ...DEST, optional: true },
      { ...PORT, parse: String },
    ],
  },
  usage: ["[NAME] DEST [PORT] [options]"],
  loader: async () => (await import("./attach.ts")).attach,
});

/** `watch NAME DEST [PORT]`: `attach --read-only`. */
export const watch = targetCommand<
  CommonFlags & { detachKeys?: string; retries?: string }
>(
  "watch a session read-only beside its interactive client (attach --read-only)",
  ATTACH_LINK,
  async () => (await import("./attach.ts")).watch,
);

/** `detach NAME DEST [PORT]`. */
export const detach = targetCommand<CommonFlags>(
  "make the session's attached client exit (the shell keeps running)",
  {},
  async () => (await import("./attach.ts")).detach,
);
