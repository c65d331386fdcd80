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

/** `agent`, as its grammar in `agent_command.ts` calls it. */
export const agent = verb(async (_, _flags, controlDir: string) => {
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
  return { op: "agent", fields: {}, text: "", exitCode: 0 };
});
