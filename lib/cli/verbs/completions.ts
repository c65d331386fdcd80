/**
 * `completions SHELL` prints a shell's completion script, and
 * `__complete -- WORDS…` answers it: the words that may follow WORDS (the
 * last one the partial word), one per line with its description.
 *
 * @module
 */
import { type Application, proposeCompletions } from "@stricli/core";
import { type ProgramContext, verb } from "../context.ts";
import { completionScript } from "../completion.ts";
import { KEY_NAMES } from "../../session/keys.ts";

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
  // After `--` the parser has nothing to offer: the payload is the verb's.
  const dashes = words.indexOf("--");
  // `help VERB` is no route of the parser's: its VERB completes as a verb.
  const asked = words[0] === "help" && words.length === 2
    ? words.slice(1)
    : words;
  const proposals: { completion: string; brief: string }[] =
    dashes >= 0 && dashes < words.length - 1
      ? afterDashes(words.find((w) => !w.startsWith("-")), words.at(-1) ?? "")
      : [...await proposeCompletions(programOf(context), asked, context)];
  if (words.length === 1 && "help".startsWith(words[0])) {
    proposals.push({ completion: "help", brief: "a verb's options" });
  }
  return {
    op: "__complete",
    fields: {},
    text: proposals.map((p) => `${p.completion}\t${p.brief}\n`).join(""),
    exitCode: 0,
  };
});

/** Key names after `keys … --`; nothing after another verb's `--`. */
function afterDashes(
  verb: string | undefined,
  partial: string,
): { completion: string; brief: string }[] {
  if (verb !== "keys") return [];
  return keyCompletions(partial).map((name) => ({
    completion: name,
    brief: "key",
  }));
}

/**
 * What may follow `keys … --`: the key names that start with `partial`,
 * in any case, and the control keys most often pressed.
 *
 * @param partial The word being completed.
 * @returns The key names.
 *
 * @example
 * ```ts
 * import { keyCompletions } from "./completions.ts";
 * console.log(keyCompletions("pa")); // ["PageUp", "PageDown"]
 * ```
 */
export function keyCompletions(partial: string): string[] {
  const lower = partial.toLowerCase();
  return [...KEY_NAMES, "C-c", "C-d", "C-z", "C-l", "M-x"]
    .filter((name) => name.toLowerCase().startsWith(lower));
}

/** The program the full parser, which alone calls `__complete`, gave. */
function programOf(context: ProgramContext): Application<ProgramContext> {
  if (context.program === undefined) {
    throw new Error("__complete was called without the full parser");
  }
  return context.program;
}
