/**
 * `open` and `run`: start a session, and type a command into it and wait
 * for its end.
 *
 * @module
 */
import { runJson } from "../../report/result_json.ts";
import type { Forward } from "../../ssh/forwards.ts";
import { UsageError } from "../../errors.ts";
import {
  type CallContext,
  type CommonFlags,
  connect,
  type Outcome,
  payloadOf,
  releaseAfterOutput,
  remaining,
  setUpForwards,
  type Target,
  timeoutFlag,
} from "../call.ts";
import { type FleetFlags, targetHostsVerb } from "../hosts.ts";

/** Options of `open` (and of `run`, which opens a missing session). */
export interface OpenFlags extends CommonFlags {
  /** Shell to start instead of the login shell. */
  shell?: string;
  /** Leave out the pager variables (`--no-agent-env`). */
  noAgentEnv?: boolean;
  /** Output buffer in bytes. */
  bufferSize?: number;
  /** Terminal width. */
  cols?: number;
  /** Terminal height. */
  rows?: number;
  /** TERM. */
  term?: string;
  /** Close after this many milliseconds without input or output. */
  idleTimeout?: number;
  /** Forwards to set up through the master (`L:…`, `R:…`, `D:…`). */
  forward?: readonly Forward[];
}

function openOptions(flags: OpenFlags) {
  return {
    shell: flags.shell,
    agentEnv: !flags.noAgentEnv,
    bufferSize: flags.bufferSize,
    cols: flags.cols,
    rows: flags.rows,
    term: flags.term,
    idleTimeoutMs: flags.idleTimeout,
  };
}

/**
 * `open NAME DEST`: create the session or reuse it.
 *
 * @param t NAME DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function openCommand(
  t: Target,
  flags: OpenFlags,
): Promise<Outcome> {
  const options = openOptions(flags);
  await using client = await connect(t, flags);
  const { created, session } = await client.open(t.name, options);
  await setUpForwards(client, flags.forward, t, flags);
  return {
    op: "open",
    fields: { name: t.name, created, pid: session.pid, shell: session.shell },
    text: `${
      created ? "opened" : "reusing"
    } session ${t.name} (pid ${session.pid}, ${session.shell})\n`,
    exitCode: 0,
  };
}

/** Options of `run`. */
export interface RunFlags extends OpenFlags {
  /** Deadline in milliseconds. */
  timeout?: number;
  /** Type the command and return without waiting (`--no-wait`). */
  noWait?: boolean;
  /** Interrupt a running command. */
  force?: boolean;
  /** Bound on the output in bytes. */
  maxOutput?: number;
}

/**
 * `run NAME DEST -- COMMAND…`: type a command and wait for it.
 *
 * @param t NAME DEST [PORT].
 * @param payload The words after `--`.
 * @param flags Options.
 * @param call Environment for `SESSH_TIMEOUT`, and the call's deadline.
 * @returns The outcome; the exit code is the command's.
 */
export async function runCommand(
  t: Target,
  payload: string[] | null,
  flags: RunFlags,
  call: CallContext,
): Promise<Outcome> {
  const env = call.env;
  const command = payloadOf("run", payload).join(" ");
  if (command.trim() === "") {
    throw new UsageError(
      "Empty command; put it after --: sessh run NAME DEST -- COMMAND",
    );
  }
  const timeoutMs = timeoutFlag(flags, env);
  const deadline = performance.now() + timeoutMs;
  call.endBy(timeoutMs);
  const maxOutput = flags.maxOutput;
  await using held = new AsyncDisposableStack();
  const client = held.use(
    await connect(t, flags, { budgetMs: timeoutMs, delivers: true }),
  );
  await setUpForwards(client, flags.forward, t, flags);
  const result = await client.session(t.name).run(command, {
    timeoutMs: remaining(deadline),
    wait: !flags.noWait,
    force: flags.force,
    maxOutput,
    open: openOptions(flags),
    signal: call.cancel,
  });
  // Its output is printed before the connection closes: closing, and after
  // a cold call starting the agent for the next, took 10-30 ms.
  await releaseAfterOutput(held.move(), call);
  const fields = { name: t.name, ...runJson(result) };
  const where = `${t.name} ${t.dest}`;
  const notices: string[] = [];
  if (result.truncated) {
    notices.push(
      `sessh: output truncated in the middle; all of it: sessh logs ${where} --since ${result.outputStart} --raw`,
    );
  }
  if (result.evicted) {
    notices.push(
      "sessh: the start of this output had already left the session's buffer",
    );
  }
  if (flags.noWait) {
    return {
      op: "run",
      fields,
      text: "",
      notice:
        `sessh: typed into ${t.name}; output: sessh logs ${where} --since ${result.cursor}`,
      exitCode: 0,
    };
  }
  if (result.running) {
    notices.push(
      `sessh: still running after ${
        timeoutMs / 1000
      } s; more output: sessh logs ${where} --since ${result.cursor}; ` +
        `wait for it: sessh wait ${where} --done`,
    );
    return {
      op: "run",
      fields,
      text: result.output,
      notice: notices.join("\n"),
      exitCode: 124,
    };
  }
  if (result.shellExit !== null) {
    notices.push(
      `sessh: the shell exited with status ${result.shellExit}; session ${t.name} is gone`,
    );
  }
  if (result.superseded) {
    notices.push(
      `sessh: command ${result.commandId} was interrupted by a later run --force before it finished`,
    );
  }
  return {
    op: "run",
    fields,
    text: result.output,
    notice: notices.join("\n") || undefined,
    exitCode: result.exitCode ?? 1,
  };
}

/** `open`, as its grammar in `run_command.ts` calls it. */
export const open = targetHostsVerb<OpenFlags & FleetFlags>(
  "open",
  openCommand,
);

/** `run`, as its grammar in `run_command.ts` calls it. */
export const run = targetHostsVerb<RunFlags & FleetFlags>(
  "run",
  (t, flags, context) => runCommand(t, context.payload, flags, context),
);
