/**
 * The command line's route map: every verb by name, each declared in its
 * own `verbs/VERB_command.ts` beside its implementation, which Stricli's
 * `loader` imports once the verb has been parsed. The hidden roles (the
 * agent, the completion scripts' `__complete`) are routes like the others.
 *
 * Stricli was chosen because it imports no `node:` module and needs no
 * start-up work: a parser is on the path of every call (see the README's
 * Performance section). For the same reason `--version`, `--help` and
 * argument errors load none of the library: the grammar modules import
 * only the value parsers.
 *
 * Adding a verb: its grammar in `verbs/VERB_command.ts`, its handler in
 * `verbs/VERB.ts` (made a command function by `verb` of `context.ts`), a
 * line here, the README and its tests.
 *
 * @module
 */
import {
  type Application,
  type ApplicationText,
  buildApplication,
  buildRouteMap,
} from "@stricli/core";
import { type ProgramContext, VERSION } from "./context.ts";
import { open, run } from "./verbs/run_command.ts";
import { keys, send } from "./verbs/input_command.ts";
import { logs, screen, wait } from "./verbs/read_command.ts";
import { close, list, status } from "./verbs/manage_command.ts";
import { history, result } from "./verbs/history_command.ts";
import { events } from "./verbs/events_command.ts";
import { forward } from "./verbs/forward_command.ts";
import { record } from "./verbs/record_command.ts";
import { cp } from "./verbs/cp_command.ts";
import { secret } from "./verbs/secret_command.ts";
import { attach, detach, watch } from "./verbs/attach_command.ts";
import { complete, completions } from "./verbs/completions_command.ts";
import { mcp } from "./verbs/mcp_command.ts";
import { agent } from "./verbs/agent_command.ts";

export { type ProgramContext, VERSION } from "./context.ts";

/**
 * Builds the sessh command line.
 *
 * @param text Stricli's text, with sessh's argument errors (`usage_text.ts`).
 * @returns The Stricli application; run it with a {@linkcode ProgramContext}.
 *
 * @example
 * ```ts ignore
 * import { run } from "@stricli/core";
 * import { buildProgram } from "./program.ts";
 * await run(buildProgram(usageText(onError)), ["list", "host"], context);
 * ```
 */
export function buildProgram(
  text: ApplicationText,
): Application<ProgramContext> {
  return buildApplication(
    buildRouteMap({
      routes: {
        open,
        run,
        send,
        keys,
        logs,
        screen,
        wait,
        status,
        history,
        result,
        events,
        forward,
        record,
        cp,
        secret,
        list,
        close,
        attach,
        watch,
        detach,
        completions,
        mcp,
        __complete: complete,
        agent,
      },
      aliases: { pane: "screen" },
      docs: {
        hideRoute: { __complete: true, agent: true },
        brief: "Persistent remote shells over ssh, for agents and humans",
        fullDescription:
          "Put --json anywhere before -- for one JSON object on stdout.\n" +
          "sessh help VERB (or sessh VERB --help) lists a verb's options.",
      },
    }),
    {
      name: "sessh",
      versionInfo: { currentVersion: VERSION },
      scanner: {
        caseStyle: "allow-kebab-for-camel",
        // Suggest only near misses (a typo, not any short word).
        distanceOptions: {
          threshold: 4,
          weights: {
            insertion: 1,
            deletion: 3,
            substitution: 2,
            transposition: 0,
          },
        },
      },
      documentation: {
        caseStyle: "convert-camel-to-kebab",
        disableAnsiColor: true,
      },
      localization: { loadText: () => text },
    },
  );
}
