/**
 * The grammar of `send` and `keys`; what they do is in `input.ts`, loaded
 * once one of them is parsed.
 *
 * @module
 */
import type { KeysFlags, SendFlags } from "./input.ts";
import { switchFlag, targetCommand, textFlag } from "../grammar.ts";

/** `send NAME DEST [PORT] -- TEXT…`, or `--file PATH`. */
export const send = targetCommand<SendFlags>(
  "type literal text",
  {
    enter: switchFlag("press Enter after the text"),
    file: textFlag(
      "send this file's bytes instead (- for stdin), of any size",
      "path",
      "--file",
    ),
  },
  async () => (await import("./input.ts")).send,
  {
    payload: "TEXT…",
    description:
      "The text goes after --, or comes from --file PATH (- for stdin).",
  },
);

/** `keys NAME DEST [PORT] [--literal] -- KEY…`. */
export const keys = targetCommand<KeysFlags>(
  "press keys by tmux name (Enter, C-c, Up, F5, M-x, …)",
  {
    literal: switchFlag("type words that name no key as text (else refused)"),
  },
  async () => (await import("./input.ts")).keys,
  {
    payload: "KEY…",
    description: "The key names go after --: Enter, C-c, Up, F5, M-x, q, …",
  },
);
