/**
 * One framed connection to the remote daemon through an ssh bridge process:
 * request/reply by id, and the events the daemon pushes routed to the calls
 * that wait for them, session by session.
 *
 * Many calls share one connection (a script's `Promise.all`, an MCP
 * server's parallel tools), so no call may take another's events, and none
 * may hold up the others: an event goes to every mailbox open for its
 * session, and one for a session nobody waits on is dropped at once.
 * Reading never stops for a slow or abandoned consumer, since replies to
 * every other call come on the same stream; output such a consumer cannot
 * keep up with becomes a gap it reads back from the session's buffer (see
 * `mailbox.ts`). Only a mailbox that asks for it (attach, alone on its
 * connection) stops the reading while it is full.
 *
 * @module
 */
import { encodeFrame, FrameDecoder, type Message } from "../protocol/frame.ts";
import { type CancelTimer, startTimer } from "../timer.ts";
import { concatBytes } from "../bytes.ts";
import {
  atCaller,
  ConnectionLostError,
  DaemonGoneError,
  isErrorCode,
  SesshError,
  SessionError,
  TimeoutError,
} from "../errors.ts";
import {
  type EventSource,
  Mailbox,
  type MailboxHost,
  type MailboxOptions,
} from "./mailbox.ts";
import {
  DAEMON_ERRORS,
  type DaemonErrorCode,
  type ErrorCode,
  EVENTS,
  type Op,
  OPS,
} from "../contract/spec.ts";

// The codes of a session's state, which SessionError carries.
type SessionCode = ConstructorParameters<typeof SessionError>[0];
const SESSION_CODES: ReadonlySet<ErrorCode> = new Set<SessionCode>([
  "session_busy",
  "session_lost",
  "session_exited",
  "no_session",
]);

/**
 * While anyone waits on the connection, a silence this long gets a `ping`;
 * no answer within as long again means the link is dead. A frozen master or
 * a partition is so noticed within about 10 s, long before ssh's own
 * keepalive (90 s) would end it, and nothing wakes up while nobody waits.
 */
const HEARTBEAT_MS = 5000;

/** The least room a read into the decoder gets (see `Channel.readInto`). */
const READ_ROOM = 64 * 1024;

interface Pending {
  resolve: (message: Message) => void;
  reject: (error: Error) => void;
  cancelTimer: CancelTimer;
}

/** Options for {@linkcode Connection.request}. */
export interface RequestOptions {
  /**
   * How long to wait for the reply, in milliseconds.
   * @default {30000}
   */
  timeoutMs?: number;
}

/**
 * The bridge's streams once the handshake is done: only what is used of
 * them, so that a leased link can be read without web streams (see
 * `lease.ts`).
 */
export interface Channel {
  /** The bridge's stdout, positioned after the magic line. */
  reader: Pick<ReadableStreamDefaultReader<Uint8Array>, "read" | "cancel">;
  /** The bridge's stdin. */
  writer: Pick<WritableStreamDefaultWriter<Uint8Array>, "write" | "close">;
  /** Bytes already read past the magic line. */
  leftover: Uint8Array;
  /**
   * Reads the stream into `target` (instead of `reader.read()`), for a
   * socket: what it brings is then decoded where it lands, the bytes of a
   * follow or a download copied from the kernel once, not three times.
   * Resolves with the count read, null at the end.
   */
  readInto?: (target: Uint8Array) => Promise<number | null>;
  /**
   * Reads the stream into a buffer of the channel's own and resolves with a
   * view of what came, valid until the next read; null at the end. For a
   * relay that passes bytes on (the local agent) without a chunk per read.
   */
  readView?: () => Promise<Uint8Array | null>;
}

/** What the connection asks of the process behind it. */
export interface ChannelHooks {
  /** Builds the error to report once the stream has ended. */
  onLost: () => Promise<Error>;
  /** Ends the process behind the streams at once (SIGKILL). */
  kill: () => void;
  /**
   * Silence that earns a `ping` while anyone waits; no answer within as
   * long again and the link counts as dead.
   * @default {5000}
   */
  heartbeatMs?: number;
}

/**
 * A connection to the daemon. Create it from the bridge's streams once the
 * handshake is done.
 *
 * @example
 * ```ts ignore
 * import { Connection } from "./connection.ts";
 * const conn = new Connection({ reader, writer, leftover }, { onLost, kill });
 * const reply = await conn.request("list", {});
 * ```
 */
export class Connection {
  #reader: Channel["reader"];
  #readInto: Channel["readInto"];
  #writer: Channel["writer"];
  #decoder = new FrameDecoder();
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #mailboxes = new Map<string, Set<Mailbox>>();
  /** How many open mailboxes stop the reading while full (attach's). */
  #pausers = 0;
  // Buffers of output that went to one mailbox alone, which its consumer
  // may hand back (recycle) once done with them.
  #sole = new WeakSet<ArrayBufferLike>();
  /** Frames waiting for the end of this turn of the event loop. */
  #outbox: Uint8Array[] = [];
  /** Per session, the end of the line of calls waiting to watch it. */
  #turns = new Map<string, Promise<void>>();
  /** How many calls wait on a mailbox now. */
  #waiting = 0;
  #mailboxHost: MailboxHost;
  #lost: Error | null = null;
  #lastReceived = performance.now();
  #drained: (() => void) | null = null;
  #hooks: ChannelHooks;
  #heartbeat: CancelTimer | undefined;
  #heartbeatMs: number;
  #pingSentAt: number | null = null;
  /** Resolves when the stream has ended, for whatever reason. */
  readonly done: Promise<void>;

  /**
   * Wraps a bridge whose handshake is done and starts reading from it.
   *
   * @param channel The bridge's streams and the bytes read past its greeting.
   * @param hooks How to explain the end of the stream and to kill the bridge.
   */
  constructor(channel: Channel, hooks: ChannelHooks) {
    this.#reader = channel.reader;
    this.#readInto = channel.readInto;
    this.#writer = channel.writer;
    this.#hooks = hooks;
    this.#heartbeatMs = hooks.heartbeatMs ?? HEARTBEAT_MS;
    const ended = () => this.#lost !== null;
    this.#mailboxHost = {
      get ended() {
        return ended();
      },
      release: (mailbox) => this.#release(mailbox),
      waiting: (delta) => {
        this.#waiting += delta;
        if (delta > 0) this.#armHeartbeat();
        else this.#settleHeartbeat();
      },
      taken: () => this.#resumeReading(),
    };
    this.done = this.#readLoop(channel.leftover);
  }

  /**
   * Sends a request and waits for its reply. A reply with `ok: false`
   * rejects with a {@linkcode SesshError} carrying the daemon's code.
   *
   * @param op The operation, one of the contract's {@linkcode OPS}.
   * @param fields The request's fields.
   * @param options Timeout.
   * @returns The reply message.
   */
  async request(
    op: Op,
    fields: Message,
    options: RequestOptions = {},
  ): Promise<Message> {
    try {
      return await this.#request(op, fields, options);
    } catch (error) {
      // Noticed by the reader or a timer: seen from here, its stack reaches
      // the caller's line.
      throw atCaller(error);
    }
  }

  #request(
    op: Op,
    fields: Message,
    options: RequestOptions,
  ): Promise<Message> {
    if (this.#lost) return Promise.reject(this.#lost);
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const reply = new Promise<Message>((resolve, reject) => {
      const cancelTimer = startTimer(timeoutMs, () => {
        this.#pending.delete(id);
        this.#settleHeartbeat();
        reject(
          new TimeoutError(
            `The remote helper did not answer "${op}" within ${timeoutMs} ms`,
            typeof fields.name === "string" ? { session: fields.name } : {},
          ),
        );
      });
      this.#pending.set(id, { resolve, reject, cancelTimer });
      this.#send(encodeFrame({ ...fields, id, op }));
    });
    this.#armHeartbeat();
    return reply;
  }

  /**
   * Opens a mailbox for the events of one session: from now on, each event
   * of it comes there (as to every other mailbox of the session) until the
   * mailbox is disposed. Open it before sending the request whose events
   * it awaits: they may come with the reply.
   *
   * @param name The session.
   * @param options Whether output is kept, and what overflow does.
   * @returns The mailbox; dispose of it when done.
   */
  subscribe(name: string, options: MailboxOptions = {}): EventSource {
    const mailbox = new Mailbox(name, this.#mailboxHost, options);
    let open = this.#mailboxes.get(name);
    if (!open) this.#mailboxes.set(name, open = new Set());
    open.add(mailbox);
    if (mailbox.pauses) this.#pausers++;
    return mailbox;
  }

  /**
   * Hands back the bytes of an output event taken from a mailbox, once the
   * consumer is done with them, for a later frame to be read into (see
   * `FrameDecoder.recycle`). Output that went to more than one mailbox is
   * left alone: another consumer may hold it still.
   *
   * @param bytes The event's `data`, no longer used by anyone.
   */
  recycle(bytes: Uint8Array): void {
    if (this.#sole.delete(bytes.buffer)) this.#decoder.recycle(bytes);
  }

  /**
   * How many open mailboxes of a session belong to calls that subscribed
   * to it (a wait, a follow): while any is open, the daemon's watch stays.
   *
   * @param name The session.
   * @returns The count.
   */
  watchers(name: string): number {
    let count = 0;
    for (const mailbox of this.#mailboxes.get(name) ?? []) {
      if (mailbox.watches) count++;
    }
    return count;
  }

  /**
   * Waits for this call's turn to watch a session. The daemon keeps one
   * watch of a session per connection (one pattern, one idle timer, one
   * output feed), which a second `subscribe` would replace: so the waits
   * and follows of one session on one connection take turns, in order.
   * Runs need no turn: the daemon tells a command's owner its end.
   *
   * @param name The session.
   * @param timeoutMs How long to wait for the turn.
   * @param signal Rejects with its reason when aborted.
   * @returns What ends the turn, or null when it did not come in time.
   */
  async watchTurn(
    name: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<(() => void) | null> {
    signal?.throwIfAborted();
    const before = this.#turns.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => release = resolve);
    const tail = before.then(() => mine);
    this.#turns.set(name, tail);
    void tail.then(() => {
      if (this.#turns.get(name) === tail) this.#turns.delete(name);
    });
    let cancelTimer: CancelTimer = () => {};
    let onAbort = () => {};
    const gaveUp = new Promise<"timeout">((resolve, reject) => {
      if (Number.isFinite(timeoutMs)) {
        cancelTimer = startTimer(timeoutMs, () => resolve("timeout"));
      }
      onAbort = () => reject(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const outcome = await Promise.race([before, gaveUp]);
      if (outcome === "timeout") {
        release();
        return null;
      }
      return release;
    } catch (error) {
      release();
      throw error;
    } finally {
      cancelTimer();
      signal?.removeEventListener("abort", onAbort);
    }
  }

  #release(mailbox: Mailbox): void {
    const open = this.#mailboxes.get(mailbox.name);
    if (open?.delete(mailbox) && mailbox.pauses) this.#pausers--;
    if (open?.size === 0) this.#mailboxes.delete(mailbox.name);
    this.#resumeReading();
    this.#settleHeartbeat();
  }

  /** Mailboxes that stop the reading while full. */
  *#pausing(): Iterable<Mailbox> {
    for (const open of this.#mailboxes.values()) {
      for (const mailbox of open) if (mailbox.pauses) yield mailbox;
    }
  }

  #anyFull(): boolean {
    for (const mailbox of this.#pausing()) if (mailbox.full) return true;
    return false;
  }

  /** Reading paused on a full mailbox goes on once every one is half empty. */
  #resumeReading(): void {
    if (!this.#drained) return;
    for (const mailbox of this.#pausing()) if (!mailbox.drained) return;
    this.#drained();
    this.#drained = null;
  }

  /** Milliseconds since anything arrived from the daemon (for heartbeats). */
  get silentForMs(): number {
    return performance.now() - this.#lastReceived;
  }

  /**
   * Whether reading waits on a consumer (then silence is our own doing):
   * it is paused, or a mailbox that pauses it holds events.
   */
  get backlogged(): boolean {
    if (this.#drained) return true;
    for (const mailbox of this.#pausing()) if (mailbox.size > 0) return true;
    return false;
  }

  /** Why the connection ended, once it has. */
  get lostError(): Error | null {
    return this.#lost;
  }

  /**
   * Ends the connection without waiting on the other side: closes the
   * bridge's stdin and kills the bridge, so a frozen master or a dead link
   * can never hold the caller. Every reply asked for has arrived by now (or
   * never will), so nothing is lost; sessions keep running on the host.
   */
  async close(): Promise<void> {
    this.#flush();
    this.#writer.close().catch(() => {});
    this.#lost ??= new SesshError("internal", "The connection was closed");
    this.#drained?.();
    this.#hooks.kill();
    await this.#reader.cancel().catch(() => {});
    await this.done;
  }

  /**
   * Queues a frame; the frames of one turn of the event loop go in one
   * write. Calls started together (`Promise.all` over many sessions) so
   * cost one write here and one read in ssh and the daemon, not one each.
   */
  #send(frame: Uint8Array): void {
    this.#outbox.push(frame);
    if (this.#outbox.length === 1) queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    if (this.#outbox.length === 0) return;
    const data = this.#outbox.length === 1
      ? this.#outbox[0]
      : concatBytes(this.#outbox);
    this.#outbox = [];
    this.#writer.write(data).catch(() => {});
  }

  /** Keeps a heartbeat going while anyone waits for the daemon. */
  #armHeartbeat(): void {
    if (this.#heartbeat !== undefined || this.#lost) return;
    this.#heartbeat = startTimer(this.#heartbeatMs / 5, () => {
      this.#heartbeat = undefined;
      this.#beat();
    });
  }

  /**
   * Stops the heartbeat once nobody waits: its timer would otherwise keep
   * a script that never disconnects alive for up to a beat after its last
   * call.
   */
  #settleHeartbeat(): void {
    // An open mailbox keeps it: a follow waits in turns of 250 ms, and a
    // heartbeat restarted at each turn would never come due.
    if (
      this.#pending.size > 0 || this.#waiting > 0 || this.#mailboxes.size > 0
    ) return;
    this.#heartbeat?.();
    this.#heartbeat = undefined;
  }

  #beat(): void {
    const waiting = this.#pending.size > 0 || this.#waiting > 0;
    if (this.#lost || !waiting) {
      this.#pingSentAt = null;
      return;
    }
    const now = performance.now();
    if (this.#pingSentAt !== null && this.#lastReceived > this.#pingSentAt) {
      this.#pingSentAt = null;
    }
    // While events pile up unread we are not reading either: that silence is ours.
    if (this.#pingSentAt === null && !this.backlogged) {
      if (now - this.#lastReceived >= this.#heartbeatMs) {
        this.#pingSentAt = now;
        this.#send(encodeFrame({ op: OPS.ping, id: 0 }));
      }
    } else if (
      this.#pingSentAt !== null &&
      now - this.#pingSentAt >= this.#heartbeatMs
    ) {
      this.#lost = new ConnectionLostError(
        `The link to the sessh daemon stopped answering: no reply to a heartbeat within ${
          this.#heartbeatMs / 1000
        } s`,
        { delivery: "unknown" },
      );
      this.#hooks.kill();
      this.#failWaiters();
      return;
    }
    this.#armHeartbeat();
  }

  async #readLoop(leftover: Uint8Array): Promise<void> {
    try {
      if (leftover.length) this.#deliver(this.#decoder.push(leftover));
      while (true) {
        // Backpressure: stop reading (and so let ssh and the daemon hold
        // the data) while the consumer is far behind.
        // Looked at only with a pausing mailbox open: every read of every
        // call comes by here.
        if (this.#pausers > 0 && this.#anyFull()) {
          await new Promise<void>((resolve) => this.#drained = resolve);
          if (this.#lost) break;
        }
        if (this.#readInto) {
          const count = await this.#readInto(this.#decoder.space(READ_ROOM));
          if (count === null) break;
          this.#lastReceived = performance.now();
          this.#deliver(this.#decoder.commit(count));
          continue;
        }
        const { value, done } = await this.#reader.read();
        if (done) break;
        this.#lastReceived = performance.now();
        this.#deliver(this.#decoder.push(value));
      }
    } catch (error) {
      if (error instanceof SesshError) this.#lost ??= error;
    }
    this.#lost ??= await this.#hooks.onLost();
    this.#heartbeat?.();
    this.#failWaiters();
  }

  #failWaiters(): void {
    const lost = this.#lost as Error;
    for (const pending of this.#pending.values()) {
      pending.cancelTimer();
      pending.reject(lost);
    }
    this.#pending.clear();
    for (const open of this.#mailboxes.values()) {
      for (const mailbox of open) mailbox.end();
    }
  }

  #deliver(messages: Message[]): void {
    for (const message of messages) {
      if (message.ev === EVENTS.lost) {
        // The local agent's word on why the bridge it lent us ended.
        this.#lost ??= lostError(message);
        continue;
      }
      if (typeof message.ev === "string") {
        // Nobody waits on a session without a mailbox: its events go.
        const open = this.#mailboxes.get(String(message.name));
        let keeping = 0;
        for (const mailbox of open ?? []) {
          if (mailbox.keepsOutput) keeping++;
          mailbox.deliver(message);
        }
        if (
          keeping === 1 && message.ev === EVENTS.output &&
          message.data instanceof Uint8Array
        ) this.#sole.add(message.data.buffer);
        continue;
      }
      const pending = this.#pending.get(message.id as number);
      if (!pending) continue;
      this.#pending.delete(message.id as number);
      pending.cancelTimer();
      this.#settleHeartbeat();
      if (message.ok) pending.resolve(message);
      else pending.reject(remoteError(message));
    }
  }
}

/** The error a `lost` event from the local agent describes. */
function lostError(message: Message): SesshError {
  const text = String(message.message ?? "The connection was lost");
  if (message.code === "connection_lost") {
    return new ConnectionLostError(text, { delivery: "unknown" });
  }
  if (message.code === "daemon_gone") {
    return new DaemonGoneError(text, { delivery: "unknown" });
  }
  return new SesshError(
    String(message.code) as SesshError["code"],
    text,
    Number(message.exit_code ?? 1),
  );
}

/**
 * Turns a failed reply into an error with the daemon's code.
 *
 * @param message A reply with `ok: false`.
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import { remoteError } from "./connection.ts";
 * const err = remoteError({ ok: false, code: "no_session", message: "No session named \"x\"" });
 * console.log(err.code); // "no_session"
 * ```
 */
export function remoteError(message: Message): SesshError {
  const code = String(message.code ?? "remote");
  const text = String(message.message ?? "The remote helper reported an error");
  // The contract says what each of the daemon's codes is reported as: a bad
  // request is a usage error (exit 2), a shell the host does not list in
  // /etc/shells too, a secret refused because the terminal would show it
  // exits 3 (a script can tell it from a failure and retry at the prompt).
  const reported = Object.hasOwn(DAEMON_ERRORS, code)
    ? DAEMON_ERRORS[code as DaemonErrorCode]
    : isErrorCode(code)
    ? code
    : null;
  if (reported !== null && (reported !== "remote" || code === "remote")) {
    if (SESSION_CODES.has(reported)) {
      const session = typeof message.name === "string"
        ? message.name
        : undefined;
      return new SessionError(
        reported as SessionCode,
        text,
        session ? { session } : {},
      );
    }
    return new SesshError(reported, text);
  }
  const error = new SesshError("remote", text);
  // The daemon's own code, for a caller that can recover from it.
  error.details.remoteCode = code;
  return error;
}
