/**
 * The full parser: Stricli with every verb's grammar (`program.ts`), for
 * every call that the fast path (`fast_path.ts`) declines. It is loaded by
 * dynamic import, so that the commonest warm `run` does without it.
 *
 * @module
 */
import { run } from "@stricli/core";
import { misplacedPayload } from "./payload_hint.ts";
import { buildProgram, type ProgramContext } from "./program.ts";
import { usageText } from "./usage_text.ts";

export { ArgumentError, usageError } from "./usage_text.ts";

/**
 * Parses `words` and runs the verb they name, with the command line's
 * `context` and the program itself for `__complete`.
 *
 * @param words The arguments before `--`, without a leading `--json`.
 * @param head The arguments before `--` as given, for the payload hint.
 * @param verb The verb named, or `""`.
 * @param context What the handlers need, all but the program, and where
 *   argument errors go.
 * @throws {UsageError} When words of the payload came before `--`.
 */
export async function parseAndRun(
  words: string[],
  head: string[],
  verb: string,
  context: Omit<ProgramContext, "program"> & {
    /** Receives each argument error, which the caller reports. */
    onArgumentError(error: unknown): void;
  },
): Promise<void> {
  const program = buildProgram(usageText(context.onArgumentError));
  const slip = misplacedPayload(
    head,
    context.payload,
    verb,
    grammarOf(program, verb),
  );
  if (slip) throw slip;
  await run(program, words, { ...context, program });
}

/** The flags and aliases of a verb, for {@linkcode misplacedPayload}. */
function grammarOf(program: ReturnType<typeof buildProgram>, verb: string) {
  const root = program.root;
  const target = "getRoutingTargetForInput" in root
    ? root.getRoutingTargetForInput(verb)
    : undefined;
  return target && "parameters" in target ? target.parameters : {};
}
