/**
 * Turning ssh's exit code and stderr into a {@linkcode ConnectError} whose
 * message names the cause and what to do about it.
 *
 * @module
 */

import { ConnectError } from "../errors.ts";
import type { Destination } from "./destination.ts";
import { NO_MASTER_MESSAGE } from "./options.ts";

type Code = "connect_failed" | "auth_failed" | "host_key" | "ssh_failed";

interface Diagnosis {
  code: Code;
  /** ssh's own words for the cause, shown in parentheses. */
  cause: string;
  /** What the user should do. */
  advice: string;
}

/**
 * Classifies a failed ssh run: authentication (`auth_failed`), host key
 * unknown or changed (`host_key`), network (`connect_failed`), anything
 * else (`ssh_failed`, quoting ssh's last meaningful line).
 *
 * @param dest The destination ssh was asked to reach.
 * @param code ssh's exit code (124 when sessh timed it out).
 * @param stderr What ssh printed, possibly with its `-E` log appended.
 * @returns The error to throw, exit code 255.
 *
 * @example
 * ```ts
 * import { classifySshFailure } from "./ssh_errors.ts";
 * const error = classifySshFailure(
 *   { host: "db1", display: "db1" },
 *   255,
 *   "admin@db1: Permission denied (publickey).\r\n",
 * );
 * console.log(error.code); // "auth_failed"
 * console.log(error.message);
 * // Cannot reach "db1": ssh exited 255 (Permission denied (publickey)); check SESSH_IDENTITY or the ssh identity option
 * ```
 */
export function classifySshFailure(
  dest: Destination,
  code: number,
  stderr: string,
): ConnectError {
  const lines = stderr.split(/\r?\n/).map((line) =>
    line.replace(/\r/g, "").trimEnd()
  );
  const diagnosis = diagnose(lines, stderr) ?? fallback(lines, code);
  const what = code === 124 ? "ssh timed out" : `ssh exited ${code}`;
  return new ConnectError(
    diagnosis.code,
    `Cannot reach ${
      JSON.stringify(dest.display)
    }: ${what} (${diagnosis.cause}); ${diagnosis.advice}`,
    { destination: dest.display },
  );
}

function diagnose(lines: string[], text: string): Diagnosis | undefined {
  if (text.includes(NO_MASTER_MESSAGE)) {
    return {
      code: "connect_failed",
      cause: "its ControlMaster connection is gone",
      advice: "run the command again to connect anew",
    };
  }
  return hostKey(lines, text) ?? network(lines) ?? negotiation(lines) ??
    authentication(lines) ??
    configuration(lines);
}

function hostKey(lines: string[], text: string): Diagnosis | undefined {
  const changed =
    /REMOTE HOST IDENTIFICATION HAS CHANGED|POSSIBLE DNS SPOOFING DETECTED|has changed and you have requested strict checking/
      .test(text);
  if (changed) {
    const offending = /Offending \S+ key in (.+):(\d+)/.exec(text);
    const remove = lines.find((line) => /^\s*ssh-keygen -f .* -R /.test(line))
      ?.trim();
    const stated = find(lines, /^(Host key for \S+ has changed)/);
    const where = offending
      ? ` since it was recorded in ${offending[1]}:${offending[2]}`
      : "";
    return {
      code: "host_key",
      cause: stated ?? "REMOTE HOST IDENTIFICATION HAS CHANGED",
      advice:
        `the host key CHANGED${where}, which may be an attack; confirm the new key with the host's ` +
        `administrator, then remove the old entry${
          remove ? ` with ${remove}` : " from known_hosts"
        }`,
    };
  }
  const unknown = find(lines, /^(No \S+ host key is known for \S+)/);
  if (
    unknown !== undefined || lines.includes("Host key verification failed.")
  ) {
    return {
      code: "host_key",
      cause: unknown ?? "Host key verification failed",
      advice:
        "the host key is UNKNOWN; verify its fingerprint and add it to your known_hosts file " +
        "(UserKnownHostsFile, by default ~/.ssh/known_hosts), or set SESSH_STRICT_HOST=accept-new to trust it on first use",
    };
  }
  return undefined;
}

const NETWORK_CAUSES: [RegExp, string][] = [
  [
    /Could not resolve hostname/,
    "check the host name, your DNS, or the HostName in your ssh config",
  ],
  [/Connection refused/, "check that sshd runs on that host and port"],
  [
    /Connection timed out|Operation timed out|timed out during banner exchange|port \d+ timed out/,
    "check the network, VPN and firewall, or raise SESSH_CONNECT_TIMEOUT",
  ],
  [
    /No route to host|Network is unreachable/,
    "check the network, VPN and firewall",
  ],
  [
    /Connection closed by|Connection reset by|kex_exchange_identification/,
    "the server hung up before logging in; check its sshd logs (MaxStartups, AllowUsers, firewall)",
  ],
  [/connect to host \S+ port \d+:/, "check the network and firewall"],
];

function network(lines: string[]): Diagnosis | undefined {
  for (const [pattern, advice] of NETWORK_CAUSES) {
    const line = lines.find((candidate) => pattern.test(candidate));
    if (line !== undefined) {
      return { code: "connect_failed", cause: clean(line), advice };
    }
  }
  return undefined;
}

function negotiation(lines: string[]): Diagnosis | undefined {
  const line = lines.find((candidate) =>
    candidate.startsWith("Unable to negotiate with")
  );
  if (line === undefined) return undefined;
  const variable = /key exchange/.test(line)
    ? "SESSH_KEX"
    : /cipher/.test(line)
    ? "SESSH_CIPHERS"
    : /MAC/.test(line)
    ? "SESSH_MACS"
    : undefined;
  const what = /no matching (.*?) found/.exec(line)?.[0] ??
    "no common algorithm";
  const offer = / Their offer: (\S+)/.exec(line)?.[1];
  return {
    code: "ssh_failed",
    cause: what,
    advice:
      (variable
        ? `set ${variable} to an algorithm the server offers`
        : "add an ssh option with an algorithm the server offers") +
      (offer ? ` (${offer})` : ""),
  };
}

/** Where a key comes from; the command line adds its own flag (`-i`). */
export const IDENTITY_ADVICE =
  "check SESSH_IDENTITY or the ssh identity option";

function authentication(lines: string[]): Diagnosis | undefined {
  const denied = find(lines, /(Permission denied \([^)]*\))/) ??
    find(lines, /(Too many authentication failures)/);
  if (denied === undefined) return undefined;
  const unprotected = find(lines, /^Load key "(.+)": bad permissions/);
  const missing = find(lines, /^Warning: Identity file (.+) not accessible/);
  const advice = unprotected !== undefined
    ? `the key ${unprotected} is readable by others and was ignored; run chmod 600 on it`
    : missing !== undefined
    ? `the identity file ${missing} does not exist; ${IDENTITY_ADVICE}`
    : IDENTITY_ADVICE;
  return { code: "auth_failed", cause: denied, advice };
}

function configuration(lines: string[]): Diagnosis | undefined {
  const line = lines.find((candidate) =>
    /Bad configuration option|Can't open user config file|command-line: line \d+:|Bad owner or permissions/
      .test(candidate)
  );
  if (line === undefined) return undefined;
  return {
    code: "ssh_failed",
    cause: clean(line),
    advice: "check the ssh options, the config file given and your ssh config",
  };
}

const NOISE =
  /^(@|Warning: Permanently added|debug\d?:|Pseudo-terminal will not be allocated|\*\*|Transferred: |Bytes per second)/;

function fallback(lines: string[], code: number): Diagnosis {
  const meaningful = lines.map((line) => line.trim()).filter((line) =>
    line !== "" && !NOISE.test(line)
  );
  const last = meaningful.at(-1);
  if (code === 124) {
    return {
      code: "connect_failed",
      cause: last === undefined ? "no answer" : clean(last),
      advice:
        "check the network, or whether the host is overloaded, or raise SESSH_CONNECT_TIMEOUT",
    };
  }
  return {
    code: "ssh_failed",
    cause: last === undefined ? "no message" : clean(last),
    advice: "run ssh -v with the same destination to see more",
  };
}

/** The first capture group of the first line that matches. */
function find(lines: string[], pattern: RegExp): string | undefined {
  for (const line of lines) {
    const match = pattern.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

/** Strips ssh's `ssh: ` prefix and trailing period, and keeps it short. */
function clean(line: string): string {
  const text = line.trim().replace(/^ssh: /, "").replace(/\.$/, "");
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
