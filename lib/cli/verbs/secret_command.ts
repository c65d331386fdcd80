/**
 * The grammar of `secret`; what it does is in `secret.ts`, loaded once it
 * is parsed.
 *
 * @module
 */
import type { SecretFlags } from "./secret.ts";
import { switchFlag, targetCommand, textFlag } from "../grammar.ts";

/** `secret NAME DEST [PORT] --from-env VAR | --from-file PATH | --prompt`. */
export const secret = targetCommand<SecretFlags>(
  "type a secret and Enter at a prompt with echo off (password, token)",
  {
    fromEnv: textFlag("the environment variable that holds it", "var"),
    fromFile: textFlag("the file that holds it", "path", "--from-file"),
    prompt: switchFlag("read it from this terminal, without echo"),
  },
  async () => (await import("./secret.ts")).secret,
  {
    description:
      "Never give the secret itself: it would show in the process list.\nIt is refused (exit 3) while the terminal echoes, and redacted from output that repeats it.",
  },
);
