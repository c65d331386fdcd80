/**
 * The grammar of `completions` and of `__complete`, the hidden verb the
 * completion scripts ask; what they do is in `completions.ts`.
 *
 * @module
 */
import { buildCommand } from "@stricli/core";
import type { ProgramContext } from "../context.ts";
import { COMPLETION_SHELLS } from "../completion.ts";
import { withUsage } from "../grammar.ts";

const command = buildCommand<
  Record<never, never>,
  [string],
  ProgramContext
>({
  loader: async () => (await import("./completions.ts")).completions,
  parameters: {
    positional: {
      kind: "tuple",
      parameters: [{
        brief: COMPLETION_SHELLS.join(", "),
        parse: String,
        placeholder: "SHELL",
        proposeCompletions: () => [...COMPLETION_SHELLS],
      }],
    },
  },
  docs: {
    brief: "print the completion script of bash, zsh or fish",
    customUsage: ["SHELL"],
    fullDescription: 'bash: eval "$(sessh completions bash)" in ~/.bashrc\n' +
      "zsh: the same with zsh, in ~/.zshrc after compinit\n" +
      "fish: sessh completions fish | source",
  },
});

/** `completions SHELL`. */
export const completions = withUsage(command, "SHELL");

/** `__complete -- WORDS…`. */
export const complete = buildCommand<Record<never, never>, [], ProgramContext>(
  {
    loader: async () => (await import("./completions.ts")).complete,
    parameters: { positional: { kind: "tuple", parameters: [] } },
    docs: { brief: "complete the words after --, for the shell scripts" },
  },
);
