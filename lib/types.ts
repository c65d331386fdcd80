/**
 * Types shared across sessh's modules.
 *
 * @module
 */

/** One session as the remote daemon describes it. */
export interface SessionInfo {
  /** Session name, `[A-Za-z0-9._-]{1,64}`. */
  name: string;
  /** Process id of the session's shell on the remote host. */
  pid: number;
  /** Path of the shell that was started. */
  shell: string;
  /** When the session started. */
  created: Date;
  /** When the session last produced output or received input. */
  lastActivity: Date;
  /** Terminal width in columns. */
  cols: number;
  /** Terminal height in rows. */
  rows: number;
  /** Absolute offset of the oldest byte still in the output buffer. */
  bufferStart: number;
  /** Absolute offset just past the newest byte of output. */
  bufferEnd: number;
  /** Capacity of the output buffer in bytes. */
  bufferSize: number;
  /** Whether a command is running (as far as the shell integration tells). */
  running: boolean;
  /**
   * Command line of the terminal's foreground process when it is not the
   * shell: its argv where the host has procfs, else the command `run` typed;
   * null when nothing runs or it cannot be learnt (see `unknown`).
   */
  command: string | null;
  /** Whether the foreground program seems to wait for input (a prompt, a pager). */
  waitingInput: boolean;
  /**
   * The shell's working directory, as its prompt last reported it (or, for a
   * shell without integration, as procfs tells); null when unknown.
   */
  cwd: string | null;
  /**
   * The fields this host could not tell (`"command"`, `"cwd"`): null there
   * means unknown, not none. Hosts without procfs (macOS, the BSDs,
   * `SESSH_NO_PROCFS=1`) know a running command only when `run` typed it.
   */
  unknown: string[];
  /** Exit status of the last finished command, when known. */
  lastExit: number | null;
  /** Whether the shell integration reported in (needed by `run` to wait). */
  integrated: boolean;
  /** Whether an interactive client is attached. */
  attached: boolean;
  /** When the last interactive client left. */
  detachedAt: Date | null;
  /**
   * When the session will be closed unless input or output comes first
   * (opened with an idle timeout).
   */
  idleDeadline: Date | null;
  /**
   * Whether the session was lost: the remote daemon that held it died, and
   * its shell with it. Only `name`, `shell`, `created` and `lostAt` are then
   * known; `close` acknowledges it.
   */
  lost: boolean;
  /** When the loss was found. */
  lostAt: Date | null;
}
