/**
 * The fields of each record that crosses to JSON, once: the `--json` output
 * and the MCP tools' structured content are built by the mappings in
 * `result_json.ts` and `format.ts`, and the MCP output schemas are derived
 * from these descriptors (`lib/mcp/output_schema.ts`), so the three cannot
 * drift apart. Plain data, not zod: this module is on the command line's
 * start-up path, where zod must not load.
 *
 * @module
 */

/** A JSON field's type; a trailing `?` means it may also be `null`. */
export type FieldType =
  | "number"
  | "number?"
  | "string"
  | "string?"
  | "boolean"
  | "string[]";

/** A record's fields, by their snake_case JSON names. */
export type Shape = Readonly<Record<string, FieldType>>;

/** A `run`'s result (`runJson`). */
export const RUN_RESULT = {
  command_id: "number",
  exit_code: "number?",
  output: "string",
  truncated: "boolean",
  cursor: "number",
  output_start: "number",
  running: "boolean",
  duration_ms: "number",
  created: "boolean",
  shell_exited: "boolean",
  superseded: "boolean",
} as const satisfies Shape;

/** A `wait`'s result (`waitJson`). */
export const WAIT_RESULT = {
  met: "boolean",
  match: "string?",
  output: "string",
  cursor: "number",
  exit_code: "number?",
  command_id: "number?",
  shell_exit: "number?",
  evicted: "boolean",
} as const satisfies Shape;

/** One command of the history (`commandJson`). */
export const COMMAND_RECORD = {
  command_id: "number",
  command: "string",
  exit_code: "number?",
  running: "boolean",
  superseded: "boolean",
  output_start: "number",
  output_end: "number?",
  started: "string",
  ended: "string?",
  duration_ms: "number?",
} as const satisfies Shape;

/** One command with its output, as `result` returns it (`commandResultJson`). */
export const COMMAND_RESULT = {
  ...COMMAND_RECORD,
  output: "string",
  truncated: "boolean",
  evicted: "boolean",
  cursor: "number",
} as const satisfies Shape;

/** A session's description, in `status` and `list` (`statusJson`). */
export const SESSION_INFO = {
  name: "string",
  alive: "boolean",
  shell_pid: "number?",
  shell: "string",
  running: "boolean",
  command: "string?",
  waiting_input: "boolean",
  cwd: "string?",
  unknown: "string[]",
  last_exit: "number?",
  created: "string",
  last_activity: "string?",
  cols: "number",
  rows: "number",
  buffer_used: "number",
  buffer_size: "number",
  cursor: "number",
  attached: "boolean",
  detached_at: "string?",
  idle_deadline: "string?",
  lost: "boolean",
  lost_at: "string?",
} as const satisfies Shape;

/**
 * How a call reached the daemon, in `status` (`callPathJson`): `transport`
 * is `"controlmaster"` or `"direct"` (a plain ssh connection,
 * `SESSH_CONTROL_MASTER=no`); `warm` when the local agent lent the bridge.
 */
export const CALL_PATH = {
  transport: "string",
  warm: "boolean",
  reason: "string?",
  agent_pid: "number?",
} as const satisfies Shape;

/** An `open`'s result (`openJson`). */
export const OPEN_RESULT = {
  created: "boolean",
  pid: "number?",
  shell: "string",
} as const satisfies Shape;

/** An upload's or download's result (`transferJson`). */
export const FILE_TRANSFER = {
  remote_path: "string",
  local_path: "string",
  bytes: "number",
  resumed_from: "number",
} as const satisfies Shape;

/** A `logs` read's result (`logsJson`). */
export const LOGS_RESULT = {
  output: "string",
  cursor: "number",
  evicted: "boolean",
  truncated: "boolean",
} as const satisfies Shape;

/** The MCP `screen` tool's result (`screenJson`). */
export const SCREEN_RESULT = {
  lines: "string[]",
  cursor_row: "number",
  cursor_col: "number",
  cols: "number",
  rows: "number",
  alt_screen: "boolean",
} as const satisfies Shape;

/** The MCP `send` tool's result: the bytes typed. */
export const SEND_RESULT = { bytes: "number" } as const satisfies Shape;

/** The MCP `keys` tool's result: the keys pressed. */
export const KEYS_RESULT = { keys: "string[]" } as const satisfies Shape;

/** The MCP `type_secret` tool's result. */
export const SECRET_RESULT = { typed: "boolean" } as const satisfies Shape;

/** The MCP `close` tool's result: the shell's exit status, if it had one. */
export const CLOSE_RESULT = { status: "number?" } as const satisfies Shape;

/**
 * One host's line of a fan-out (`--hosts`): these fields, then either the
 * verb's own record (`RUN_RESULT` for `run`) or an `error` object.
 */
export const FLEET_HOST = {
  host: "string",
  ok: "boolean",
  op: "string",
} as const satisfies Shape;

/** The last line of a fan-out: how the hosts ended (`fleetSummaryJson`). */
export const FLEET_SUMMARY = {
  ok: "boolean",
  op: "string",
  hosts: "number",
  succeeded: "string[]",
  failed: "string[]",
  timed_out: "string[]",
  exit_code: "number",
} as const satisfies Shape;

/** The TypeScript type a field type stands for. */
type ValueOf<T extends FieldType> = T extends "number" ? number
  : T extends "number?" ? number | null
  : T extends "string" ? string
  : T extends "string?" ? string | null
  : T extends "string[]" ? string[]
  : boolean;

/**
 * The JSON object a descriptor describes: each mapping returns this type, so
 * a field added to the descriptor and not to the mapping fails to compile.
 *
 * @example
 * ```ts
 * import { type JsonOf, OPEN_RESULT } from "./shapes.ts";
 * const opened: JsonOf<typeof OPEN_RESULT> = {
 *   created: true, pid: 42, shell: "bash",
 * };
 * console.log(opened.pid); // 42
 * ```
 */
export type JsonOf<S extends Shape> = {
  -readonly [K in keyof S]: ValueOf<S[K]>;
};
