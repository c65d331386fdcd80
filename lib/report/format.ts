/**
 * Human-readable and JSON shapes of session descriptions.
 *
 * @module
 */
import type { SessionInfo } from "../types.ts";
import type { CallPath } from "../session/client.ts";
import type { CALL_PATH, JsonOf, SESSION_INFO } from "./shapes.ts";

/**
 * A session description with snake_case keys, as `status --json` and `list --json`
 * print it.
 *
 * @param info The session.
 * @returns The JSON object.
 *
 * @example
 * ```ts ignore
 * import { statusJson } from "./format.ts";
 * console.log(statusJson(info).shell_pid);
 * ```
 */
export function statusJson(info: SessionInfo): JsonOf<typeof SESSION_INFO> {
  return {
    name: info.name,
    alive: !info.lost,
    shell_pid: info.lost ? null : info.pid,
    shell: info.shell,
    running: info.running,
    command: info.command,
    waiting_input: info.waitingInput,
    cwd: info.cwd,
    unknown: info.unknown,
    last_exit: info.lastExit,
    created: info.created.toISOString(),
    last_activity: info.lost ? null : info.lastActivity.toISOString(),
    cols: info.cols,
    rows: info.rows,
    buffer_used: info.bufferEnd - info.bufferStart,
    buffer_size: info.bufferSize,
    cursor: info.bufferEnd,
    attached: info.attached,
    detached_at: info.detachedAt?.toISOString() ?? null,
    idle_deadline: info.idleDeadline?.toISOString() ?? null,
    lost: info.lost,
    lost_at: info.lostAt?.toISOString() ?? null,
  };
}

/**
 * How a call reached the daemon, as `status --json` prints it in `path`.
 *
 * @param path The client's call path.
 * @returns The JSON object.
 *
 * @example
 * ```ts
 * import { callPathJson } from "./format.ts";
 * const path = { transport: "direct", warm: false, reason: "SESSH_AGENT=0", agentPid: null } as const;
 * console.log(callPathJson(path).transport); // "direct"
 * ```
 */
export function callPathJson(path: CallPath): JsonOf<typeof CALL_PATH> {
  return {
    transport: path.transport,
    warm: path.warm,
    reason: path.reason,
    agent_pid: path.agentPid,
  };
}

/**
 * `status` as `key: value` lines.
 *
 * @param info The session.
 * @param master The ControlMaster's state; null when the call goes without one.
 * @param path How the call reached the daemon (its transport, warm or
 *   direct, and why).
 * @returns The text.
 */
export function formatStatus(
  info: SessionInfo,
  master: { alive: boolean; pid: number | null } | null,
  path?: CallPath,
): string {
  const rows: [string, string][] = [
    [
      "master",
      master === null
        ? "none (SESSH_CONTROL_MASTER=no)"
        : master.alive
        ? `alive${master.pid ? ` (pid ${master.pid})` : ""}`
        : "down",
    ],
    ...(path
      ? [
        [
          "transport",
          path.transport === "direct"
            ? "direct (a plain ssh connection, no ControlMaster)"
            : "controlmaster",
        ] as [string, string],
        [
          "call path",
          path.warm
            ? `warm, through the local agent (pid ${path.agentPid})`
            : `direct: ${path.reason}`,
        ] as [string, string],
      ]
      : []),
    [
      "session",
      info.lost
        ? `${info.name} lost (found at ${
          (info.lostAt ?? new Date(0)).toISOString()
        })`
        : `${info.name} alive`,
    ],
    ["shell", `${info.shell} (pid ${info.pid})`],
    [
      "running",
      info.running
        ? info.command ??
          (info.unknown.includes("command")
            ? "yes (the command is unknown on this host)"
            : "yes")
        : "no",
    ],
    ["waiting for input", info.waitingInput ? "yes" : "no"],
    ["cwd", info.cwd ?? "unknown"],
    ["last exit", info.lastExit === null ? "none" : String(info.lastExit)],
    ["created", info.created.toISOString()],
    [
      "last activity",
      `${info.lastActivity.toISOString()} (${ago(info.lastActivity)} ago)`,
    ],
    ["size", `${info.cols}x${info.rows}`],
    [
      "buffer",
      `${
        info.bufferEnd - info.bufferStart
      } of ${info.bufferSize} bytes (cursor ${info.bufferEnd})`,
    ],
    ["attached", info.attached ? "yes" : "no"],
    ...(info.idleDeadline === null ? [] : [[
      "closes when idle at",
      info.idleDeadline.toISOString(),
    ] as [string, string]]),
  ];
  return rows.map(([k, v]) => `${k}: ${v}`).join("\n") + "\n";
}

/**
 * `list` as a table.
 *
 * @param sessions The sessions.
 * @returns The text.
 */
export function formatList(sessions: SessionInfo[]): string {
  if (sessions.length === 0) return "no sessions\n";
  const table = listTable(sessions);
  const widths = table[0].map((_, i) =>
    Math.max(...table.map((r) => r[i].length))
  );
  return table.map((r) =>
    r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  ")
      .trimEnd()
  )
    .join("\n") + "\n";
}

/**
 * The rows of `list`'s table, header first, as text cells.
 *
 * @param sessions The sessions.
 * @returns The rows.
 *
 * @example
 * ```ts
 * import { listTable } from "./format.ts";
 * console.log(listTable([])); // [["NAME", "PID", "IDLE", "STATE", "WHAT"]]
 * ```
 */
export function listTable(sessions: SessionInfo[]): string[][] {
  const table = [["NAME", "PID", "IDLE", "STATE", "WHAT"]];
  for (const s of sessions) {
    if (s.lost) {
      // Its daemon died with it: it shows when that was found and what ran.
      table.push([s.name, "-", ago(s.lostAt ?? new Date(0)), "lost", s.shell]);
      continue;
    }
    const state = s.attached ? "attached" : s.running ? "busy" : "idle";
    table.push([
      s.name,
      String(s.pid),
      ago(s.lastActivity),
      state,
      (s.command ?? s.cwd ?? "") +
      (s.idleDeadline === null
        ? ""
        : ` (closes if idle at ${s.idleDeadline.toISOString().slice(11, 19)})`),
    ]);
  }
  return table;
}

function ago(time: Date): string {
  const s = Math.max(0, Math.round((Date.now() - time.getTime()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
