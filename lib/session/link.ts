/**
 * What the parts of a session handle share: the link to the daemon, the
 * errors for a link that failed during a call (saying whether the work was
 * delivered), and ending a watch.
 *
 * @module
 */
import type { Connection } from "../transport/connection.ts";
import type { Destination } from "../ssh/destination.ts";
import type { Message } from "../protocol/frame.ts";
import type { SessionInfo } from "../types.ts";
import { sessionInfo } from "./wire.ts";
import { readRange } from "./output.ts";
import {
  type ConnectionLostDetails,
  ConnectionLostError,
  DaemonGoneError,
  SesshError,
  TimeoutError,
} from "../errors.ts";
import { OPS } from "../contract/spec.ts";

/**
 * How long the last request of a call that ran out of time may take. It
 * doubles as the proof that the link works, and keeps every call within its
 * deadline plus 2 s.
 */
export const FINAL_READ_MS = 1500;

/**
 * What a session handle needs of the client that made it: the connection,
 * what the daemon can do, and the destination its error messages name.
 */
export interface SessionLink {
  /** The connection to the daemon. */
  readonly connection: Connection;
  /** The daemon's hello: the operations it supports. */
  readonly daemon: { readonly caps: readonly string[] };
  /** Where the session lives. */
  readonly destination: Destination;
  /**
   * Reconnects when the link died (the daemon was killed, the link was
   * lost), so that the next call goes through a new one.
   */
  revive?(): Promise<void>;
}

/**
 * Whether an error means the link failed, rather than the daemon refusing
 * or dying (a dead daemon took the session with it: nothing runs on).
 */
export function isLinkFailure(error: SesshError): boolean {
  return error instanceof ConnectionLostError || error instanceof TimeoutError;
}

/**
 * The session's state, as `Session.status()` returns it.
 *
 * @param link The link to the daemon.
 * @param name The session.
 * @param options How long the daemon may take to answer.
 * @returns The description.
 */
export async function sessionStatus(
  link: SessionLink,
  name: string,
  options: { timeoutMs?: number } = {},
): Promise<SessionInfo> {
  const reply = await link.connection.request(OPS.info, { name }, options);
  return sessionInfo(reply.session as Message);
}

/**
 * The error for a `run` whose request got no answer: a daemon's refusal
 * passes through; a lost link or silence becomes "delivery unknown".
 */
export function undelivered(
  link: SessionLink,
  name: string,
  error: unknown,
): unknown {
  return linkLost(
    error,
    `the command may or may not have reached session "${name}": check its status before running it again`,
    { delivery: "unknown", session: name },
    link,
  );
}

/** The error for a link that failed while waiting: nothing was typed. */
export function lostWhileWaiting(
  link: SessionLink,
  name: string,
  error: unknown,
  cursor: number,
): unknown {
  return linkLost(
    error,
    `the wait ended without an answer (nothing was typed into session "${name}"): ` +
      `wait again from cursor ${cursor}`,
    { delivery: "not_sent", session: name, cursor },
    link,
  );
}

/** The error for a link that failed after the daemon accepted the command. */
export function lostAfterSend(
  link: SessionLink,
  name: string,
  error: unknown,
  seq: number,
  cursor: number,
): unknown {
  return linkLost(
    error,
    `the command was sent (command ${seq} of session "${name}") and runs or ran on the host: ` +
      `wait for it to finish, or read its output from cursor ${cursor}`,
    { delivery: "sent", session: name, commandId: seq, cursor },
    link,
  );
}

/**
 * A failed link as a `ConnectionLostError` that says how far the work got
 * (`what`); a daemon that died says which session went with it; an error of
 * the daemon's own (a refusal) passes through.
 */
function linkLost(
  error: unknown,
  what: string,
  details: ConnectionLostDetails,
  link: SessionLink,
): unknown {
  const destination = link.destination.display;
  if (error instanceof DaemonGoneError) {
    return new DaemonGoneError(
      `${error.message}; session "${details.session}" was lost with it`,
      { ...details, destination },
    );
  }
  if (error instanceof SesshError && !isLinkFailure(error)) return error;
  return new ConnectionLostError(
    `${(error as Error).message}; ${what}`,
    { ...details, destination },
  );
}

/**
 * Ends this connection's watch of the session's output once the call that
 * asked for it is done (its mailbox disposed), unless another call of this
 * connection still watches it: a flood left flowing would cost the link
 * for nobody.
 */
export async function unwatch(
  link: SessionLink,
  name: string,
): Promise<void> {
  const conn = link.connection;
  if (!conn.lostError && conn.watchers(name) === 0) {
    await conn.request(OPS.unsubscribe, { name: name }, {
      timeoutMs: FINAL_READ_MS,
    }).catch(() => {});
  }
}

/**
 * The output a local gap stands for (see `isLocalGap`), read back from the
 * session's buffer: `start` is where what is still there begins.
 *
 * @param link The link to the daemon.
 * @param name The session.
 * @param gap The gap event.
 * @returns The bytes, where they begin, and whether some had left the buffer.
 */
export async function readGap(
  link: SessionLink,
  name: string,
  gap: Message,
): Promise<{ data: Uint8Array; start: number; evicted: boolean }> {
  const range = await readRange(link.connection, name, {
    since: Number(gap.start),
    until: Number(gap.end),
  });
  return { data: range.data, start: range.start, evicted: range.evicted };
}
