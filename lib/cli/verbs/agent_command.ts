/**
 * The grammar of `agent`, a hidden role: the local agent that a call
 * starts detached (see `lib/agent/`). What it does is in `agent.ts`.
 *
 * @module
 */
import { buildCommand } from "@stricli/core";
import type { ProgramContext } from "../context.ts";

/** `agent CONTROL_DIR`. */
export const agent = buildCommand<
  Record<never, never>,
  [string],
  ProgramContext
>({
  loader: async () => (await import("./agent.ts")).agent,
  parameters: {
    positional: {
      kind: "tuple",
      parameters: [{
        brief: "the control directory it serves",
        parse: String,
        placeholder: "CONTROL_DIR",
      }],
    },
  },
  docs: { brief: "serve warm connections to the calls of this user" },
});
