/**
 * `SesshClient`: one connection to the sessh daemon on a host, made through
 * a ControlMaster and a bridge process (or a plain ssh connection, with
 * `SESSH_CONTROL_MASTER=no`), with the requests every command uses.
 *
 * @module
 */
import { type Destination, parseDestination } from "../ssh/destination.ts";
import {
  settingsFromEnv,
  type SshFlags,
  type SshSettings,
} from "../ssh/settings.ts";
import type { MasterInfo } from "../ssh/master.ts";
import { Connection } from "../transport/connection.ts";
import type { Transport } from "../transport/bridge.ts";
import { requireFileCopies } from "./file_caps.ts";
import { ConnectionLostError, DaemonGoneError, UsageError } from "../errors.ts";
import { leaseBridge, type Leased, startAgent } from "../transport/lease.ts";
import type { SessionInfo } from "../types.ts";
import type { Message } from "../protocol/frame.ts";
import { sessionInfo } from "./wire.ts";
import { Session } from "./session.ts";
import { validateName } from "./name.ts";
import { type OpenOptions, type OpenResult, openSession } from "./open.ts";
// Copies load their modules when they start: most calls copy nothing.
import type {
  RemoteFileInfo,
  TransferOptions,
  TransferResult,
} from "./files.ts";
import { CAPS, OPS } from "../contract/spec.ts";

export { validateName };
export type { OpenOptions, OpenResult };

/** How to reach a host. */
export interface ClientOptions {
  /** `host`, `user@host`, `ssh://user@host:port` or an ssh config alias. */
  destination: string;
  /** A port given separately (the CLI's trailing PORT argument). */
  port?: string;
  /** ssh flags: `-p`, `-i`, `-J`, `-F`, `-o`. */
  ssh?: SshFlags;
  /**
   * Environment to read `SESSH_*` settings from.
   * @default {Deno.env.toObject()}
   */
  env?: Record<string, string | undefined>;
  /**
   * How long connecting and starting the helper may take, in milliseconds.
   * @default {(SESSH_CONNECT_TIMEOUT + 5) * 1000}
   */
  connectTimeoutMs?: number;
  /**
   * Cancels connecting: an aborted signal, before or during it, rejects
   * with `signal.reason` (an `AbortError` `DOMException` by default), and
   * whatever was spawned is killed. Running out of `connectTimeoutMs` is a
   * `ConnectError` instead.
   */
  signal?: AbortSignal;
  /**
   * Borrow an open bridge from the local agent (started on first use), so
   * that a call costs one round trip; falls back to a bridge of its own.
   * For short-lived processes such as the command line; a long-lived
   * client holds its own connection anyway.
   * @default {false}
   */
  warm?: boolean;
}

/** Options for {@linkcode SesshClient.disconnect}. */
export interface DisconnectOptions {
  /**
   * Also stop the ControlMaster when this client started it.
   * @default {false}
   */
  stopMaster?: boolean;
}

/** How a client reached the daemon. */
export interface CallPath {
  /**
   * Through the destination's ControlMaster (`"controlmaster"`) or a plain
   * ssh connection (`"direct"`, `SESSH_CONTROL_MASTER=no`).
   */
  transport: Transport;
  /** Whether through a bridge the local agent kept open. */
  warm: boolean;
  /** Why not, when not. */
  reason: string | null;
  /** Process id of the local agent, when warm. */
  agentPid: number | null;
}

/**
 * A connection to the sessh daemon of one user on one host.
 *
 * @example
 * ```ts ignore
 * import { SesshClient } from "@sessh/cli";
 * await using client = await SesshClient.connect({ destination: "me@build-box" });
 * const session = client.session("work");
 * const result = await session.run("make test", { timeoutMs: 600_000 });
 * console.log(result.exitCode, result.output);
 * ```
 */
export class SesshClient implements AsyncDisposable {
  /** The parsed destination. */
  readonly destination: Destination;
  /** The ssh settings in force. */
  readonly settings: SshSettings;
  #master: MasterInfo | null;
  #daemon: SesshClient["daemon"];
  #path: CallPath;
  #connection: Connection;
  #end: () => void;
  /** How it connected, to connect again the same way. */
  #options: ClientOptions = { destination: "" };
  #reviving: Promise<void> | null = null;
  #disconnected = false;

  private constructor(
    destination: Destination,
    settings: SshSettings,
    master: MasterInfo | null,
    connection: Connection,
    end: () => void,
    hello: Message,
    path: CallPath,
  ) {
    this.#path = path;
    this.destination = destination;
    this.settings = settings;
    this.#master = master;
    this.#connection = connection;
    this.#end = end;
    this.#daemon = {
      pid: Number(hello.pid),
      helper: String(hello.helper),
      runtimeDir: String(hello.runtime_dir),
      caps: Array.isArray(hello.caps) ? hello.caps.map(String) : [],
    };
  }

  /**
   * The ControlMaster this client goes through; null when it goes without
   * one (`SESSH_CONTROL_MASTER=no`).
   */
  get master(): MasterInfo | null {
    return this.#master;
  }

  /** What the daemon said in its hello; `caps`: what it can do. */
  get daemon(): {
    pid: number;
    helper: string;
    runtimeDir: string;
    caps: string[];
  } {
    return this.#daemon;
  }

  /** How this client reached the daemon: warm (through the agent) or direct, and why. */
  get path(): CallPath {
    return this.#path;
  }

  /**
   * Parses options and settings without connecting, so that bad input is
   * refused before ssh runs.
   *
   * @param options Destination and ssh flags.
   * @returns The destination and settings.
   * @ignore
   */
  static prepare(
    options: ClientOptions,
  ): { destination: Destination; settings: SshSettings } {
    const destination = parseDestination(options.destination, options.port);
    const settings = settingsFromEnv(
      options.env ?? Deno.env.toObject(),
      options.ssh ?? {},
    );
    return { destination, settings };
  }

  /**
   * Connects: makes sure a ControlMaster is up (replacing a dead or frozen
   * one), starts the helper's bridge over it and greets the daemon. With
   * `SESSH_CONTROL_MASTER=no` the bridge is a plain ssh connection instead.
   *
   * @param options Destination, ssh flags and settings.
   * @returns A connected client.
   */
  static async connect(options: ClientOptions): Promise<SesshClient> {
    const client = await SesshClient.#connect(options);
    client.#options = { ...options, signal: undefined };
    return client;
  }

  static async #connect(options: ClientOptions): Promise<SesshClient> {
    const { destination, settings } = SesshClient.prepare(options);
    options.signal?.throwIfAborted();
    let direct = "the warm path was not asked for";
    let agentDue = false;
    if (options.warm) {
      const leased = await leaseBridge(settings.controlDir, {
        destination: options.destination,
        port: options.port,
        ssh: options.ssh ?? {},
        env: options.env ?? Deno.env.toObject(),
        timeoutMs: options.connectTimeoutMs ??
          (settings.connectTimeoutSeconds + 5) * 1000,
      });
      if (!("reason" in leased)) {
        // The agent answers within its deadline; an abort meanwhile wins.
        if (options.signal?.aborted) {
          leased.close();
          throw options.signal.reason;
        }
        return SesshClient.#fromLease(destination, settings, leased);
      }
      direct = leased.reason;
      agentDue = leased.agentDue;
    }
    // Loaded here: a call the agent serves needs no master, bridge or
    // helper, and their modules (the packed helper is 60 KB) stay unread.
    // The master's control path (`ssh -G`, a process of its own) is asked
    // for while they load.
    const controlPath = settings.controlMaster
      ? import("../ssh/control_path.ts").then((m) =>
        m.resolveControlPath(destination, settings)
      )
      : undefined;
    controlPath?.catch(() => {}); // awaited by the master's start, or dropped
    const { openBridge } = await import("../transport/bridge.ts");
    const bridge = await openBridge(destination, settings, {
      timeoutMs: options.connectTimeoutMs,
      signal: options.signal,
      controlPath,
    });
    const connection = new Connection(bridge.channel, {
      onLost: () => bridge.ended(true),
      kill: bridge.kill,
    });
    // The agent for the next call starts when this one ends: on a small
    // machine its start-up would otherwise slow this call down.
    const end = agentDue
      ? () => {
        bridge.kill();
        if (agentDue) startAgent(settings.controlDir);
        agentDue = false;
      }
      : bridge.kill;
    return new SesshClient(
      destination,
      settings,
      bridge.master,
      connection,
      end,
      bridge.hello,
      {
        transport: bridge.transport,
        warm: false,
        reason: direct,
        agentPid: null,
      },
    );
  }

  static #fromLease(
    destination: Destination,
    settings: SshSettings,
    leased: Leased,
  ): SesshClient {
    const where = JSON.stringify(destination.display);
    const connection = new Connection(leased.channel, {
      onLost: () =>
        Promise.resolve(
          new ConnectionLostError(
            `The connection to ${where} through the local sessh agent was lost`,
            { delivery: "unknown" },
          ),
        ),
      kill: leased.close,
    });
    return new SesshClient(
      destination,
      settings,
      leased.master,
      connection,
      leased.close,
      leased.hello,
      {
        transport: leased.transport,
        warm: true,
        reason: null,
        agentPid: leased.agentPid,
      },
    );
  }

  /**
   * Connects anew when the link died: the daemon was killed (its sessions
   * are lost; the new daemon reports them as such) or the connection was
   * lost. Every call of the client and its sessions does this first, so
   * the next call after such a failure goes through a new bridge and
   * daemon. After {@linkcode SesshClient.disconnect} nothing reconnects.
   *
   * @ignore
   */
  async revive(): Promise<void> {
    const lost = this.#connection.lostError;
    const dead = lost instanceof DaemonGoneError ||
      lost instanceof ConnectionLostError;
    if (this.#disconnected || !dead) return;
    this.#reviving ??= this.#reconnect().finally(() => this.#reviving = null);
    await this.#reviving;
  }

  async #reconnect(): Promise<void> {
    this.#end();
    const fresh = await SesshClient.#connect(this.#options);
    this.#connection = fresh.#connection;
    this.#end = fresh.#end;
    this.#master = fresh.#master;
    this.#daemon = fresh.#daemon;
    this.#path = fresh.#path;
  }

  /**
   * The underlying connection, for sessh's own modules.
   *
   * @ignore
   */
  get connection(): Connection {
    return this.#connection;
  }

  /**
   * A handle on one named session (nothing is sent until it is used).
   *
   * @param name Session name.
   * @returns The session handle.
   */
  session(name: string): Session {
    return new Session(this, validateName(name));
  }

  /**
   * Creates the session, or reuses it when it exists.
   *
   * @param name Session name.
   * @param options Shell, environment and terminal size for a new session.
   * @returns Whether it was created, and its description.
   */
  async open(name: string, options: OpenOptions = {}): Promise<OpenResult> {
    const valid = validateName(name);
    await this.revive();
    return await openSession(this.#connection, valid, options);
  }

  /**
   * Every live session of this user on the host, oldest first.
   *
   * @returns The sessions.
   */
  async list(): Promise<SessionInfo[]> {
    await this.revive();
    const reply = await this.#connection.request(OPS.list, {});
    return (reply.sessions as Message[]).map(sessionInfo);
  }

  /**
   * Copies a local file to the host. A file of more than 8 MiB goes through
   * the host's sftp subsystem over the master, at 0.7–0.9× scp's pace for
   * 100 MB (about twice the daemon's); a smaller one, a tree, or any file
   * without a master goes through the daemon, part by part on this
   * connection, which needs no sftp subsystem (`via` chooses). Either way
   * the file is written to a part beside the target and renamed over it, so
   * that a copy cut short leaves the old file, and paths are never on a
   * command line. A relative remote path is
   * taken in the home directory; a remote directory receives the file under
   * its local name. With `recursive`, a directory and everything in it, as
   * `scp -r` does (links are skipped and counted).
   *
   * @param localPath The file (or directory) to send.
   * @param remotePath Where to put it on the host.
   * @param options `recursive`, `resume` a partial copy (file by file),
   *   `onProgress`, `signal`, `via`.
   * @returns The remote file's absolute path, the bytes, where it resumed,
   *   and which way the bytes went.
   * @throws {SesshError} `no_file` or `file_denied` when the host cannot
   *   write there, `usage` when the local path is not a file.
   *
   * @example
   * ```ts ignore
   * import { SesshClient } from "@sessh/cli";
   * await using client = await SesshClient.connect({ destination: "me@box" });
   * const sent = await client.upload("dist/app.tar.gz", "releases/", {
   *   resume: true,
   * });
   * console.log(sent.remotePath, sent.bytes); // /home/me/releases/app.tar.gz 1048576
   * ```
   */
  async upload(
    localPath: string,
    remotePath: string,
    options: TransferOptions = {},
  ): Promise<TransferResult> {
    // Aborted already: nothing starts. During the copy, the abort takes
    // effect before the next part, once the file is closed, so that a
    // `resume` right after finds it as it stays.
    options.signal?.throwIfAborted();
    await this.revive();
    const how = {
      ...options,
      partFiles: this.daemon.caps.includes(CAPS.part_files),
    };
    // sftp copies a file even for a daemon that predates file requests.
    if (!options.recursive) {
      const { copyOneFile } = await import("./sftp_copy.ts");
      return await copyOneFile(this, "upload", localPath, remotePath, how);
    }
    this.#requireFiles();
    this.#treeThroughDaemon(options);
    const { uploadPath } = await import("./file_trees.ts");
    return {
      ...await uploadPath(this.#connection, localPath, remotePath, how),
      via: "helper",
    };
  }

  /**
   * Copies a file from the host, through sftp or the daemon as
   * {@linkcode SesshClient.upload} chooses, to a part beside the local
   * target that is synced and renamed over it. A local directory receives
   * the file under its remote name. With `recursive`, a directory tree;
   * every path the host lists is checked to stay inside the destination.
   *
   * @param remotePath The file (or directory) on the host.
   * @param localPath Where to put it here.
   * @param options `recursive`, `resume` a partial copy (file by file),
   *   `onProgress`, `signal`, `via`.
   * @returns The local file's path, the bytes, where it resumed, and which
   *   way the bytes went.
   * @throws {SesshError} `no_file` or `file_denied` when the host cannot
   *   read it, `usage` for a remote directory without `recursive`.
   *
   * @example
   * ```ts ignore
   * import { SesshClient } from "@sessh/cli";
   * await using client = await SesshClient.connect({ destination: "me@box" });
   * const got = await client.download("project/build.log", ".");
   * console.log(got.localPath); // ./build.log
   * ```
   */
  async download(
    remotePath: string,
    localPath: string,
    options: TransferOptions = {},
  ): Promise<TransferResult> {
    // Aborted already: nothing starts. During the copy, the abort takes
    // effect before the next part, once the file is closed, so that a
    // `resume` right after finds it as it stays.
    options.signal?.throwIfAborted();
    await this.revive();
    if (!options.recursive) {
      const { copyOneFile } = await import("./sftp_copy.ts");
      return await copyOneFile(
        this,
        "download",
        localPath,
        remotePath,
        options,
      );
    }
    this.#requireFiles();
    this.#treeThroughDaemon(options);
    const { downloadPath } = await import("./file_trees.ts");
    return {
      ...await downloadPath(this.#connection, remotePath, localPath, options),
      via: "helper",
    };
  }

  /** A tree goes through the daemon here; `cp -r` is the way through sftp. */
  #treeThroughDaemon(options: TransferOptions): void {
    if (options.via === "sftp") {
      throw new UsageError(
        'The library copies a tree (recursive) through the sessh daemon; leave out via: "sftp", or copy the tree with sessh cp -r',
      );
    }
  }

  /**
   * The file or directory at a path on the host, or null when there is none.
   *
   * @param path The remote path; a relative one is taken in the home directory.
   * @returns Its absolute path, size and whether it is a directory.
   *
   * @example
   * ```ts ignore
   * import { SesshClient } from "@sessh/cli";
   * await using client = await SesshClient.connect({ destination: "me@box" });
   * console.log(await client.stat(".bashrc")); // { path: "/home/me/.bashrc", size: 3771, dir: false }
   * ```
   */
  async stat(path: string): Promise<RemoteFileInfo | null> {
    await this.revive();
    this.#requireFiles();
    const { remoteStat } = await import("./files.ts");
    return await remoteStat(this.#connection, path);
  }

  /** A daemon started by an older helper lacks the file requests. */
  #requireFiles(): void {
    requireFileCopies(this);
  }

  /**
   * Stops the ControlMaster of this destination (sessions keep running).
   * Without a master (`SESSH_CONTROL_MASTER=no`) there is none to stop.
   */
  async stopMaster(): Promise<void> {
    const { stopMaster } = await import("../ssh/master.ts");
    await stopMaster(this.destination, this.settings);
  }

  /**
   * Closes the bridge; the sessions keep running on the host. The
   * ControlMaster stays up for the next client (for `ControlPersist`)
   * unless `stopMaster` asks otherwise.
   *
   * @param options `stopMaster: true` also stops the master when this
   *   client started it (one it found running may serve others: stop that
   *   with {@linkcode SesshClient.stopMaster}).
   *
   * @example
   * ```ts ignore
   * import { SesshClient } from "@sessh/cli";
   * const client = await SesshClient.connect({ destination: "me@box" });
   * await client.session("work").run("make");
   * await client.disconnect({ stopMaster: true });
   * ```
   */
  async disconnect(options: DisconnectOptions = {}): Promise<void> {
    this.#disconnected = true;
    await this.#reviving?.catch(() => {});
    await this.#connection.close();
    this.abandon();
    if (options.stopMaster && this.master?.started) await this.stopMaster();
  }

  /**
   * Drops this connection at once without a goodbye, for a link that is dead
   * or frozen: kills the local ssh client of the bridge. Sessions keep
   * running on the host.
   */
  abandon(): void {
    this.#end();
  }

  /** Same as {@linkcode SesshClient.disconnect}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect();
  }
}
