/**
 * A call's own view of the events the daemon pushes for one session: the
 * connection hands every event to each open mailbox of its session, so that
 * calls running side by side never take each other's events.
 *
 * @module
 */
import type { Message } from "../protocol/frame.ts";
import { startTimer } from "../timer.ts";
import { EVENTS } from "../contract/spec.ts";

/**
 * Output bytes a mailbox holds before more output turns into a gap. A
 * consumer this far behind reads the gap's range back from the session's
 * buffer (see {@linkcode isLocalGap}) rather than holding the connection.
 * Other events (a command's start and end, a match) are few and small:
 * they are always kept.
 */
export const MAX_QUEUED_BYTES = 8 << 20;

/** Events a pausing mailbox holds before the connection stops reading. */
export const MAX_QUEUED_EVENTS = 256;

/**
 * Output bytes a pausing mailbox holds before the connection stops
 * reading. A few of the daemon's output frames keep its consumer busy
 * while more come; holding more only takes fresh, zeroed memory for every
 * frame (the decoder's handed-back buffers run out) and pays its page
 * faults, at the consumer's pace all the same.
 */
export const PAUSE_QUEUED_BYTES = 1 << 20;

/** Options for {@linkcode Connection.subscribe}. */
export interface MailboxOptions {
  /**
   * Whether output events are kept: a call that only needs a command's
   * end (`run`) leaves them to the calls that watch output.
   * @default {true}
   */
  output?: boolean;
  /**
   * Whether the call subscribed to the session with the daemon (a wait, a
   * follow): the daemon's watch is ended only once no such mailbox is open.
   * @default {false}
   */
  watch?: boolean;
  /**
   * What a consumer that falls behind costs. `"gap"`: output past
   * {@linkcode MAX_QUEUED_BYTES} is not kept; a `gap` event marked `local`
   * stands for it, and the consumer reads that range back. `"pause"`: the
   * connection stops reading until this mailbox is half empty, so that ssh
   * and the daemon hold the data; only for a connection with one consumer
   * (attach), since replies to every other call wait too.
   * @default {"gap"}
   */
  overflow?: "gap" | "pause";
}

/** The events of one session, as a call takes them. */
export interface EventSource extends Disposable {
  /**
   * The next event, or null after `timeoutMs` or once the connection is
   * gone (its `lostError` says why).
   *
   * @param timeoutMs How long to wait.
   * @param signal Rejects the wait with its reason when aborted.
   * @returns The event, or null.
   */
  next(timeoutMs: number, signal?: AbortSignal): Promise<Message | null>;
  /**
   * The next event if one is already here, without waiting.
   *
   * @returns The event, or null.
   */
  take(): Message | null;
}

/** What a mailbox needs of the connection that feeds it. */
export interface MailboxHost {
  /** Whether the connection has ended. */
  readonly ended: boolean;
  /** The mailbox is done with: it gets no more events. */
  release(mailbox: Mailbox): void;
  /** A call started or stopped waiting (the heartbeat runs while any waits). */
  waiting(delta: number): void;
  /** An event left a pausing mailbox: reading may go on. */
  taken(): void;
}

/**
 * Whether `event` is a gap this client made (its consumer fell behind), not
 * the daemon: the output it stands for is likely still in the buffer.
 *
 * @param event An event from a mailbox.
 * @returns Whether to read its range back.
 *
 * @example
 * ```ts
 * import { isLocalGap } from "./mailbox.ts";
 * console.log(isLocalGap({ ev: "gap", name: "w", start: 0, end: 9, local: true })); // true
 * ```
 */
export function isLocalGap(event: Message): boolean {
  return event.ev === EVENTS.gap && event.local === true;
}

/** The bytes of an output event. */
function outputSize(event: Message): number {
  return (event.data as Uint8Array | undefined)?.length ?? 0;
}

/**
 * One call's queue of one session's events (made by
 * {@linkcode Connection.subscribe}; dispose of it when the call ends).
 *
 * @example
 * ```ts ignore
 * using events = conn.subscribe("work");
 * const event = await events.next(1000);
 * ```
 */
export class Mailbox implements EventSource {
  /** The session whose events come here. */
  readonly name: string;
  /** Whether a full queue stops the connection's reading. */
  readonly pauses: boolean;
  /** Whether output events are kept. */
  readonly keepsOutput: boolean;
  /** Whether the call subscribed to the session with the daemon. */
  readonly watches: boolean;
  #host: MailboxHost;
  #queue: Message[] = [];
  #bytes = 0;
  /** Output left out since the queue overflowed, not yet told as a gap. */
  #gap: { start: number; end: number } | null = null;
  #waiter: ((event: Message | null) => void) | null = null;
  #closed = false;

  /**
   * @param name The session.
   * @param host The connection.
   * @param options Output or not, and what overflow does.
   */
  constructor(name: string, host: MailboxHost, options: MailboxOptions = {}) {
    this.name = name;
    this.#host = host;
    this.keepsOutput = options.output ?? true;
    this.watches = options.watch ?? false;
    this.pauses = options.overflow === "pause";
  }

  /** Events waiting to be taken. */
  get size(): number {
    return this.#queue.length;
  }

  /** Whether this mailbox wants the connection to stop reading. */
  get full(): boolean {
    return this.pauses &&
      (this.#queue.length > MAX_QUEUED_EVENTS ||
        this.#bytes > PAUSE_QUEUED_BYTES);
  }

  /** Whether this mailbox lets the connection read on after being full. */
  get drained(): boolean {
    return !this.pauses ||
      (this.#queue.length <= MAX_QUEUED_EVENTS / 2 &&
        this.#bytes <= PAUSE_QUEUED_BYTES / 2);
  }

  /** Whether a call waits on this mailbox now. */
  get waited(): boolean {
    return this.#waiter !== null;
  }

  /**
   * Takes an event of this mailbox's session from the connection.
   *
   * @param event The event.
   */
  deliver(event: Message): void {
    if (this.#closed) return;
    if (event.ev === EVENTS.output) {
      if (!this.keepsOutput) return;
      const size = outputSize(event);
      if (
        !this.pauses && (this.#gap || this.#bytes + size > MAX_QUEUED_BYTES)
      ) {
        // Far behind: the bytes stay in the session's buffer, to be read
        // back when the consumer gets to the gap.
        const start = Number(event.offset);
        this.#gap ??= { start, end: start };
        this.#gap.end = start + size;
        return;
      }
    } else this.#tellGap();
    this.#put(event);
  }

  /** The output left out is told before whatever follows it. */
  #tellGap(): void {
    if (!this.#gap) return;
    const { start, end } = this.#gap;
    this.#gap = null;
    this.#put({ ev: "gap", name: this.name, start, end, local: true });
  }

  #put(event: Message): void {
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = null;
      waiter(event);
      return;
    }
    // Only what waits in the queue counts: an event handed straight to a
    // waiting consumer is never taken from it.
    this.#queue.push(event);
    if (event.ev === EVENTS.output) this.#bytes += outputSize(event);
  }

  take(): Message | null {
    const event = this.#queue.shift() ?? null;
    if (!event) {
      // Caught up: a gap still open is told now, and output flows again.
      if (this.#gap) {
        this.#tellGap();
        return this.take();
      }
      return null;
    }
    if (event.ev === EVENTS.output) this.#bytes -= outputSize(event);
    if (this.pauses) this.#host.taken();
    return event;
  }

  next(timeoutMs: number, signal?: AbortSignal): Promise<Message | null> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const queued = this.take();
    if (queued) return Promise.resolve(queued);
    if (this.#closed || this.#host.ended || timeoutMs <= 0) {
      return Promise.resolve(null);
    }
    if (this.#waiter) {
      return Promise.reject(
        new Error("Two waits on one mailbox: each call subscribes its own"),
      );
    }
    this.#host.waiting(1);
    return new Promise<Message | null>((resolve, reject) => {
      const finish = () => {
        this.#waiter = null;
        cancelTimer();
        signal?.removeEventListener("abort", abort);
        this.#host.waiting(-1);
      };
      const abort = () => {
        finish();
        reject(signal!.reason);
      };
      const cancelTimer = startTimer(timeoutMs, () => {
        finish();
        resolve(null);
      });
      signal?.addEventListener("abort", abort, { once: true });
      this.#waiter = (event) => {
        finish();
        resolve(event);
      };
    });
  }

  /** The connection ended: a waiting call gets null. */
  end(): void {
    this.#waiter?.(null);
  }

  /** Stops taking events and forgets those queued. */
  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    this.#bytes = 0;
    this.#gap = null;
    this.#waiter?.(null);
    this.#host.release(this);
  }
}
