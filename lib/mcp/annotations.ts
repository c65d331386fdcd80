/**
 * What each MCP tool does to the world, as MCP's tool annotations say it to
 * the client (which may ask its user before a destructive call). The same
 * table decides `--read-only`: only the tools marked `readOnlyHint` are
 * offered then, so the hint and the policy cannot disagree.
 *
 * Every tool reaches a remote host (`openWorldHint`). `idempotentHint` is
 * about effect: closing a closed session or copying the same file twice
 * changes nothing more, a second `open` reuses the session.
 *
 * @module
 */

/** MCP's four behaviour hints, all set. */
export interface ToolHints {
  /** Changes nothing: it reads the session or the host's list. */
  readOnlyHint: boolean;
  /** May destroy or overwrite: types, runs, closes or writes files. */
  destructiveHint: boolean;
  /** A second identical call has no further effect. */
  idempotentHint: boolean;
  /** Reaches outside the server: here, a remote host. */
  openWorldHint: boolean;
}

const observes: ToolHints = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
};
const acts: ToolHints = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
};

/**
 * The hints of every tool `sessh mcp` can offer.
 *
 * @example
 * ```ts
 * import { TOOL_HINTS } from "./annotations.ts";
 * console.log(TOOL_HINTS.logs.readOnlyHint); // true
 * ```
 */
export const TOOL_HINTS = {
  // Starts a login shell from /etc/shells, or reuses the session.
  open: { ...acts, destructiveHint: false, idempotentHint: true },
  run: acts,
  send: acts,
  keys: acts,
  type_secret: acts,
  close: { ...acts, idempotentHint: true },
  // Overwrite the file at the target (remote for upload, local for download).
  upload: { ...acts, idempotentHint: true },
  download: { ...acts, idempotentHint: true },
  logs: observes,
  screen: observes,
  wait: observes,
  status: observes,
  list: observes,
  result: observes,
  history: observes,
} as const satisfies Record<string, ToolHints>;

/** The name of a tool `sessh mcp` can offer. */
export type ToolName = keyof typeof TOOL_HINTS;
