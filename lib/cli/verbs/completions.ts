/**
 * `completions SHELL` prints a shell's completion script, and
 * `__complete -- WORDS…` answers it: the words that may follow WORDS (the
 * last one the partial word), one per line with its description.
 *
 * @module
 */
import { proposeCompletions } from "@stricli/core";
import { verb } from "../context.ts";
import { completionScript } from "../completion.ts";

/** `completions`, as its grammar in `completions_command.ts` calls it. */
export const completions = verb((_, _flags, shell: string) =>
  Promise.resolve({
    op: "completions",
    fields: { shell },
    text: completionScript(shell),
    exitCode: 0,
  })
);

/** `__complete`, as its grammar in `completions_command.ts` calls it. */
export const complete = verb(async (context) => {
  const words = context.payload?.length ? context.payload : [""];
  const proposals = await proposeCompletions(context.program, words, context);
  return {
    op: "__complete",
    fields: {},
    text: proposals.map((p) => `${p.completion}\t${p.brief}\n`).join(""),
    exitCode: 0,
  };
});
