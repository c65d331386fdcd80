/**
 * What the command line and its local agent agree on: where the agent
 * listens, how a call proves it belongs to the same user (both in the leaf
 * `agent_files.ts`, re-exported here), and the lease request and reply that
 * precede the daemon's own frames.
 *
 * @module
 */
import { type AgentListen, listenOf } from "./agent_files.ts";
import { UsageError } from "../errors.ts";
import type { SshFlags } from "../ssh/settings.ts";
import type { Transport } from "./bridge.ts";
import { agentEntry } from "./cli_entry.ts";

export { agentEntry };
export {
  AGENT_PROTOCOL,
  AGENT_VERSION,
  agentFiles,
  agentIdentity,
  type AgentKeys,
  type AgentListen,
  KEY_LENGTH,
  newAgentKeys,
  parseAgentKeys,
  parsePort,
  sameKey,
} from "./agent_files.ts";

/**
 * The id of the `reset` request the agent sends when a call ends: every
 * frame before its reply belongs to the call that left.
 */
export const RESET_ID = -1;

/**
 * Environment variables of a call that shape its ssh, its control
 * directory or its agent: part of the pool key. Only those: a variable
 * that shapes the call alone (`SESSH_TIMEOUT`, `SESSH_JSON`,
 * `SESSH_TRACE_PHASES`) would otherwise give its calls bridges of their
 * own, each pool up to the agent's limit of bridges per destination.
 * `agent_protocol_test.ts` checks it against what `settingsFromEnv` and
 * the control directory's rule read.
 */
export const LEASE_ENV = new RegExp(
  "^(SESSH_(SSH|IDENTITY|PROXYJUMP|CONTROL_MASTER|PERSIST|KEEPALIVE|" +
    "CONNECT_TIMEOUT|STRICT_HOST|KEX|CIPHERS|MACS|NO_PROCFS|CONTROL_DIR|" +
    "CTRL_DIR|AGENT_LISTEN)|SSH_AUTH_SOCK|HOME|XDG_RUNTIME_DIR|TMPDIR|" +
    "LOCALAPPDATA|TEMP|TMP)$",
);

/**
 * The transport the agent of a call's environment listens on.
 *
 * @param env The call's environment (`SESSH_AGENT_LISTEN`).
 * @param os The operating system, as `Deno.build.os` names it.
 * @returns `"tcp"` on Windows or when asked for, else `"unix"`.
 * @throws {UsageError} for any other value, or `unix` on Windows.
 *
 * @example
 * ```ts
 * import { agentListen } from "./agent_protocol.ts";
 * console.log(agentListen({ SESSH_AGENT_LISTEN: "tcp" })); // "tcp"
 * console.log(agentListen({}, "windows")); // "tcp"
 * ```
 */
export function agentListen(
  env: Record<string, string | undefined>,
  os: string = Deno.build.os,
): AgentListen {
  const listen = listenOf(env, os);
  if (listen !== null) return listen;
  const value = env.SESSH_AGENT_LISTEN;
  throw new UsageError(
    value === "unix"
      ? `SESSH_AGENT_LISTEN "unix" is not available on Windows (Deno has no Unix sockets there); unset it`
      : `SESSH_AGENT_LISTEN ${
        JSON.stringify(value)
      } is not a transport; set it to "tcp" or "unix", or unset it`,
  );
}

/** The first frame of a call: what it wants a bridge to. */
export interface LeaseRequest {
  /** Always `"lease"`. */
  op: "lease";
  /** {@linkcode agentIdentity} of the command line. */
  version: string;
  /** The destination as given. */
  destination: string;
  /** A trailing PORT argument. */
  port?: string;
  /** ssh flags. */
  ssh: SshFlags;
  /** The call's variables that match {@linkcode LEASE_ENV}. */
  env: Record<string, string>;
  /** How long connecting may take, when the agent has no bridge ready. */
  timeout_ms: number;
}

/** The agent's answer; on success the daemon's frames follow. */
export type LeaseReply =
  | {
    ok: true;
    /** The daemon's hello reply. */
    hello: Record<string, unknown>;
    /** How the bridge reaches the host. */
    transport: Transport;
    /** The master the bridge goes through; null for a direct connection. */
    master: { controlPath: string; pid: number; started: boolean } | null;
    /** Process id of the agent. */
    agent_pid: number;
  }
  | {
    ok: false;
    /** An error code of sessh, or `agent_outdated`. */
    code: string;
    /** What went wrong. */
    message: string;
    /** The exit code the command line uses for it. */
    exit_code: number;
    /** The error's facts for scripts. */
    details: Record<string, unknown>;
  };

/**
 * A request about the port forwards the agent holds when there is no
 * ControlMaster (`SESSH_CONTROL_MASTER=no`): one `ssh -N` per forward.
 */
export interface ForwardRequest {
  /** Always `"forward"`. */
  op: "forward";
  /** {@linkcode agentIdentity} of the command line. */
  version: string;
  /** Start a forward, cancel one, or list them. */
  action: "open" | "cancel" | "list";
  /** The forward to start or cancel. */
  forward?: { kind: "L" | "R" | "D"; spec: string };
  /** The destination as given. */
  destination: string;
  /** A trailing PORT argument. */
  port?: string;
  /** ssh flags. */
  ssh: SshFlags;
  /** The call's variables that match {@linkcode LEASE_ENV}. */
  env: Record<string, string>;
  /** How long setting a forward up may take. */
  timeout_ms: number;
}

/** A forward the agent holds, as it lists it. */
export interface HeldForwardInfo {
  /** `L`, `R` or `D`. */
  kind: "L" | "R" | "D";
  /** As ssh took it. */
  spec: string;
  /** Its ssh's process id. */
  pid: number;
  /** `up` while its ssh runs, `dead` once it ended. */
  state: "up" | "dead";
  /** Why its ssh ended (ssh's exit status and last messages). */
  why?: string;
}

/** The agent's answer to a {@linkcode ForwardRequest}. */
export type ForwardReply =
  | {
    ok: true;
    /** The forwards to the destination now. */
    forwards: HeldForwardInfo[];
    /** The forward cancelled. */
    cancelled?: HeldForwardInfo;
  }
  | Extract<LeaseReply, { ok: false }>;

/**
 * A request that the agent hold the plain file at `path` open until this
 * connection closes: the old file a download's part is renamed over, so
 * that the rename does not wait for it to be freed (`lib/agent/held_files.ts`).
 */
export interface HoldRequest {
  /** Always `"hold"`. */
  op: "hold";
  /** {@linkcode agentIdentity} of the command line. */
  version: string;
  /** The file's absolute path. */
  path: string;
}

/** The agent's answer to a {@linkcode HoldRequest}. */
export type HoldReply =
  | {
    ok: true;
    /** Whether a plain file was there and is held. */
    held: boolean;
  }
  | Extract<LeaseReply, { ok: false }>;
