/**
 * How a call finds its local agent and proves who it is: the agent's
 * identity, its files' names, and the keys of its token file. A leaf: it
 * imports neither the error hierarchy nor the protocol's contract, so that
 * the thin command line (`lib/cli/thin_client.ts`), which loads it on every
 * warm call, loads neither (issue 21). `agent_protocol.ts` re-exports it
 * beside the lease's own messages.
 *
 * @module
 */
// The hash and the contract's version alone, generated beside each other:
// the packed helper, the bootstrap and `spec.json` stay unloaded.
import { HELPER_HASH, PROTOCOL_VERSION } from "../remote/_helper_hash.ts";
import { agentEntry } from "./cli_entry.ts";

/**
 * Version of the exchange below; part of every agent's identity and of its
 * files' names. 2: the keys go before the first frame, on both transports;
 * 3: a lease says how the bridge connects (`transport`, a master or none).
 */
export const AGENT_PROTOCOL = 3;

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
 * Where the agent listens: a Unix socket (0600, in the 0700 control
 * directory), or TCP on 127.0.0.1 where Deno has no Unix sockets
 * (Windows, denoland/deno#18236). `SESSH_AGENT_LISTEN=tcp` chooses TCP
 * anywhere, so that the path Windows takes is tested on Linux.
 */
export type AgentListen = "unix" | "tcp";

/**
 * The transport the agent of a call's environment listens on, or null when
 * `SESSH_AGENT_LISTEN` names none this system has (`agentListen` of
 * `agent_protocol.ts` says what is wrong with it).
 *
 * @param env The call's environment (`SESSH_AGENT_LISTEN`).
 * @param os The operating system, as `Deno.build.os` names it.
 * @returns `"tcp"` on Windows or when asked for, `"unix"` by default, or null.
 *
 * @example
 * ```ts
 * import { listenOf } from "./agent_files.ts";
 * console.log(listenOf({}, "linux"), listenOf({ SESSH_AGENT_LISTEN: "pipe" })); // "unix" null
 * ```
 */
export function listenOf(
  env: Record<string, string | undefined>,
  os: string = Deno.build.os,
): AgentListen | null {
  const value = env.SESSH_AGENT_LISTEN || undefined;
  if (value === undefined) return os === "windows" ? "tcp" : "unix";
  if (value === "tcp") return "tcp";
  return value === "unix" && os !== "windows" ? "unix" : null;
}

/**
 * Files of the agent in the control directory (0700, checked). Each program
 * (see {@linkcode agentEntry}) has an agent of its own, so that two installs
 * used in turn (a checkout and a bundle, two checkouts) are each served by
 * their own code without retiring each other at every call; a newer version
 * of the same program replaces its agent. An agent on TCP has files of its
 * own too: calls that ask for the other transport never find it and start
 * their own, rather than failing to reach it.
 *
 * @param controlDir The control directory.
 * @param listen The transport.
 * @returns The paths: `socket` (unix), `port` (tcp: the port, in decimal),
 *   `token` (the keys), `lock` and `log`.
 *
 * @example
 * ```ts
 * import { agentFiles } from "./agent_files.ts";
 * console.log(agentFiles("/tmp/sessh-1000").token.startsWith("/tmp/sessh-1000/agent-")); // true
 * ```
 */
export function agentFiles(
  controlDir: string,
  listen: AgentListen = "unix",
): {
  socket: string;
  port: string;
  token: string;
  lock: string;
  log: string;
} {
  const base = `${controlDir}/agent-${AGENT_PROTOCOL}-${fnv1a(agentEntry())}${
    listen === "tcp" ? "-tcp" : ""
  }`;
  return {
    socket: `${base}.sock`,
    port: `${base}.port`,
    token: `${base}.token`,
    lock: `${base}.lock`,
    log: `${base}.log`,
  };
}

/**
 * Length of each of the two keys in the token file: a UUID's text form.
 * A call sends the call key first of all, the agent answers with the agent
 * key before its first frame.
 */
export const KEY_LENGTH = 36;

/**
 * The two keys of an agent's token file: what a call proves itself with,
 * and what the agent proves itself with. The second one matters on TCP:
 * a program of another user that took a dead agent's port would learn the
 * call key (useless: the next agent makes new keys), but cannot answer with
 * the agent key, so the call never talks to it.
 */
export interface AgentKeys {
  /** Sent by a call, checked by the agent. */
  call: string;
  /** Sent by the agent, checked by a call. */
  agent: string;
}

/**
 * Makes a fresh pair of keys and the token file's text for them.
 *
 * @returns The keys and the text.
 */
export function newAgentKeys(): { keys: AgentKeys; text: string } {
  const keys = { call: crypto.randomUUID(), agent: crypto.randomUUID() };
  return { keys, text: `${keys.call} ${keys.agent}\n` };
}

/**
 * Reads the keys from a token file's text.
 *
 * @param text The file's text.
 * @returns The keys, or null when the text is not two keys.
 *
 * @example
 * ```ts
 * import { newAgentKeys, parseAgentKeys } from "./agent_files.ts";
 * const { keys, text } = newAgentKeys();
 * console.log(parseAgentKeys(text)?.agent === keys.agent); // true
 * console.log(parseAgentKeys("garbage")); // null
 * ```
 */
export function parseAgentKeys(text: string): AgentKeys | null {
  const match = /^([0-9a-f-]{36}) ([0-9a-f-]{36})\n?$/.exec(text);
  return match ? { call: match[1], agent: match[2] } : null;
}

/**
 * Compares two keys in time that does not depend on where they differ, so
 * that a local user who can reach a TCP port cannot learn a key byte by
 * byte from how fast a wrong one is refused.
 *
 * @param a One key's bytes.
 * @param b The other's.
 * @returns Whether they are equal.
 *
 * @example
 * ```ts
 * import { sameKey } from "./agent_files.ts";
 * const bytes = (text: string) => new TextEncoder().encode(text);
 * console.log(sameKey(bytes("abc"), bytes("abc")), sameKey(bytes("abc"), bytes("abd"))); // true false
 * ```
 */
export function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let differ = 0;
  for (let i = 0; i < a.length; i++) differ |= a[i] ^ b[i];
  return differ === 0;
}

/**
 * Reads the port of an agent on TCP from its port file's text.
 *
 * @param text The file's text.
 * @returns The port, or null when the text is not one.
 */
export function parsePort(text: string): number | null {
  const match = /^(\d{1,5})\n?$/.exec(text);
  const port = match ? Number(match[1]) : 0;
  return port >= 1 && port <= 65535 ? port : null;
}

/** A short name for a program's path: FNV-1a, 32 bits, in hex (no secret). */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
