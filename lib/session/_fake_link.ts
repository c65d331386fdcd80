/**
 * A scripted stand-in for the link to the sessh daemon, so that the session
 * calls (`run`, `wait`) are tested without ssh or a daemon: every request is
 * recorded and answered by the test's own handler, and the events the test
 * pushes reach the mailboxes the calls opened, as the connection routes them.
 *
 * @module
 */
import type { Connection, RequestOptions } from "../transport/connection.ts";
import type { SessionLink } from "./link.ts";
import type { Message } from "../protocol/frame.ts";
import type { Destination } from "../ssh/destination.ts";
import {
  type EventSource,
  Mailbox,
  type MailboxHost,
  type MailboxOptions,
} from "../transport/mailbox.ts";
import { HELPER_CAPS, type Op } from "../contract/spec.ts";

/** One request as the code under test sent it. */
export interface FakeRequest {
  /** The operation, e.g. `"run"`. */
  op: Op;
  /** A copy of its fields as they were when sent. */
  fields: Message;
  /** How long the caller would wait for the reply. */
  timeoutMs: number | undefined;
}

/**
 * Answers one operation as the daemon would: returns the reply's fields, or
 * throws what the connection would reject with (a refusal, a timeout).
 */
export type FakeAnswer = (
  fields: Message,
  link: FakeLink,
) => Message | Promise<Message>;

/** Options for {@linkcode FakeLink}. */
export interface FakeLinkOptions {
  /** The answer to each operation; an operation without one is rejected. */
  answers?: Partial<Record<Op, FakeAnswer>>;
  /**
   * What the daemon says it can do.
   * @default {HELPER_CAPS} every cap the contract lists, as the current helper
   */
  caps?: readonly string[];
  /**
   * Longest real wait for an event: a call still waiting after this long
   * fails the test rather than holding it for its own timeout.
   * @default {500}
   */
  stallMs?: number;
}

/** The connection's part that the session calls use. */
type FakeConnection = Pick<
  Connection,
  "request" | "subscribe" | "lostError" | "watchers" | "watchTurn"
>;

/**
 * A {@linkcode SessionLink} whose connection is scripted by the test.
 *
 * @example
 * ```ts ignore
 * import { FakeLink } from "./_fake_link.ts";
 * const link = new FakeLink({ answers: { ping: () => ({}) } });
 * link.push({ ev: "exit", name: "work", status: 0 });
 * await link.connection.request("ping", {});
 * console.log(link.requests[0].op); // "ping"
 * ```
 */
export class FakeLink implements SessionLink {
  /** The scripted connection (only what `run` and `wait` use of one). */
  readonly connection: Connection;
  /** What the daemon says it can do. */
  readonly daemon: { readonly caps: readonly string[] };
  /** Where the session lives, as error messages name it. */
  readonly destination: Destination = { host: "db1", display: "db1" };
  /** Every request that reached the daemon, in order. */
  readonly requests: FakeRequest[] = [];
  #answers: Partial<Record<Op, FakeAnswer>>;
  #stallMs: number;
  #mailboxes = new Set<Mailbox>();
  /** Pushed before the next request: the daemon sends them after its reply. */
  #pending: Message[] = [];
  #onWait: (() => void)[] = [];
  #lost: Error | null = null;
  #host: MailboxHost;

  /** @param options The answers, the daemon's caps, the stall limit. */
  constructor(options: FakeLinkOptions = {}) {
    this.#answers = options.answers ?? {};
    this.#stallMs = options.stallMs ?? 500;
    this.daemon = { caps: options.caps ?? HELPER_CAPS };
    const lost = () => this.#lost;
    this.#host = {
      get ended() {
        return lost() !== null;
      },
      release: (mailbox) => this.#mailboxes.delete(mailbox),
      waiting: (delta) => {
        if (delta <= 0) return;
        if (this.#pending.length) queueMicrotask(() => this.#deliverPending());
        else for (const resolveWait of this.#onWait.splice(0)) resolveWait();
      },
      taken: () => {},
    };
    const connection: FakeConnection = {
      request: (op, fields, requestOptions) =>
        this.#request(op, fields, requestOptions),
      subscribe: (name, mailboxOptions) =>
        this.#subscribe(name, mailboxOptions),
      get lostError() {
        return lost();
      },
      // Each test runs one call at a time: its turn comes at once.
      watchTurn: (_name, _timeoutMs, signal) => {
        signal?.throwIfAborted();
        return Promise.resolve(() => {});
      },
      watchers: (name) =>
        [...this.#mailboxes].filter((m) => m.name === name && m.watches)
          .length,
    };
    this.connection = connection as Connection;
  }

  /** The operations sent, in order. */
  get ops(): string[] {
    return this.requests.map((request) => request.op);
  }

  /** How many pushed events no call has taken yet. */
  get queued(): number {
    let count = this.#pending.length;
    for (const mailbox of this.#mailboxes) count += mailbox.size;
    return count;
  }

  /** How many mailboxes calls left open (each call disposes of its own). */
  get open(): number {
    return this.#mailboxes.size;
  }

  /**
   * Pushes events from the daemon: a call waiting on their session gets
   * them at once. Otherwise they come after the reply to the next request
   * (as the daemon sends a subscription's events after its reply), so a
   * call's own events can be pushed before it starts.
   *
   * @param events The events (each with `ev` and `name`).
   */
  push(...events: Message[]): void {
    for (const event of events) {
      const waited = [...this.#mailboxes].some((m) =>
        m.name === event.name && m.waited
      );
      if (waited && !this.#pending.length) this.#deliver(event);
      else this.#pending.push(event);
    }
  }

  /**
   * Sends events now, as the daemon would have for a call that ended
   * before they came: they reach only mailboxes open at this moment.
   *
   * @param events The events.
   */
  leaveQueued(...events: Message[]): void {
    for (const event of events) this.#deliver(event);
  }

  /**
   * Ends the link as the real connection does: a waiting call gets null,
   * `lostError` says why, later requests reject with it.
   *
   * @param error Why the link ended.
   */
  lose(error: Error): void {
    this.#lost = error;
    for (const mailbox of this.#mailboxes) mailbox.end();
  }

  /**
   * Resolves once a call waits for an event with none pending.
   *
   * @returns A promise that resolves then.
   */
  waiting(): Promise<void> {
    if ([...this.#mailboxes].some((m) => m.waited) && !this.#pending.length) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#onWait.push(resolve));
  }

  #deliver(event: Message): void {
    for (const mailbox of this.#mailboxes) {
      if (mailbox.name === event.name) mailbox.deliver(event);
    }
  }

  #deliverPending(): void {
    for (const event of this.#pending.splice(0)) this.#deliver(event);
  }

  #subscribe(name: string, options?: MailboxOptions): EventSource {
    const mailbox = new Mailbox(name, this.#host, options);
    this.#mailboxes.add(mailbox);
    const stallMs = this.#stallMs;
    return {
      take: () => mailbox.take(),
      [Symbol.dispose]: () => mailbox[Symbol.dispose](),
      next(timeoutMs, signal) {
        const event = mailbox.next(timeoutMs, signal);
        if (timeoutMs <= stallMs) return event;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `FakeLink: a wait of ${timeoutMs} ms got no event within ${stallMs} ms`,
                ),
              ),
            stallMs,
          );
        });
        return Promise.race([event, stalled]).finally(() =>
          clearTimeout(timer)
        );
      },
    };
  }

  #request(
    op: Op,
    fields: Message,
    options: RequestOptions = {},
  ): Promise<Message> {
    if (this.#lost) return Promise.reject(this.#lost);
    this.requests.push({
      op,
      fields: { ...fields },
      timeoutMs: options.timeoutMs,
    });
    const answer = this.#answers[op];
    if (!answer) {
      return Promise.reject(new Error(`FakeLink has no answer for "${op}"`));
    }
    try {
      const reply = answer(fields, this);
      this.#deliverPending();
      return Promise.resolve(reply);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** Options for {@linkcode readAnswer}. */
export interface ReadAnswerOptions {
  /**
   * The absolute offset of the buffer's first byte.
   * @default {0}
   */
  base?: number;
  /**
   * The session's width.
   * @default {80}
   */
  cols?: number;
}

/** The helper's bound on one read reply (`MAX_READ_REPLY`). */
const MAX_READ_REPLY = 4 << 20;

/**
 * Answers `read` as the helper's `op_read` does, from a fixed output buffer.
 *
 * @param output What the buffer holds (a string is UTF-8 encoded).
 * @param options Where the buffer starts, and the terminal width.
 * @returns The answer.
 */
export function readAnswer(
  output: string | Uint8Array,
  options: ReadAnswerOptions = {},
): FakeAnswer {
  const buffer = typeof output === "string"
    ? new TextEncoder().encode(output)
    : output;
  const base = options.base ?? 0;
  const end = base + buffer.length;
  return (fields) => {
    const since = typeof fields.since === "number" ? fields.since : base;
    const start = Math.max(since, base);
    const limit = typeof fields.max === "number"
      ? Math.max(1, Math.min(MAX_READ_REPLY, fields.max))
      : MAX_READ_REPLY;
    const until = typeof fields.until === "number" ? fields.until : end;
    const stop = Math.min(until, start + limit, end);
    const data = buffer.slice(start - base, Math.max(start, stop) - base);
    return {
      data,
      start,
      end: start + data.length,
      evicted: since < base,
      cols: options.cols ?? 80,
      rows: 24,
      buffer_start: base,
      buffer_end: end,
    };
  };
}
