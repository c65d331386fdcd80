/**
 * The results of the session calls as JSON objects with snake_case keys: the
 * one shape `--json` prints and the MCP tools return as structured content.
 *
 * @module
 */
import type {
  LogsResult,
  RunResult,
  ScreenResult,
  WaitResult,
} from "../session/session.ts";
import type { CommandRecord, CommandResult } from "../session/history.ts";
import type { OpenResult } from "../session/open.ts";
import type { TransferResult } from "../session/files.ts";
import type {
  COMMAND_RECORD,
  COMMAND_RESULT,
  FILE_TRANSFER,
  JsonOf,
  LOGS_RESULT,
  OPEN_RESULT,
  RUN_RESULT,
  SCREEN_RESULT,
  WAIT_RESULT,
} from "./shapes.ts";

/**
 * A `run`'s result.
 *
 * @param result The result.
 * @returns Its JSON fields.
 */
export function runJson(result: RunResult): JsonOf<typeof RUN_RESULT> {
  return {
    command_id: result.commandId,
    exit_code: result.exitCode,
    output: result.output,
    truncated: result.truncated,
    cursor: result.cursor,
    output_start: result.outputStart,
    running: result.running,
    duration_ms: result.durationMs,
    created: result.created,
    shell_exited: result.shellExit !== null,
    superseded: result.superseded,
  };
}

/**
 * A `wait`'s result.
 *
 * @param result The result.
 * @returns Its JSON fields.
 */
export function waitJson(result: WaitResult): JsonOf<typeof WAIT_RESULT> {
  return {
    met: result.met,
    match: result.match,
    output: result.output,
    cursor: result.cursor,
    exit_code: result.exitCode,
    command_id: result.commandId,
    shell_exit: result.shellExit,
    evicted: result.evicted,
  };
}

/**
 * One command of the history.
 *
 * @param command The command.
 * @returns Its JSON fields.
 *
 * @example
 * ```ts
 * import { commandJson } from "./result_json.ts";
 * const json = commandJson({
 *   commandId: 3, command: "make", outputStart: 10, outputEnd: 90,
 *   exitCode: 0, running: false, superseded: false,
 *   startedAt: new Date(0), endedAt: new Date(1500), durationMs: 1500,
 * });
 * console.log(json.command_id, json.duration_ms); // 3 1500
 * ```
 */
export function commandJson(
  command: CommandRecord,
): JsonOf<typeof COMMAND_RECORD> {
  return {
    command_id: command.commandId,
    command: command.command,
    exit_code: command.exitCode,
    running: command.running,
    superseded: command.superseded,
    output_start: command.outputStart,
    output_end: command.outputEnd,
    started: command.startedAt.toISOString(),
    ended: command.endedAt?.toISOString() ?? null,
    duration_ms: command.durationMs,
  };
}

/**
 * One command with its output, as `result` returns it.
 *
 * @param result The command and its output.
 * @returns Its JSON fields.
 */
export function commandResultJson(
  result: CommandResult,
): JsonOf<typeof COMMAND_RESULT> {
  return {
    ...commandJson(result),
    output: result.output,
    truncated: result.truncated,
    evicted: result.evicted,
    cursor: result.cursor,
  };
}

/**
 * An `open`'s result: whether it started the session, the shell and its pid.
 *
 * @param opened The result.
 * @returns Its JSON fields.
 */
export function openJson(opened: OpenResult): JsonOf<typeof OPEN_RESULT> {
  return {
    created: opened.created,
    pid: opened.session.pid,
    shell: opened.session.shell,
  };
}

/**
 * An upload's or download's result.
 *
 * @param copied The result.
 * @returns Its JSON fields.
 */
export function transferJson(
  copied: TransferResult,
): JsonOf<typeof FILE_TRANSFER> {
  return {
    remote_path: copied.remotePath,
    local_path: copied.localPath,
    bytes: copied.bytes,
    resumed_from: copied.resumedFrom,
  };
}

/**
 * A `logs` read: the text, the cursor to read on from, and whether part was
 * evicted or cut.
 *
 * @param logs The result.
 * @returns Its JSON fields.
 */
export function logsJson(logs: LogsResult): JsonOf<typeof LOGS_RESULT> {
  return {
    output: logs.output,
    cursor: logs.cursor,
    evicted: logs.evicted,
    truncated: logs.truncated,
  };
}

/**
 * The screen as the MCP `screen` tool returns it, the cursor in two fields.
 *
 * @param screen The screen.
 * @returns Its JSON fields.
 */
export function screenJson(screen: ScreenResult): JsonOf<typeof SCREEN_RESULT> {
  return {
    lines: screen.lines,
    cursor_row: screen.cursor.row,
    cursor_col: screen.cursor.col,
    cols: screen.cols,
    rows: screen.rows,
    alt_screen: screen.altScreen,
  };
}
