/**
 * The grammar of `completions` and of `__complete`, the hidden verb the
 * completion scripts ask; what they do is in `completions.ts`.
 *
 * @module
 */
import { buildCommand } from "@stricli/core";
import type { ProgramContext } from "../context.ts";
import { COMPLETION_SHELLS } from "../completion.ts";

/** `completions SHELL`. */
export const completions = buildCommand<
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
    fullDescription:
      'bash: eval "$(sessh completions bash)" in ~/.bashrc; zsh: the same with zsh, after compinit; fish: sessh completions fish | source',
  },
});

/** `__complete -- WORDS…`. */
export const complete = buildCommand<Record<never, never>, [], ProgramContext>(
  {
    loader: async () => (await import("./completions.ts")).complete,
    parameters: { positional: { kind: "tuple", parameters: [] } },
    docs: { brief: "complete the words after --, for the shell scripts" },
  },
);
