/**
 * Everything that shapes ssh's argv: the settings gathered from CLI flags
 * and `SESSH_*` environment variables, and pure functions that turn them
 * into the argv of a master, a mux client, a control command or a direct
 * connection.
 *
 * ssh keeps the FIRST value it sees for an option, from the command line
 * before any config file, so the user's `-o` options go first (they win
 * over our hardened defaults) and our defaults win over ssh config files.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { controlDir } from "./control_dir.ts";
import type { Destination } from "./destination.ts";

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
 * What a mux client prints, through its guard ProxyCommand, when the
 * master is gone and ssh tries to connect on its own instead.
 */
export const NO_MASTER_MESSAGE =
  "sessh: no ControlMaster is running for this destination";

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
 * import { settingsFromEnv } from "./options.ts";
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
  };
}

/**
 * The hardened option list every ssh invocation starts with: the user's
 * `-o` options first, then BatchMode and public-key-only authentication,
 * host key checking, keepalives, timeouts, modern algorithms, the control
 * path, and `-p`/`-i`/`-J`/`-F`.
 *
 * @param settings The settings.
 * @returns ssh arguments, without the program name or destination.
 *
 * @example
 * ```ts
 * import { baseOptions, settingsFromEnv } from "./options.ts";
 * const args = baseOptions(settingsFromEnv({ SESSH_CONTROL_DIR: "/tmp/ctl" }));
 * console.log(args.slice(0, 2)); // ["-o", "BatchMode=yes"]
 * ```
 */
export function baseOptions(settings: SshSettings): string[] {
  return optionsWith(settings, [`ControlPath=${settings.controlDir}/%C`]);
}

/** Options for {@linkcode masterArgv}. */
export interface MasterArgvOptions {
  /** Append ssh's log to this file (`-E`) so a background master's errors are kept. */
  logFile?: string;
}

/**
 * argv that starts a persistent ControlMaster and backgrounds it once
 * authenticated: `ssh … -o ControlMaster=yes -o ControlPersist=8h -f -N -- dest`.
 * With `program: "autossh"`, autossh holds it (`autossh -M 0 …`); run it
 * with {@linkcode masterEnv}.
 *
 * @param dest The destination; its port wins over `settings.port`.
 * @param settings The settings.
 * @param options Where the master logs.
 * @returns The full argv, program first.
 *
 * @example
 * ```ts
 * import { masterArgv, settingsFromEnv } from "./options.ts";
 * const argv = masterArgv({ host: "db1", display: "db1" }, settingsFromEnv({ SESSH_CONTROL_DIR: "/tmp/ctl" }));
 * console.log(argv.slice(-4)); // ["-f", "-N", "--", "db1"]
 * ```
 */
export function masterArgv(
  dest: Destination,
  settings: SshSettings,
  options: MasterArgvOptions = {},
): string[] {
  const program = settings.program === "autossh"
    ? ["autossh", "-M", "0"]
    : ["ssh"];
  return [
    ...program,
    ...baseOptions(withPort(settings, dest)),
    "-o",
    "ControlMaster=yes",
    "-o",
    `ControlPersist=${settings.persist}`,
    ...(options.logFile === undefined ? [] : ["-E", options.logFile]),
    "-f",
    "-N",
    "--",
    destinationArg(dest),
  ];
}

/**
 * Environment additions for running {@linkcode masterArgv}: autossh must
 * not give up when the first connection fails quickly.
 *
 * @param settings The settings.
 * @returns `{ AUTOSSH_GATETIME: "0" }` for autossh, else nothing.
 *
 * @example
 * ```ts
 * import { masterEnv, settingsFromEnv } from "./options.ts";
 * console.log(masterEnv(settingsFromEnv({ SESSH_CONTROL_DIR: "/tmp/c", SESSH_SSH: "autossh" })));
 * // { AUTOSSH_GATETIME: "0" }
 * ```
 */
export function masterEnv(settings: SshSettings): Record<string, string> {
  return settings.program === "autossh" ? { AUTOSSH_GATETIME: "0" } : {};
}

/** Options for {@linkcode clientArgv}. */
export interface ClientArgvOptions {
  /**
   * The master's real socket path (from `ensureMaster`). With it the
   * client can never fall back to a connection of its own: ssh's
   * `ControlMaster=no` alone silently connects directly when the socket
   * is missing.
   */
  controlPath?: string;
}

/**
 * argv of a mux client running one command through the master:
 * `ssh … -o ControlMaster=no -T -- dest COMMAND`.
 *
 * `remoteCommand` is handed to the remote shell as is, so it must be fixed
 * text chosen by sessh (the helper's loader), never text from the user.
 *
 * @param dest The destination; its port wins over `settings.port`.
 * @param settings The settings.
 * @param remoteCommand Fixed command line sessh runs remotely.
 * @param options The master's socket path, to forbid falling back.
 * @returns The full argv, program first.
 *
 * @example
 * ```ts
 * import { clientArgv, settingsFromEnv } from "./options.ts";
 * const settings = settingsFromEnv({ SESSH_CONTROL_DIR: "/tmp/ctl" });
 * const argv = clientArgv({ host: "db1", display: "db1" }, settings, "echo ok", {
 *   controlPath: "/tmp/ctl/0123",
 * });
 * console.log(argv.slice(-5)); // ["ControlMaster=no", "-T", "--", "db1", "echo ok"]
 * ```
 */
export function clientArgv(
  dest: Destination,
  settings: SshSettings,
  remoteCommand: string,
  options: ClientArgvOptions = {},
): string[] {
  const resolved = withPort(settings, dest);
  const args = options.controlPath === undefined ? baseOptions(resolved) : [
    // First, so that no user option or config file can replace it; it is
    // only run when ssh would connect by itself.
    "-o",
    `ProxyCommand=sh -c "echo '${NO_MASTER_MESSAGE}' >&2; exit 255"`,
    // Jump hosts are the master's business; ssh refuses -J with ProxyCommand.
    ...optionsWith({ ...resolved, jump: undefined }, [
      `ControlPath=${options.controlPath}`,
    ]),
  ];
  return [
    "ssh",
    ...args,
    "-o",
    "ControlMaster=no",
    "-T",
    "--",
    destinationArg(dest),
    remoteCommand,
  ];
}

/**
 * argv of `ssh -O check` or `ssh -O exit` for the destination's master.
 *
 * @param dest The destination; its port wins over `settings.port`.
 * @param settings The settings.
 * @param op `"check"` to ask whether it runs, `"exit"` to stop it.
 * @returns The full argv, program first.
 *
 * @example
 * ```ts
 * import { controlArgv, settingsFromEnv } from "./options.ts";
 * const argv = controlArgv({ host: "db1", display: "db1" }, settingsFromEnv({ SESSH_CONTROL_DIR: "/tmp/ctl" }), "check");
 * console.log(argv.slice(-4)); // ["-O", "check", "--", "db1"]
 * ```
 */
export function controlArgv(
  dest: Destination,
  settings: SshSettings,
  op: "check" | "exit",
): string[] {
  return [
    "ssh",
    ...baseOptions(withPort(settings, dest)),
    "-O",
    op,
    "--",
    destinationArg(dest),
  ];
}

/**
 * argv of a plain connection that neither uses nor creates a master, for
 * when the master is frozen: `ssh … -o ControlMaster=no -o ControlPath=none -T -- dest COMMAND`.
 * As with {@linkcode clientArgv}, `remoteCommand` must be fixed text.
 *
 * @param dest The destination; its port wins over `settings.port`.
 * @param settings The settings.
 * @param remoteCommand Fixed command line sessh runs remotely.
 * @returns The full argv, program first.
 *
 * @example
 * ```ts
 * import { directArgv, settingsFromEnv } from "./options.ts";
 * const argv = directArgv({ host: "db1", display: "db1" }, settingsFromEnv({ SESSH_CONTROL_DIR: "/tmp/ctl" }), "true");
 * console.log(argv.includes("ControlPath=none")); // true
 * ```
 */
export function directArgv(
  dest: Destination,
  settings: SshSettings,
  remoteCommand: string,
): string[] {
  return [
    "ssh",
    ...optionsWith(withPort(settings, dest), [
      "ControlMaster=no",
      "ControlPath=none",
    ]),
    "-T",
    "--",
    destinationArg(dest),
    remoteCommand,
  ];
}

/**
 * argv of `ssh -G`, which prints the configuration ssh would use,
 * including the expanded `controlpath`, without connecting.
 *
 * @param dest The destination; its port wins over `settings.port`.
 * @param settings The settings.
 * @returns The full argv, program first.
 *
 * @example
 * ```ts
 * import { configArgv, settingsFromEnv } from "./options.ts";
 * const argv = configArgv({ host: "db1", display: "db1" }, settingsFromEnv({ SESSH_CONTROL_DIR: "/tmp/ctl" }));
 * console.log(argv.slice(-3)); // ["-G", "--", "db1"]
 * ```
 */
export function configArgv(dest: Destination, settings: SshSettings): string[] {
  return [
    "ssh",
    ...baseOptions(withPort(settings, dest)),
    "-G",
    "--",
    destinationArg(dest),
  ];
}

/**
 * The destination as ssh's positional argument: `user@host` or `host`.
 *
 * @param dest The destination.
 * @returns `user@host`, or `host` when no user was given.
 *
 * @example
 * ```ts
 * import { destinationArg } from "./options.ts";
 * console.log(destinationArg({ host: "db1", user: "admin", display: "admin@db1" })); // "admin@db1"
 * ```
 */
export function destinationArg(dest: Destination): string {
  return dest.user === undefined ? dest.host : `${dest.user}@${dest.host}`;
}

function withPort(settings: SshSettings, dest: Destination): SshSettings {
  return dest.port === undefined ? settings : { ...settings, port: dest.port };
}

/** The user's options, our hardened defaults, `control` options, then the flags. */
function optionsWith(settings: SshSettings, control: string[]): string[] {
  const hardened = [
    "BatchMode=yes",
    "PasswordAuthentication=no",
    "KbdInteractiveAuthentication=no",
    "PubkeyAuthentication=yes",
    `StrictHostKeyChecking=${settings.strictHostKeyChecking}`,
    `ServerAliveInterval=${settings.keepAliveSeconds}`,
    "ServerAliveCountMax=3",
    `ConnectTimeout=${settings.connectTimeoutSeconds}`,
    `KexAlgorithms=${settings.kexAlgorithms}`,
    `Ciphers=${settings.ciphers}`,
    `MACs=${settings.macs}`,
    ...control,
  ];
  return [
    ...settings.extraOptions.flatMap((option) => ["-o", option]),
    ...hardened.flatMap((option) => ["-o", option]),
    ...(settings.identity === undefined
      ? []
      : ["-i", settings.identity, "-o", "IdentitiesOnly=yes"]),
    ...(settings.port === undefined ? [] : ["-p", String(settings.port)]),
    ...(settings.jump === undefined ? [] : ["-J", settings.jump]),
    ...(settings.configFile === undefined ? [] : ["-F", settings.configFile]),
  ];
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
