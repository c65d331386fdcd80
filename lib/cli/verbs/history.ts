/**
 * `history` and `result`: the commands `run` typed into a session, and one
 * of them by id with its exit status and output, for polling a long job
 * instead of waiting on it.
 *
 * @module
 */
import type { CommandRecord } from "../../session/history.ts";
import { commandJson, commandResultJson } from "../../report/result_json.ts";
import {
  type CommonFlags,
  connect,
  type Outcome,
  type Target,
} from "../call.ts";
import { targetVerb } from "../context.ts";
import { type FleetFlags, hostsVerb } from "../hosts.ts";

/** Options of `result`. */
export interface ResultFlags extends CommonFlags {
  /** Bound on the output in bytes. */
  maxOutput?: number;
}

/**
 * The history as a table: id, exit status, how long, when, the command's
 * first line.
 *
 * @param commands The commands, oldest first.
 * @returns The table, one line per command.
 *
 * @example
 * ```ts
 * import { formatHistory } from "./history.ts";
 * console.log(formatHistory([]));  // "no commands yet\n"
 * ```
 */
export function formatHistory(commands: CommandRecord[]): string {
  if (commands.length === 0) return "no commands yet\n";
  const rows = [["ID", "EXIT", "TIME", "STARTED", "COMMAND"]];
  for (const c of commands) {
    rows.push([
      String(c.commandId),
      c.running
        ? "running"
        : c.superseded
        ? "superseded"
        : String(c.exitCode ?? "-"),
      c.durationMs === null ? "-" : `${(c.durationMs / 1000).toFixed(1)}s`,
      c.startedAt.toISOString().replace("T", " ").slice(0, 19),
      c.command.split("\n")[0] + (c.command.includes("\n") ? " …" : ""),
    ]);
  }
  const widths = rows[0].map((_, i) =>
    Math.max(...rows.map((row) => row[i].length))
  );
  return rows.map((row) =>
    row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i]))
      .join("  ")
  ).join("\n") + "\n";
}

/**
 * `history NAME DEST`: the last commands `run` typed into the session.
 *
 * @param t NAME DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function historyCommand(
  t: Target,
  flags: CommonFlags,
): Promise<Outcome> {
  await using client = await connect(t, flags);
  const commands = await client.session(t.name).history();
  return {
    op: "history",
    fields: { name: t.name, commands: commands.map(commandJson) },
    text: formatHistory(commands),
    exitCode: 0,
  };
}

/**
 * `result NAME DEST [ID]`: one command by id (default: the latest), with
 * its output; exits with its status, or 124 while it still runs.
 *
 * @param t NAME DEST [PORT].
 * @param commandId The command's id, or undefined for the latest.
 * @param flags Options.
 * @returns The outcome.
 */
export async function resultCommand(
  t: Target,
  commandId: number | undefined,
  flags: ResultFlags,
): Promise<Outcome> {
  await using client = await connect(t, flags);
  const result = await client.session(t.name).result({
    commandId,
    maxOutput: flags.maxOutput,
  });
  const notices: string[] = [];
  if (result.evicted) {
    notices.push(
      "sessh: the start of this command's output has left the buffer; this is what remains",
    );
  }
  if (result.truncated) {
    notices.push(
      `sessh: output truncated in the middle; read all of it with sessh logs ${t.name} ${t.dest} --since ${result.outputStart} --raw`,
    );
  }
  if (result.running) {
    notices.push(
      `sessh: command ${result.commandId} is still running; ask again, or wait with sessh wait ${t.name} ${t.dest} --done`,
    );
  } else if (result.superseded) {
    notices.push(
      `sessh: command ${result.commandId} was interrupted by a later run --force`,
    );
  }
  return {
    op: "result",
    fields: { name: t.name, ...commandResultJson(result) },
    text: result.output,
    notice: notices.join("\n") || undefined,
    exitCode: result.running ? 124 : result.exitCode ?? 1,
  };
}

/** `history`, as its grammar in `history_command.ts` calls it. */
export const history = targetVerb(historyCommand);

/** `result`, as its grammar in `history_command.ts` calls it. */
export const result = hostsVerb("result", 1, (
  _,
  flags: ResultFlags & FleetFlags,
  name: string,
  dest: string,
  id: number | undefined,
  port: string | undefined,
) => resultCommand({ name, dest, port }, id, flags));
