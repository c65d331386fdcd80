/**
 * `agent CONTROL_DIR`: the local agent, started detached by a call; it
 * runs until it has been idle long enough (see `lib/agent/server.ts`).
 *
 * @module
 */
import { verb } from "../context.ts";
import { useExitBoundTimers } from "../../timer.ts";
import { armWith } from "../../interrupt.ts";
import { stopTracing } from "../../phases.ts";

/**
 * Serves as the local agent of `controlDir` until it is idle or retired.
 * `cli.ts` calls it directly for the argv a call starts the agent with, so
 * that the agent never loads the parser (Stricli and every grammar): what a
 * long-lived process compiles it holds for its whole life (issue 21).
 *
 * @param controlDir The control directory it serves.
 * @returns The exit code: 0.
 *
 * @example
 * ```ts ignore
 * import { serveAgent } from "./agent.ts";
 * await serveAgent("/run/user/1000/sessh");
 * ```
 */
export async function serveAgent(controlDir: string): Promise<number> {
  // A long-lived process: its timers must be cancellable.
  useExitBoundTimers(false);
  // Nobody reads its report: a signal ends it with the default action,
  // not with the command line's account of a stopped call.
  armWith(undefined);
  // Calls it runs for thin clients are the clients' to trace, not its own:
  // marks kept here would only grow.
  stopTracing();
  const { runAgent } = await import("../../agent/server.ts");
  await runAgent({
    controlDir,
    // The verbs load with the first thin call, not at the agent's start.
    runCall: async (call, io) =>
      (await import("../agent_call.ts")).runThinCall(call, io),
  });
  return 0;
}

/** `agent`, as its grammar in `agent_command.ts` calls it. */
export const agent = verb(async (_, _flags, controlDir: string) => {
  await serveAgent(controlDir);
  return { op: "agent", fields: {}, text: "", exitCode: 0 };
});
