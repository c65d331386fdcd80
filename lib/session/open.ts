/**
 * Opening a session: its options, what the daemon reports, and the request
 * that carries them (also sent by `run`, which opens a missing session).
 *
 * @module
 */
import type { Message } from "../protocol/frame.ts";
import type { SessionInfo } from "../types.ts";
import type { Connection } from "../transport/connection.ts";
import { sessionInfo } from "./wire.ts";
import { OPS } from "../contract/spec.ts";

/** What opening a session reports. */
export interface OpenResult {
  /** Whether this call started the session (false: it already existed). */
  created: boolean;
  /** The session as the daemon describes it. */
  session: SessionInfo;
}

/** Options for starting a session. */
export interface OpenOptions {
  /**
   * Shell to start instead of the user's login shell, e.g. `zsh`: one the
   * host lists in `/etc/shells`, or the call fails with `bad_shell`.
   */
  shell?: string;
  /**
   * Set `PAGER=cat`, `GIT_PAGER=cat`, `MANPAGER=cat`, `SYSTEMD_PAGER=`.
   * @default {true}
   */
  agentEnv?: boolean;
  /** Terminal type; `xterm-256color` when missing or `dumb`. */
  term?: string;
  /**
   * Terminal width.
   * @default {160}
   */
  cols?: number;
  /**
   * Terminal height.
   * @default {48}
   */
  rows?: number;
  /**
   * Output buffer capacity in bytes.
   * @default {1048576}
   */
  bufferSize?: number;
  /** Extra environment variables for the shell. */
  env?: Record<string, string>;
  /**
   * Close the session once no input or output came for this many
   * milliseconds; its history and last output stay readable (`result`,
   * `history`, `logs`) until it is opened again.
   */
  idleTimeoutMs?: number;
}

/**
 * The wire fields of an `open` request.
 *
 * @param name Session name.
 * @param options Open options.
 * @returns The request fields.
 */
export function openFields(name: string, options: OpenOptions): Message {
  const fields: Message = { name, agent_env: options.agentEnv ?? true };
  if (options.shell !== undefined) fields.shell = options.shell;
  if (options.term !== undefined) fields.term = options.term;
  if (options.cols !== undefined) fields.cols = options.cols;
  if (options.rows !== undefined) fields.rows = options.rows;
  if (options.bufferSize !== undefined) fields.buffer = options.bufferSize;
  if (options.env !== undefined) fields.env = options.env;
  if (options.idleTimeoutMs !== undefined) {
    fields.idle_timeout_ms = Math.max(1, Math.round(options.idleTimeoutMs));
  }
  return fields;
}

/**
 * Creates the session, or reuses it when it exists.
 *
 * @param connection The connection to the daemon.
 * @param name A validated session name.
 * @param options Shell, environment and terminal size for a new session.
 * @returns Whether it was created, and its description.
 */
export async function openSession(
  connection: Connection,
  name: string,
  options: OpenOptions,
): Promise<OpenResult> {
  const reply = await connection.request(OPS.open, openFields(name, options));
  return {
    created: Boolean(reply.created),
    session: sessionInfo(reply.session as Message),
  };
}
