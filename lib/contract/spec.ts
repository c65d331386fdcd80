/**
 * The contract between sessh and its helper daemon, read from `spec.json`
 * beside this module: the protocol version and limits, the ops, the caps,
 * the events, the error codes with their exit codes, the tracked terminal
 * modes, the session-name rule and the pager environment. The helper's
 * copy is generated from the same file (`deno task embed`), and
 * `spec_test.ts` fails when the two disagree; so a value here is changed
 * in `spec.json`, never by hand on either side.
 *
 * @module
 */
import spec from "./spec.json" with { type: "json" };

/** A daemon operation, as a request's `op` names it. */
export type Op = keyof typeof spec.ops;
/** A capability a daemon may list in its hello. */
export type Cap = keyof typeof spec.caps;
/** An event the daemon pushes, as its `ev` names it. */
export type EventName = keyof typeof spec.events;
/** A stable error code, as sessh reports it (`--json` prints `error.code`). */
export type ErrorCode = keyof typeof spec.errors;
/** A code the daemon refuses a request with. */
export type DaemonErrorCode = keyof typeof spec.daemon_errors;

// Each key of a table, as a constant named after itself: `OPS.run` is "run",
// and `OPS.rnu` fails type checking.
function named<K extends string>(table: Record<K, unknown>): { [N in K]: N } {
  return Object.fromEntries(Object.keys(table).map((k) => [k, k])) as {
    [N in K]: N;
  };
}

/** The protocol version both ends speak; the hello checks it. */
export const PROTOCOL_VERSION: number = spec.version;
/** Largest frame body either side accepts, in bytes. */
export const MAX_FRAME: number = spec.limits.max_frame;
/** Largest output buffer a session may be opened with, in bytes. */
export const MAX_BUFFER: number = spec.limits.max_buffer;
/** Characters of earlier text a `wait --for` match may span across reads. */
export const MATCH_OVERLAP: number = spec.limits.match_overlap;
/** Seconds a shell may leave its input unread before the input fails. */
export const INPUT_STALL_S: number = spec.limits.input_stall_s;

/**
 * Every daemon op by name: `OPS.run` is `"run"`, and a misspelt op fails
 * type checking.
 *
 * @example
 * ```ts
 * import { CAPS, OPS } from "./spec.ts";
 * console.log(OPS.history, CAPS.match_text); // "history" "match_text"
 * ```
 */
export const OPS: { readonly [N in Op]: N } = named(spec.ops);
/** Every cap by name: `CAPS.match_text` is `"match_text"`. */
export const CAPS: { readonly [N in Cap]: N } = named(spec.caps);
/** Every event by name: `EVENTS.done` is `"done"`. */
export const EVENTS: { readonly [N in EventName]: N } = named(spec.events);

/** Every cap the current helper lists in its hello, in the spec's order. */
export const HELPER_CAPS: readonly Cap[] = Object.keys(spec.caps) as Cap[];

/** Every error code sessh reports, in the spec's order. */
export const ERROR_CODES: readonly ErrorCode[] = Object.keys(
  spec.errors,
) as ErrorCode[];

/** The exit code of the command line for each error code. */
export const EXIT_CODES: { readonly [C in ErrorCode]: number } = Object
  .fromEntries(
    Object.entries(spec.errors).map(([code, entry]) => [code, entry.exit]),
  ) as { [C in ErrorCode]: number };

/** The code sessh reports for each code the daemon refuses a request with. */
export const DAEMON_ERRORS: { readonly [C in DaemonErrorCode]: ErrorCode } =
  spec.daemon_errors as { [C in DaemonErrorCode]: ErrorCode };

/** Why the loader or the helper gave up before the protocol, by exit code. */
export interface RemoteExit {
  /** A name for scripts and tests, e.g. `"old_python"`. */
  readonly name: string;
  /** Which of the two exits with it. */
  readonly by: "loader" | "helper";
  /** What went wrong and what to do. */
  readonly advice: string;
}

/** The exit codes of the loader and the helper before the protocol starts. */
export const REMOTE_EXITS: Readonly<Record<number, RemoteExit>> = spec
  .remote_exits as unknown as Record<number, RemoteExit>;

/**
 * Private terminal modes (`CSI ? N h/l`) the daemon tracks so that an
 * attaching terminal is put in them before the replay.
 */
export const TRACKED_MODES: readonly number[] = spec.tracked_modes;

/** What a session name may be: 1 to 64 of `A-Z a-z 0-9 . _ -`. */
export const SESSION_NAME: RegExp = new RegExp(
  `^[${spec.session_name.chars}]{${spec.session_name.min},${spec.session_name.max}}$`,
);

/** The environment a session gets so that no pager waits for keys. */
export const PAGER_ENV: Readonly<Record<string, string>> = spec.pager_env;

/** The whole contract, as `spec.json` holds it, for the generator and tests. */
export const SPEC: typeof spec = spec;
