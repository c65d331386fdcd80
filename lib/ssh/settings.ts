/**
 * The settings that shape every ssh invocation, gathered once from the
 * command line's flags and the `SESSH_*` environment variables, each value
 * checked (a value that ssh could read as an option is refused).
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { controlDir } from "./control_dir.ts";

/** Key exchange algorithms used unless `SESSH_KEX` says otherwise. */
export const DEFAULT_KEX =
  "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org";
/** Ciphers used unless `SESSH_CIPHERS` says otherwise. */
export const DEFAULT_CIPHERS =
  "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com";
/** MACs used unless `SESSH_MACS` says otherwise (the AEAD ciphers above need none). */
export const DEFAULT_MACS =
  "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com";

/**
 * ssh options sessh sets itself on every invocation; a user `-o` for one
 * of them would silently break the master or the protocol.
 */
const MANAGED_OPTIONS = [
  "ControlMaster",
  "ControlPath",
  "ControlPersist",
  "ForkAfterAuthentication",
  "RemoteCommand",
  "RequestTTY",
  "SessionType",
  "StdinNull",
];

/** Everything that shapes ssh's argv for one run of sessh. */
export interface SshSettings {
  /** Program holding the master: `"autossh"` restarts it when it dies. */
  program: "ssh" | "autossh";
  /** `-p`: port, unless the destination names one. */
  port?: number;
  /** `-i` or `SESSH_IDENTITY`: private key file, used with `IdentitiesOnly=yes`. */
  identity?: string;
  /** `-J` or `SESSH_PROXYJUMP`: jump host(s). */
  jump?: string;
  /** `-F`: ssh config file instead of `~/.ssh/config`. */
  configFile?: string;
  /** Repeatable `-o`: raw ssh options, placed first so they win. */
  extraOptions: string[];
  /** Directory of control sockets (`SESSH_CONTROL_DIR` or a default). */
  controlDir: string;
  /**
   * `SESSH_CONTROL_MASTER`: whether calls go through a ControlMaster
   * (`yes`) or each bridge is a plain ssh connection of its own (`no`).
   * @default {true, except on Windows, whose OpenSSH has none}
   */
  controlMaster: boolean;
  /** `SESSH_PERSIST`: ControlPersist. @default {"8h"} */
  persist: string;
  /** `SESSH_KEEPALIVE`: ServerAliveInterval in seconds, 0 disables. @default {30} */
  keepAliveSeconds: number;
  /** `SESSH_CONNECT_TIMEOUT`: ConnectTimeout in seconds. @default {10} */
  connectTimeoutSeconds: number;
  /** `SESSH_STRICT_HOST`: StrictHostKeyChecking. @default {"accept-new"} */
  strictHostKeyChecking: string;
  /** `SESSH_KEX`: KexAlgorithms. @default {DEFAULT_KEX} */
  kexAlgorithms: string;
  /** `SESSH_CIPHERS`: Ciphers. @default {DEFAULT_CIPHERS} */
  ciphers: string;
  /** `SESSH_MACS`: MACs. @default {DEFAULT_MACS} */
  macs: string;
  /**
   * `SESSH_NO_PROCFS=1`: ask about processes with `ps` and `kill -0`, not
   * procfs, even on Linux (e.g. procfs mounted with `hidepid`), here and in
   * the remote helper (which gets it through the fixed remote command).
   * @default {false}
   */
  noProcfs: boolean;
}

/** The raw ssh-related command line flags, as the CLI parser hands them over. */
export interface SshFlags {
  /** `-p PORT`. */
  port?: string;
  /** `-i KEY`. */
  identity?: string;
  /** `-J JUMP`. */
  jump?: string;
  /** `-F FILE`. */
  configFile?: string;
  /** Each `-o OPTION`, in order. */
  options?: string[];
}

/**
 * Builds {@linkcode SshSettings} from CLI flags and the environment,
 * validating every value before it can reach ssh's argv.
 *
 * @param env The environment, e.g. `Deno.env.toObject()`; empty values count as unset.
 * @param flags The `-p -i -J -F -o` flags.
 * @returns The settings.
 * @throws {UsageError} naming the flag or variable that is wrong.
 *
 * @example
 * ```ts
 * import { settingsFromEnv } from "./settings.ts";
 * const settings = settingsFromEnv(
 *   { SESSH_CONTROL_DIR: "/tmp/ctl", SESSH_KEEPALIVE: "15" },
 *   { identity: "~/.ssh/id_ed25519", options: ["Compression=yes"] },
 * );
 * console.log(settings.keepAliveSeconds, settings.persist); // 15 "8h"
 * ```
 */
export function settingsFromEnv(
  env: Record<string, string | undefined>,
  flags: SshFlags = {},
): SshSettings {
  const get = (name: string) => env[name] || undefined;
  const identity = flags.identity !== undefined
    ? argument("-i", flags.identity)
    : optionalArgument("SESSH_IDENTITY", get("SESSH_IDENTITY"));
  const jump = flags.jump !== undefined
    ? argument("-J", flags.jump)
    : optionalArgument("SESSH_PROXYJUMP", get("SESSH_PROXYJUMP"));
  return {
    program: program(get("SESSH_SSH")),
    ...(flags.port === undefined ? {} : { port: port(flags.port) }),
    ...(identity === undefined ? {} : { identity }),
    ...(jump === undefined ? {} : { jump }),
    ...(flags.configFile === undefined
      ? {}
      : { configFile: argument("-F", flags.configFile) }),
    extraOptions: (flags.options ?? []).map(extraOption),
    controlDir: controlDir(env),
    controlMaster: controlMaster(get("SESSH_CONTROL_MASTER"), Deno.build.os),
    persist: persist(get("SESSH_PERSIST") ?? "8h"),
    keepAliveSeconds: seconds(
      "SESSH_KEEPALIVE",
      get("SESSH_KEEPALIVE") ?? "30",
      0,
    ),
    connectTimeoutSeconds: seconds(
      "SESSH_CONNECT_TIMEOUT",
      get("SESSH_CONNECT_TIMEOUT") ?? "10",
      1,
    ),
    strictHostKeyChecking: strictHost(get("SESSH_STRICT_HOST") ?? "accept-new"),
    kexAlgorithms: algorithms("SESSH_KEX", get("SESSH_KEX") ?? DEFAULT_KEX),
    ciphers: algorithms(
      "SESSH_CIPHERS",
      get("SESSH_CIPHERS") ?? DEFAULT_CIPHERS,
    ),
    macs: algorithms("SESSH_MACS", get("SESSH_MACS") ?? DEFAULT_MACS),
    noProcfs: flag("SESSH_NO_PROCFS", get("SESSH_NO_PROCFS")),
  };
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

function argument(flag: string, value: string): string {
  if (value === "") throw new UsageError(`Option ${flag} needs a value`);
  if (value.startsWith("-")) {
    throw new UsageError(
      `Option ${flag} value "${value}" begins with "-"; pass a path or host, e.g. ./${value}`,
    );
  }
  if (CONTROL.test(value)) {
    throw new UsageError(
      `Option ${flag} value ${
        JSON.stringify(value)
      } contains control characters`,
    );
  }
  return value;
}

function optionalArgument(
  name: string,
  value: string | undefined,
): string | undefined {
  if (value === undefined) return undefined;
  if (value.startsWith("-")) {
    throw new UsageError(
      `${name} "${value}" begins with "-"; set it to a path or host`,
    );
  }
  if (CONTROL.test(value)) {
    throw new UsageError(
      `${name} ${JSON.stringify(value)} contains control characters`,
    );
  }
  return value;
}

function extraOption(value: string): string {
  argument("-o", value);
  const match = /^([A-Za-z][A-Za-z0-9]*)\s*(?:=|\s)\s*(\S.*)$/.exec(value);
  if (!match) {
    throw new UsageError(
      `Option -o "${value}" is not an ssh option; write -o Key=value`,
    );
  }
  const key = match[1];
  const managed = MANAGED_OPTIONS.find((name) =>
    name.toLowerCase() === key.toLowerCase()
  );
  if (managed) {
    throw new UsageError(
      `Option -o "${value}" sets ${managed}, which sessh manages itself; remove it (SESSH_CONTROL_DIR and SESSH_PERSIST tune the master)`,
    );
  }
  return value;
}

function port(value: string): number {
  const number = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(number >= 1 && number <= 65535)) {
    throw new UsageError(
      `Option -p "${value}" is not a port; pass a number from 1 to 65535`,
    );
  }
  return number;
}

function program(value: string | undefined): "ssh" | "autossh" {
  if (value === undefined || value === "ssh") return "ssh";
  if (value === "autossh") return "autossh";
  throw new UsageError(
    `SESSH_SSH "${value}" is not supported; set it to "ssh" or "autossh"`,
  );
}

/**
 * Whether a ControlMaster is used: `SESSH_CONTROL_MASTER=yes|no`, else
 * `auto` (or unset), which is yes everywhere but on Windows.
 *
 * @param value The variable's value, if set.
 * @param os The local system, as `Deno.build.os` names it.
 * @returns Whether calls go through a master.
 * @throws {UsageError} for any other value.
 *
 * @example
 * ```ts
 * import { controlMaster } from "./settings.ts";
 * console.log(controlMaster(undefined, "windows")); // false
 * console.log(controlMaster("no", "linux")); // false
 * ```
 */
export function controlMaster(
  value: string | undefined,
  os: typeof Deno.build.os,
): boolean {
  if (value === undefined || value === "auto") return os !== "windows";
  if (value === "yes") return true;
  if (value === "no") return false;
  throw new UsageError(
    `SESSH_CONTROL_MASTER "${value}" is not one of yes, no, auto; set no to go without a ControlMaster`,
  );
}

function persist(value: string): string {
  if (value === "yes" || /^(\d+[smhdwSMHDW]?)+$/.test(value)) return value;
  throw new UsageError(
    `SESSH_PERSIST "${value}" is not a ControlPersist time; use e.g. 8h, 30m, 600 or yes`,
  );
}

function seconds(name: string, value: string, min: number): number {
  const number = /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!(number >= min)) {
    throw new UsageError(
      `${name} "${value}" is not a whole number of seconds of at least ${min}`,
    );
  }
  return number;
}

function strictHost(value: string): string {
  const allowed = ["yes", "no", "accept-new", "off"];
  if (allowed.includes(value)) return value;
  throw new UsageError(
    `SESSH_STRICT_HOST "${value}" is not one of ${
      allowed.join(", ")
    }; ssh cannot ask for confirmation in batch mode`,
  );
}

function algorithms(name: string, value: string): string {
  if (/^[+^-]?[A-Za-z0-9@._-]+(,[A-Za-z0-9@._-]+)*$/.test(value)) return value;
  throw new UsageError(
    `${name} "${value}" is not a comma-separated list of algorithm names; see ssh -Q`,
  );
}

function flag(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "0") return false;
  if (value === "1") return true;
  throw new UsageError(
    `${name} "${value}" is not 1 or 0; set it to 1 or unset it`,
  );
}
