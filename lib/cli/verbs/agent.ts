/**
 * `agent CONTROL_DIR`: the local agent, started detached by a call; it
 * runs until it has been idle long enough (see `lib/agent/server.ts`).
 *
 * @module
 */
import { verb } from "../context.ts";
import { useExitBoundTimers } from "../../timer.ts";
import { armWith } from "../../interrupt.ts";

/** `agent`, as its grammar in `agent_command.ts` calls it. */
export const agent = verb(async (_, _flags, controlDir: string) => {
  // A long-lived process: its timers must be cancellable.
  useExitBoundTimers(false);
  // Nobody reads its report: a signal ends it with the default action,
  // not with the command line's account of a stopped call.
  armWith(undefined);
  const { runAgent } = await import("../../agent/server.ts");
  await runAgent({ controlDir });
  return { op: "agent", fields: {}, text: "", exitCode: 0 };
});
