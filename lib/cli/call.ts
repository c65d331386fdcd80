/**
 * What every verb's handler shares: the common flags and the target
 * (NAME DEST [PORT]), the outcome it returns for `cli.ts` to print, and
 * connecting for one call.
 *
 * @module
 */
import { SesshError, UsageError } from "../errors.ts";
import { markPhase } from "../phases.ts";
import type { Forward } from "../ssh/forwards.ts";
import { SesshClient } from "../session/client.ts";
import type { SshFlags, SshSettings } from "../ssh/settings.ts";
import type { ForwardTarget } from "../transport/agent_forwards.ts";
import { parseTimeout, PAYLOADS } from "./args.ts";

/** Flags every verb accepts. */
export interface CommonFlags {
  /** Print one JSON object. */
  json?: boolean;
  /** ssh -p. */
  port?: string;
  /** ssh -i. */
  identity?: string;
  /** ssh -J. */
  jump?: string;
  /** ssh -F. */
  config?: string;
  /** ssh -o, repeatable. */
  option?: string[];
  /** ssh -A. */
  forwardAgent?: boolean;
}

/** What a command produced, for `cli.ts` to print. */
export interface Outcome {
  /** The verb, as printed in JSON `op`. */
  op: string;
  /** Fields of the JSON object (besides `ok` and `op`). */
  fields: Record<string, unknown>;
  /** Text for stdout in human mode. */
  text: string | Uint8Array;
  /** A note for stderr in human mode (truncation, timeouts). */
  notice?: string;
  /** Exit code. */
  exitCode: number;
  /**
   * The text as a table, header first, when it is one (`list`): a fan-out
   * joins the hosts' tables into one.
   */
  table?: string[][];
}

/** Where streaming commands (`logs --follow`) write as they go. */
export interface StreamSink {
  /** Writes to stdout. */
  write(data: string | Uint8Array): Promise<void>;
  /** Writes a line to stderr (human mode) while the stream goes on. */
  notice(line: string): Promise<void>;
  /** Whether the call prints one JSON object (nothing may stream then). */
  readonly json: boolean;
  /** Aborted when the user interrupts. */
  signal: AbortSignal;
}

/** What a verb with a deadline needs from the command line around it. */
export interface CallContext {
  /** Environment (`SESSH_TIMEOUT`). */
  env: Record<string, string | undefined>;
  /**
   * Announces that the call must end within this many milliseconds from
   * now; past that (and a grace period) the command line stops it from
   * outside, whatever it waits on.
   */
  endBy(ms: number): void;
  /**
   * Takes work that may wait until the call's result is printed: closing
   * its connection, which after a cold call also starts the local agent.
   * The command line does it before it exits. Without it (a fan-out's
   * host), the handler does that work before it returns.
   */
  afterOutput?(task: () => Promise<void>): void;
  /**
   * Aborted when whoever waits for the call has gone: the thin client of a
   * call the local agent runs (`agent_call.ts`). The wait ends and the
   * connection goes back to the agent; the command runs on, as after
   * Ctrl-C on the command line, which needs no signal: it exits.
   */
  cancel?: AbortSignal;
}

/** The positionals NAME DEST and an optional trailing PORT. */
export interface Target extends Place {
  /** Session name. */
  name: string;
}

/**
 * Where a call connects: DEST [PORT], and whose environment shapes its ssh.
 * The local agent runs calls for other processes (`thin_client.ts`): their
 * environment, not the agent's, must decide the settings and the warm path.
 */
export interface Place {
  /** Destination. */
  dest: string;
  /** Trailing PORT argument. */
  port?: string;
  /**
   * The call's environment.
   * @default {Deno.env.toObject()}
   */
  env?: Record<string, string | undefined>;
}

/** The environment of a call to `t`: its own, else this process's. */
function envOf(t: Place): Record<string, string | undefined> {
  return t.env ?? Deno.env.toObject();
}

/**
 * Turns common flags into ssh flags.
 *
 * @param flags The parsed flags.
 * @returns ssh flags.
 */
export function sshFlags(flags: CommonFlags): SshFlags {
  return {
    port: flags.port,
    identity: flags.identity,
    jump: flags.jump,
    configFile: flags.config,
    options: [
      ...(flags.forwardAgent ? ["ForwardAgent=yes"] : []),
      ...(flags.option ?? []),
    ],
  };
}

/** `--timeout` in milliseconds, else `SESSH_TIMEOUT`, else 60 s. */
export function timeoutFlag(
  flags: { timeout?: number },
  env: Record<string, string | undefined>,
): number {
  return flags.timeout ??
    parseTimeout(env.SESSH_TIMEOUT ?? "60", "SESSH_TIMEOUT");
}

/** The payload after `--`, which `run`, `send` and `keys` require. */
export function payloadOf(
  verb: keyof typeof PAYLOADS,
  payload: string[] | null,
) {
  if (payload === null) {
    const what = PAYLOADS[verb];
    throw new UsageError(
      `No ${what} given; put it after --: sessh ${verb} NAME DEST -- ${what}`,
    );
  }
  return payload;
}

/**
 * Connects for one call. With `budgetMs` (the call's `--timeout`) giving up
 * comes no later than that; whatever fails here failed before anything was
 * sent, and the error says so.
 */
export async function connect(
  t: Place,
  flags: CommonFlags,
  options: { budgetMs?: number; delivers?: boolean } = {},
): Promise<SesshClient> {
  markPhase("handler");
  const { budgetMs, delivers } = options;
  const env = envOf(t);
  const settings = SesshClient.prepare({
    destination: t.dest,
    port: t.port,
    ssh: sshFlags(flags),
    env,
  }).settings;
  const usual = (settings.connectTimeoutSeconds + 5) * 1000;
  try {
    const client = await SesshClient.connect({
      destination: t.dest,
      port: t.port,
      ssh: sshFlags(flags),
      connectTimeoutMs: Math.min(usual, budgetMs ?? usual),
      env,
      warm: env.SESSH_AGENT !== "0",
    });
    markPhase("connected");
    return client;
  } catch (error) {
    if (delivers && error instanceof SesshError) {
      error.details.delivery ??= "not_sent";
    }
    throw error;
  }
}

/**
 * Releases what a call holds (its connection) once its result is printed,
 * where the command line takes that work ({@linkcode CallContext.afterOutput}),
 * else now.
 *
 * @param held What to release, moved out of the handler's own stack.
 * @param call The call's context.
 */
export async function releaseAfterOutput(
  held: AsyncDisposableStack,
  call: Pick<CallContext, "afterOutput">,
): Promise<void> {
  if (call.afterOutput) call.afterOutput(() => held.disposeAsync());
  else await held.disposeAsync();
}

/** Milliseconds left of a call that must end by `deadline` (a `performance.now()` time). */
export function remaining(deadline: number): number {
  return Math.max(0, deadline - performance.now());
}

/**
 * The forwards a call lists (`status`, `list`): without a ControlMaster,
 * those the local agent holds, unless `SESSH_AGENT=0` turned it off (then
 * none are held).
 *
 * @param client The connected client.
 * @param t DEST [PORT] as the call gave them.
 * @param flags The call's flags.
 * @returns The forwards in place.
 */
export async function listedForwards(
  client: SesshClient,
  t: Place,
  flags: CommonFlags,
): Promise<Forward[]> {
  const held = client.settings.controlMaster ||
      envOf(t).SESSH_AGENT === "0"
    ? undefined
    : heldForwardTarget(t, flags, client.settings);
  const { forwardsFor } = await import("./forwarding.ts");
  return await forwardsFor(client, held).recorded();
}

/**
 * What the local agent needs to hold a call's forwards when there is no
 * ControlMaster (`SESSH_CONTROL_MASTER=no`): without the agent, nothing
 * would outlive the call to hold them.
 *
 * @param t DEST [PORT].
 * @param flags The call's flags.
 * @param settings The call's settings.
 * @returns The target of `askAgentForward`.
 * @throws {UsageError} when `SESSH_AGENT=0` turns the agent off.
 */
export function heldForwardTarget(
  t: Place,
  flags: CommonFlags,
  settings: SshSettings,
): ForwardTarget {
  const env = envOf(t);
  if (env.SESSH_AGENT === "0") {
    throw new UsageError(
      "Without a ControlMaster (SESSH_CONTROL_MASTER=no) forwards are held by the local agent, and SESSH_AGENT=0 turns it off; unset SESSH_AGENT",
    );
  }
  return {
    destination: t.dest,
    port: t.port,
    ssh: sshFlags(flags),
    env,
    timeoutMs: (settings.connectTimeoutSeconds + 5) * 1000,
  };
}

/**
 * Sets up the `--forward`s through the client's master, or without one,
 * held by the local agent.
 *
 * @param client The connected client.
 * @param forwards The forwards, if any.
 * @param t DEST [PORT] as the call gave them.
 * @param flags The call's flags.
 */
export async function setUpForwards(
  client: SesshClient,
  forwards: readonly Forward[] | undefined,
  t: Place,
  flags: CommonFlags,
): Promise<void> {
  if (!forwards?.length) return;
  // Loaded here: most calls set up no forward.
  const { forwardsFor } = await import("./forwarding.ts");
  const held = client.settings.controlMaster
    ? undefined
    : heldForwardTarget(t, flags, client.settings);
  const forwarder = forwardsFor(client, held);
  for (const forward of forwards) await forwarder.change(forward);
}
