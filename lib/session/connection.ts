/**
 * One framed connection to the remote daemon through an ssh bridge process:
 * request/reply by id, and a queue of the events the daemon pushes.
 *
 * @module
 */
import { encodeFrame, FrameDecoder, type Message } from "../protocol/frame.ts";
import { SesshError, TimeoutError } from "../errors.ts";

const MAX_QUEUED_EVENTS = 256;

interface Pending {
  resolve: (message: Message) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
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
 * A connection to the daemon. Create it from the bridge's streams once the
 * handshake is done.
 *
 * @example
 * ```ts ignore
 * import { Connection } from "./connection.ts";
 * const conn = new Connection(reader, writer, leftover, () => new Error("lost"));
 * const reply = await conn.request("list", {});
 * ```
 */
export class Connection {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #decoder = new FrameDecoder();
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #events: Message[] = [];
  #eventWaiters: ((message: Message | null) => void)[] = [];
  #lost: Error | null = null;
  #lastReceived = performance.now();
  #drained: (() => void) | null = null;
  #onLost: () => Promise<Error>;
  /** Resolves when the stream has ended, for whatever reason. */
  readonly done: Promise<void>;

  /**
   * Wraps a bridge whose handshake is done and starts reading from it.
   *
   * @param reader The bridge's stdout, positioned after the magic line.
   * @param writer The bridge's stdin.
   * @param leftover Bytes already read past the magic line.
   * @param onLost Builds the error to report when the stream ends.
   */
  constructor(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    writer: WritableStreamDefaultWriter<Uint8Array>,
    leftover: Uint8Array,
    onLost: () => Promise<Error>,
  ) {
    this.#reader = reader;
    this.#writer = writer;
    this.#onLost = onLost;
    this.done = this.#readLoop(leftover);
  }

  /**
   * Sends a request and waits for its reply. A reply with `ok: false`
   * rejects with a {@linkcode SesshError} carrying the daemon's code.
   *
   * @param op The operation name.
   * @param fields The request's fields.
   * @param options Timeout.
   * @returns The reply message.
   */
  request(
    op: string,
    fields: Message,
    options: RequestOptions = {},
  ): Promise<Message> {
    if (this.#lost) return Promise.reject(this.#lost);
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new TimeoutError(
            `The remote helper did not answer "${op}" within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#writer.write(encodeFrame({ ...fields, id, op })).catch(() => {});
    });
  }

  /**
   * The next event the daemon pushed, or `null` after `timeoutMs` or when the
   * connection is gone (then {@linkcode Connection.lostError} says why).
   *
   * @param timeoutMs How long to wait.
   * @returns The event, or null.
   */
  nextEvent(timeoutMs: number): Promise<Message | null> {
    const queued = this.takeEvent();
    if (queued) return Promise.resolve(queued);
    if (this.#lost) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter = (message: Message | null) => {
        clearTimeout(timer);
        resolve(message);
      };
      const timer = setTimeout(() => {
        this.#eventWaiters = this.#eventWaiters.filter((w) => w !== waiter);
        resolve(null);
      }, Math.max(0, timeoutMs));
      this.#eventWaiters.push(waiter);
    });
  }

  /**
   * The next event if one is already queued, without waiting.
   *
   * @returns The event, or null.
   */
  takeEvent(): Message | null {
    const event = this.#events.shift() ?? null;
    if (this.#drained && this.#events.length <= MAX_QUEUED_EVENTS / 2) {
      this.#drained();
      this.#drained = null;
    }
    return event;
  }

  /** Milliseconds since anything arrived from the daemon (for heartbeats). */
  get silentForMs(): number {
    return performance.now() - this.#lastReceived;
  }

  /** Whether events wait to be consumed (then silence is our own doing). */
  get backlogged(): boolean {
    return this.#events.length > 0;
  }

  /** Why the connection ended, once it has. */
  get lostError(): Error | null {
    return this.#lost;
  }

  /** Closes the bridge's stdin; the bridge and ssh then exit. */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    this.#events.length = 0;
    this.#drained?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), 2000);
    });
    // A bridge on a dead link never sends EOF; stop reading rather than wait.
    if (await Promise.race([this.done.then(() => false), gaveUp])) {
      await this.#reader.cancel().catch(() => {});
      await this.done;
    }
    clearTimeout(timer);
  }

  async #readLoop(leftover: Uint8Array): Promise<void> {
    try {
      if (leftover.length) this.#dispatch(leftover);
      while (true) {
        // Backpressure: stop reading (and so let ssh and the daemon hold
        // the data) while the consumer is far behind.
        if (this.#events.length > MAX_QUEUED_EVENTS) {
          await new Promise<void>((resolve) => this.#drained = resolve);
        }
        const { value, done } = await this.#reader.read();
        if (done) break;
        this.#lastReceived = performance.now();
        this.#dispatch(value);
      }
    } catch (error) {
      if (error instanceof SesshError) this.#lost = error;
    }
    this.#lost ??= await this.#onLost();
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(this.#lost);
    }
    this.#pending.clear();
    for (const waiter of this.#eventWaiters.splice(0)) waiter(null);
  }

  #dispatch(chunk: Uint8Array): void {
    for (const message of this.#decoder.push(chunk)) {
      if (typeof message.ev === "string") {
        const waiter = this.#eventWaiters.shift();
        if (waiter) waiter(message);
        else this.#events.push(message);
        continue;
      }
      const pending = this.#pending.get(message.id as number);
      if (!pending) continue;
      this.#pending.delete(message.id as number);
      clearTimeout(pending.timer);
      if (message.ok) pending.resolve(message);
      else pending.reject(remoteError(message));
    }
  }
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
  const known = [
    "no_session",
    "session_lost",
    "session_busy",
    "session_exited",
    "no_integration",
    "protocol",
    "daemon_gone",
  ];
  if (code === "bad_request") return new SesshError("usage", text, 2);
  return new SesshError(
    known.includes(code) ? code as "no_session" : "remote",
    text,
  );
}
