/**
 * Test fixture: a real OpenSSH server on 127.0.0.1, with fresh keys and an
 * isolated remote runtime directory, that cleans up everything it caused
 * when disposed (`await using sshd = await startSshd()`).
 *
 * @module
 */

import { runCommand, spawnBackground } from "../lib/process.ts";
import { settingsFromEnv } from "../lib/ssh/settings.ts";
import {
  isRunning,
  listPids,
  parentPid,
  readCmdline,
  readEnviron,
  waitForExit,
} from "../lib/ssh/procfs.ts";

/** Options for {@linkcode startSshd}. */
export interface SshdOptions {
  /** Lines appended to `sshd_config`, e.g. `["MaxSessions 1"]`. */
  extraConfig?: string[];
  /**
   * HOME of the remote login.
   * @default {"<dir>/home"}
   */
  home?: string;
  /**
   * How long to wait for sshd to accept connections.
   * @default {10000}
   */
  readyTimeoutMs?: number;
  /**
   * Whether remote logins get `XDG_RUNTIME_DIR` (`remoteRuntimeDir`); without
   * it the helper picks its runtime directory as on hosts without one.
   * @default {true}
   */
  xdgRuntime?: boolean;
  /**
   * Whether the server offers the sftp subsystem, as most do; without it
   * `cp` copies through the daemon.
   * @default {true}
   */
  sftp?: boolean;
}

/** A running test sshd and everything needed to reach it. */
export interface TestSshd extends AsyncDisposable {
  /** TCP port sshd listens on at 127.0.0.1. */
  port: number;
  /** Login user: the current user. */
  user: string;
  /** Private temporary directory holding every file of the fixture. */
  dir: string;
  /** Client config with `Host sessh-test`; pass as `-F`. */
  configFile: string;
  /** Private key authorized to log in. */
  identity: string;
  /** known_hosts already holding the host key for `[127.0.0.1]:port`. */
  knownHosts: string;
  /** The host's public key line, `ssh-ed25519 AAAA… comment`. */
  hostPublicKey: string;
  /** Control socket directory for sessh (`<dir>/ctl`, not created). */
  controlDir: string;
  /**
   * `XDG_RUNTIME_DIR` of remote sessions (created, mode 0700; not passed to
   * them with `xdgRuntime: false`).
   */
  remoteRuntimeDir: string;
  /** `XDG_CACHE_HOME` of remote sessions (not created). */
  remoteCacheDir: string;
  /** HOME of the remote login. */
  home: string;
  /** Environment for running the sessh CLI against this server. */
  env: Record<string, string>;
  /** The destination alias defined in `configFile`: `"sessh-test"`. */
  dest: string;
  /** ssh arguments selecting the client config: `["-F", configFile]`. */
  sshArgs: string[];
  /** sshd's log file (LogLevel VERBOSE). */
  logFile: string;
  /** Process id of the listening sshd. */
  pid: number;
}

const SSHD = "/usr/sbin/sshd";
const DEST = "sessh-test";

/**
 * Starts `/usr/sbin/sshd -D` on a free port of 127.0.0.1 with its own host
 * key, user key, authorized_keys and known_hosts, and waits until it
 * answers with an SSH banner.
 *
 * @param options Extra sshd_config lines and the readiness timeout.
 * @returns The running server; dispose it to stop it and clean up.
 *
 * @example
 * ```ts
 * import { startSshd } from "./_sshd.ts";
 * await using sshd = await startSshd();
 * console.log(sshd.dest, sshd.sshArgs); // "sessh-test" ["-F", "/tmp/…/ssh_config"]
 * ```
 */
export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  // A short path under /tmp keeps control socket paths under 108 bytes.
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "sessh-sshd-" });
  try {
    return await start(dir, options);
  } catch (error) {
    await cleanUp({
      dir,
      pid: undefined,
      controlDir: `${dir}/ctl`,
      remoteRuntimeDir: `${dir}/remote-run`,
      remoteCacheDir: `${dir}/remote-cache`,
    });
    throw error;
  }
}

async function start(dir: string, options: SshdOptions): Promise<TestSshd> {
  const user = await currentUser();
  const remoteRuntimeDir = `${dir}/remote-run`;
  const remoteCacheDir = `${dir}/remote-cache`;
  // A HOME of its own: the user's startup files (slow version-manager
  // hooks, say) stay out of the tests, and tests may write ~/.hushlogin.
  const home = options.home ?? `${dir}/home`;
  await Deno.mkdir(home, { recursive: true, mode: 0o700 });
  await Deno.mkdir(remoteRuntimeDir, { mode: 0o700 });
  await Deno.chmod(remoteRuntimeDir, 0o700);
  await ensurePrivsepDir();

  const hostKey = `${dir}/host_ed25519`;
  const identity = `${dir}/id_ed25519`;
  await keygen(hostKey, "sessh-test-host");
  await keygen(identity, "sessh-test-user");
  const hostPublicKey = (await Deno.readTextFile(`${hostKey}.pub`)).trim();
  await Deno.copyFile(`${identity}.pub`, `${dir}/authorized_keys`);

  const logFile = `${dir}/sshd.log`;
  const sshdConfig = `${dir}/sshd_config`;
  const { child, port } = await listen(dir, logFile, sshdConfig, (port) =>
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "StrictModes no",
      "UsePAM no",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      `PidFile ${dir}/sshd.pid`,
      `SetEnv ${
        options.xdgRuntime === false
          ? ""
          : `XDG_RUNTIME_DIR=${remoteRuntimeDir} `
      }XDG_CACHE_HOME=${remoteCacheDir} HOME=${home}`,
      "MaxSessions 50",
      "MaxStartups 100",
      "UseDNS no",
      "PrintMotd no",
      "LogLevel VERBOSE",
      // As most servers have it: cp goes through sftp.
      ...(options.sftp === false ? [] : ["Subsystem sftp internal-sftp"]),
      ...(options.extraConfig ?? []),
    ].join("\n") + "\n", options.readyTimeoutMs ?? 10_000);

  const knownHosts = `${dir}/known_hosts`;
  const hostKeyOnly = hostPublicKey.split(" ").slice(0, 2).join(" ");
  await Deno.writeTextFile(knownHosts, `[127.0.0.1]:${port} ${hostKeyOnly}\n`);
  const configFile = `${dir}/ssh_config`;
  await Deno.writeTextFile(
    configFile,
    [
      `Host ${DEST}`,
      "  HostName 127.0.0.1",
      `  Port ${port}`,
      `  User ${user}`,
      `  IdentityFile ${identity}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${knownHosts}`,
      "  GlobalKnownHostsFile /dev/null",
      "",
    ].join("\n"),
  );

  const controlDir = `${dir}/ctl`;
  return {
    port,
    user,
    dir,
    configFile,
    identity,
    knownHosts,
    hostPublicKey,
    controlDir,
    remoteRuntimeDir,
    remoteCacheDir,
    home,
    env: {
      SESSH_CONTROL_DIR: controlDir,
      SESSH_CONNECT_TIMEOUT: "5",
      // Deno's own release check would look up dl.deno.land.
      DENO_NO_UPDATE_CHECK: "1",
      // A run of the suites with the portable backend reaches library calls too.
      ...backendEnv(),
    },
    dest: DEST,
    sshArgs: ["-F", configFile],
    logFile,
    pid: child.pid,
    async [Symbol.asyncDispose]() {
      await cleanUp({
        dir,
        pid: child.pid,
        controlDir,
        remoteRuntimeDir,
        remoteCacheDir,
      });
      await child.status;
    },
  };
}

/**
 * The variables that pick a backend (process lookups, transport, the
 * agent's socket), passed on from the test run so that library calls with
 * the fixture's `env` take the same ways as the command line does: CI runs
 * suites again with each set.
 */
function backendEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (
    const name of [
      "SESSH_NO_PROCFS",
      "SESSH_CONTROL_MASTER",
      "SESSH_AGENT_LISTEN",
    ]
  ) {
    const value = Deno.env.get(name);
    if (value) env[name] = value;
  }
  return env;
}

/** Picks a free port and starts sshd on it, retrying if another process takes the port first. */
async function listen(
  dir: string,
  logFile: string,
  sshdConfig: string,
  config: (port: number) => string,
  readyTimeoutMs: number,
): Promise<{ child: Deno.ChildProcess; port: number }> {
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    await Deno.writeTextFile(sshdConfig, config(port));
    await Deno.writeTextFile(logFile, "");
    const child = spawnBackground([
      SSHD,
      "-D",
      "-e",
      "-E",
      logFile,
      "-f",
      sshdConfig,
    ], { cwd: dir });
    const exited = child.status.then(() => "exited" as const);
    const ready = await Promise.race([
      waitForBanner(port, readyTimeoutMs),
      exited,
    ]);
    if (ready === true) return { child, port };
    if (ready === false) {
      child.kill("SIGKILL");
      await child.status;
    } else {
      await child.status;
    }
    const log = await Deno.readTextFile(logFile);
    if (attempt < 3 && log.includes("Address already in use")) continue;
    throw new Error(
      `sshd did not start on 127.0.0.1:${port}; its log says:\n${log}`,
    );
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Polls until the port answers with an SSH banner; `false` on timeout. */
async function waitForBanner(
  port: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await readsBanner(port, 1000)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

async function readsBanner(port: number, timeoutMs: number): Promise<boolean> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch {
    return false;
  }
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    const buffer = new Uint8Array(64);
    const n = await conn.read(buffer);
    return n !== null &&
      new TextDecoder().decode(buffer.subarray(0, n)).startsWith("SSH-2.0-");
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
}

/**
 * Makes a fresh ed25519 key pair without a passphrase.
 *
 * @param path Where the private key goes (`.pub` beside it).
 * @param comment The key's comment.
 */
export async function keygen(
  path: string,
  comment = "sessh-test",
): Promise<void> {
  const result = await runCommand(
    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path],
    { timeoutMs: 10_000 },
  );
  if (result.code !== 0) {
    throw new Error(
      `ssh-keygen failed for ${path}: ${
        new TextDecoder().decode(result.stderr)
      }`,
    );
  }
}

async function currentUser(): Promise<string> {
  const result = await runCommand(["id", "-un"], { timeoutMs: 5000 });
  const name = new TextDecoder().decode(result.stdout).trim();
  if (result.code !== 0 || name === "") {
    throw new Error("Cannot tell the current user name (id -un)");
  }
  return name;
}

/** sshd refuses to start without its privilege separation directory. */
async function ensurePrivsepDir(): Promise<void> {
  try {
    await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  } catch (error) {
    if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
  }
}

interface Leftovers {
  dir: string;
  pid: number | undefined;
  controlDir: string;
  remoteRuntimeDir: string;
  remoteCacheDir: string;
}

/**
 * Stops masters politely, then SIGKILLs everything this fixture caused:
 * sshd's descendants, processes started with this fixture's remote
 * runtime dir or control dir in their environment (the remote helper, its
 * shells, sessh CLIs and their ssh), and any process naming the fixture's
 * directory on its command line (ssh masters and clients). sshd itself
 * goes last so that it reaps its session processes.
 */
async function cleanUp(
  { dir, pid, controlDir, remoteRuntimeDir, remoteCacheDir }: Leftovers,
): Promise<void> {
  await exitMasters(controlDir);
  const belongs = (candidate: number) => {
    const env = readEnviron(candidate);
    // XDG_CACHE_HOME: remote processes of a fixture without XDG_RUNTIME_DIR.
    return env?.XDG_RUNTIME_DIR === remoteRuntimeDir ||
      env?.XDG_CACHE_HOME === remoteCacheDir ||
      env?.SESSH_CONTROL_DIR === controlDir ||
      (readCmdline(candidate)?.some((arg) => arg.includes(`${dir}/`)) ?? false);
  };
  const sweep = async (extra: number[]) => {
    const victims = new Set(extra);
    for (const candidate of listPids()) {
      if (candidate !== Deno.pid && candidate !== pid && belongs(candidate)) {
        victims.add(candidate);
      }
    }
    for (const victim of victims) signal(victim, "SIGKILL");
    await waitForExit(victims, 3000);
  };
  await sweep(pid === undefined ? [] : descendantsOf(pid));
  if (pid !== undefined) {
    signal(pid, "SIGTERM");
    if (!(await waitForExit([pid], 3000))) signal(pid, "SIGKILL");
  }
  // Anything a dying process started meanwhile.
  await sweep([]);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** `ssh -O exit` for every socket in the control dir, each with a timeout. */
async function exitMasters(controlDir: string): Promise<void> {
  const sockets: string[] = [];
  try {
    for (const entry of Deno.readDirSync(controlDir)) {
      const path = `${controlDir}/${entry.name}`;
      if (Deno.lstatSync(path).isSocket) sockets.push(path);
    }
  } catch {
    return;
  }
  await Promise.all(
    sockets.map((socket) =>
      runCommand(["ssh", "-F", "/dev/null", "-S", socket, "-O", "exit", DEST], {
        timeoutMs: 2000,
      })
    ),
  );
}

function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of listPids()) {
    const parent = parentPid(pid);
    if (parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const found: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

function signal(pid: number, name: Deno.Signal): void {
  if (!isRunning(pid)) return;
  try {
    Deno.kill(pid, name);
  } catch {
    // It exited meanwhile.
  }
}

/**
 * Whether the suites run through a ControlMaster, as sessh decides it from
 * `SESSH_CONTROL_MASTER`. Cases about the master itself are guarded by it,
 * each with its reason, so that a run with `SESSH_CONTROL_MASTER=no` tests
 * everything else without a master.
 *
 * @returns Whether calls go through a master.
 */
export function usesControlMaster(): boolean {
  const value = Deno.env.get("SESSH_CONTROL_MASTER");
  return settingsFromEnv({
    SESSH_CONTROL_DIR: "/tmp",
    ...(value ? { SESSH_CONTROL_MASTER: value } : {}),
  }).controlMaster;
}
