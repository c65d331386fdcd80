/**
 * ssh's argv, from the settings (see `settings.ts`): pure functions that
 * build the argv of a master, a mux client, a control command, a direct
 * connection or a config query.
 *
 * ssh keeps the FIRST value it sees for an option, from the command line
 * before any config file, so the user's `-o` options go first (they win
 * over our hardened defaults) and our defaults win over ssh config files.
 *
 * @module
 */

import type { Destination } from "./destination.ts";
import type { SshSettings } from "./settings.ts";

/**
 * What a mux client prints, through its guard ProxyCommand, when the
 * master is gone and ssh tries to connect on its own instead.
 */
export const NO_MASTER_MESSAGE =
  "sessh: no ControlMaster is running for this destination";

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
 * import { baseOptions } from "./options.ts";
 * import { settingsFromEnv } from "./settings.ts";
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
 * import { masterArgv } from "./options.ts";
 * import { settingsFromEnv } from "./settings.ts";
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
 * import { masterEnv } from "./options.ts";
 * import { settingsFromEnv } from "./settings.ts";
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
 * import { clientArgv } from "./options.ts";
 * import { settingsFromEnv } from "./settings.ts";
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
 * import { controlArgv } from "./options.ts";
 * import { settingsFromEnv } from "./settings.ts";
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
 * import { directArgv } from "./options.ts";
 * import { settingsFromEnv } from "./settings.ts";
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
 * argv of a plain connection that holds one port forward and runs nothing,
 * for when there is no ControlMaster to add it to: `ssh -v -n -N … -o
 * ExitOnForwardFailure=yes -L SPEC -- dest`. `-v` comes first, so that no
 * `LogLevel` can hide the lines that tell the forward is up; a forward
 * that cannot be set up ends ssh instead of leaving a connection with none.
 *
 * @param dest The destination; its port wins over `settings.port`.
 * @param settings The settings.
 * @param forward The forward (checked by `parseForward`).
 * @returns The full argv, program first.
 *
 * @example
 * ```ts
 * import { forwardArgv } from "./options.ts";
 * import { settingsFromEnv } from "./settings.ts";
 * const argv = forwardArgv({ host: "db1", display: "db1" }, settingsFromEnv({ SESSH_CONTROL_DIR: "/tmp/ctl" }), { kind: "L", spec: "8080:localhost:80" });
 * console.log(argv.slice(-4)); // ["-L", "8080:localhost:80", "--", "db1"]
 * ```
 */
export function forwardArgv(
  dest: Destination,
  settings: SshSettings,
  forward: { kind: "L" | "R" | "D"; spec: string },
): string[] {
  return [
    "ssh",
    "-v",
    "-n",
    "-N",
    ...optionsWith(withPort(settings, dest), [
      "ControlMaster=no",
      "ControlPath=none",
      "ExitOnForwardFailure=yes",
    ]),
    `-${forward.kind}`,
    forward.spec,
    "--",
    destinationArg(dest),
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
 * import { configArgv } from "./options.ts";
 * import { settingsFromEnv } from "./settings.ts";
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
