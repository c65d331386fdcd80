/**
 * Conversion of the daemon's wire maps (snake_case) into sessh's types.
 *
 * @module
 */
import type { Message } from "../protocol/frame.ts";
import type { SessionInfo } from "../types.ts";
import { waitingForInput } from "./waiting_input.ts";

/**
 * Reads a session description from the wire. Whether the session waits for
 * input is judged here from the end of its output (`tail`); a daemon of an
 * older helper reports it as `waiting_input` instead.
 *
 * @param m The daemon's map.
 * @returns The session description.
 *
 * @example
 * ```ts
 * import { sessionInfo } from "./wire.ts";
 * console.log(sessionInfo({ name: "a", pid: 1 }).name); // "a"
 * ```
 */
export function sessionInfo(m: Message): SessionInfo {
  const running = Boolean(m.running);
  const command = m.command == null ? null : String(m.command);
  return {
    name: String(m.name),
    pid: Number(m.pid),
    shell: String(m.shell ?? ""),
    created: new Date(Number(m.created ?? 0)),
    lastActivity: new Date(Number(m.last_activity ?? 0)),
    cols: Number(m.cols ?? 0),
    rows: Number(m.rows ?? 0),
    bufferStart: Number(m.buffer_start ?? 0),
    bufferEnd: Number(m.buffer_end ?? 0),
    bufferSize: Number(m.buffer_size ?? 0),
    running,
    command,
    waitingInput: m.tail instanceof Uint8Array
      ? waitingForInput({ running, command, tail: m.tail })
      : Boolean(m.waiting_input),
    cwd: m.cwd == null ? null : String(m.cwd),
    unknown: Array.isArray(m.unknown) ? m.unknown.map(String) : [],
    lastExit: m.last_exit == null ? null : Number(m.last_exit),
    integrated: Boolean(m.integrated),
    attached: Boolean(m.attached),
    detachedAt: m.detached_at == null ? null : new Date(Number(m.detached_at)),
    idleDeadline: m.idle_deadline == null
      ? null
      : new Date(Number(m.idle_deadline)),
    lost: Boolean(m.lost),
    lostAt: m.lost_at == null ? null : new Date(Number(m.lost_at)),
  };
}

/**
 * A byte field from the wire (msgpack bin), as a Uint8Array.
 *
 * @param value The field.
 * @returns Its bytes (empty when missing).
 *
 * @example
 * ```ts
 * import { bytesField } from "./wire.ts";
 * console.log(bytesField(undefined).length); // 0
 * ```
 */
export function bytesField(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return new TextEncoder().encode(value);
  return new Uint8Array(0);
}
