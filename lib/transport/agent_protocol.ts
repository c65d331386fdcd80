/**
 * What the command line and its local agent agree on: where the agent
 * listens, how a call proves it belongs to the same user, and the lease
 * request and reply that precede the daemon's own frames.
 *
 * @module
 */
import { HELPER_HASH } from "../remote/_helper_source.ts";
import { PROTOCOL_VERSION } from "../remote/bootstrap.ts";
import type { SshFlags } from "../ssh/settings.ts";
import type { Transport } from "./bridge.ts";
import { agentEntry } from "./cli_entry.ts";

export { agentEntry };

/** Version of the lease exchange below; part of every agent's identity. */
export const AGENT_PROTOCOL = 2;

/**
 * What an agent must match exactly to serve a call: the lease exchange,
 * the daemon protocol and the helper it ships. An upgraded command line
 * differs, and retires the older agent instead of talking past it.
 */
export const AGENT_VERSION =
  `${AGENT_PROTOCOL}/${PROTOCOL_VERSION}/${HELPER_HASH}`;

/**
 * The identity a call and an agent compare: {@linkcode AGENT_VERSION} and
 * the program they run. Two checkouts, two bundles or two binaries at the
 * same version run different code: a call of one retires an agent of the
 * other rather than being served by it.
 *
 * @returns The identity string.
 */
export function agentIdentity(): string {
  return `${AGENT_VERSION} ${agentEntry()}`;
}

/**
 * The id of the `reset` request the agent sends when a call ends: every
 * frame before its reply belongs to the call that left.
 */
export const RESET_ID = -1;

/** Environment variables of a call that shape its ssh: part of the pool key. */
export const LEASE_ENV =
  /^(SESSH_[A-Z_]+|SSH_AUTH_SOCK|HOME|XDG_RUNTIME_DIR|TMPDIR)$/;

/**
 * Files of the agent in the control directory (0700, checked). Each program
 * (see {@linkcode agentEntry}) has an agent of its own, so that two installs
 * used in turn (a checkout and a bundle, two checkouts) are each served by
 * their own code without retiring each other at every call; a newer version
 * of the same program replaces its agent.
 */
export function agentFiles(controlDir: string): {
  socket: string;
  token: string;
  lock: string;
  log: string;
} {
  const base = `${controlDir}/agent-${AGENT_PROTOCOL}-${fnv1a(agentEntry())}`;
  return {
    socket: `${base}.sock`,
    token: `${base}.token`,
    lock: `${base}.lock`,
    log: `${base}.log`,
  };
}

/** The first frame of a call: what it wants a bridge to. */
export interface LeaseRequest {
  /** Always `"lease"`. */
  op: "lease";
  /** {@linkcode AGENT_VERSION} of the command line. */
  version: string;
  /** The token from the agent's 0600 token file: proof of being its user. */
  token: string;
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

/** A short name for a program's path: FNV-1a, 32 bits, in hex (no secret). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
