/**
 * A bridge of the agent lent to a call the agent runs itself (a thin call,
 * `lib/cli/agent_call.ts`): the daemon's bytes go to the call's connection
 * in memory, and the call's to the bridge, where a lease over the agent's
 * own socket would add a connection, a key exchange and a relay of every
 * frame through the socket and back (about 1 ms of a warm call; issue 21).
 *
 * @module
 */
import type { Channel } from "../transport/connection.ts";
import type { Lessee, PooledBridge } from "./pooled_bridge.ts";

type ReadResult = { done: true; value: undefined } | {
  done: false;
  value: Uint8Array;
};

/** A write of the bridge, held until the call has taken all of it. */
interface Held {
  /** What is left of it to take: a view into the bridge's buffer. */
  bytes: Uint8Array;
  /** Lets the bridge reuse its buffer and read on. */
  taken: () => void;
}

/**
 * The two ends of one in-process lease: the {@linkcode Lessee} the pooled
 * bridge writes to, and the {@linkcode Channel} the call's connection
 * reads and writes.
 *
 * A write of the bridge resolves once the call has taken its bytes: the
 * connection reads them into its decoder straight from the bridge's buffer
 * (`readInto`), with no copy of each MiB of a flood between, and a call
 * that stops reading (a follow paused on a slow stdout) stops the bridge
 * reading ssh, as over the agent's socket, so the daemon's output waits in
 * its own buffer.
 *
 * @example
 * ```ts ignore
 * import { LocalLink } from "./local_link.ts";
 * const link = new LocalLink();
 * pooled.lend(link.lessee);
 * const channel = link.channel(pooled);
 * ```
 */
export class LocalLink {
  #queue: Held[] = [];
  #wake: (() => void) | null = null;
  #ended = false;

  /** Where the bridge writes the daemon's bytes. */
  readonly lessee: Lessee = {
    // The bridge reads into one buffer and reuses it once this resolves.
    write: (bytes) => {
      if (this.#ended || bytes.length === 0) return Promise.resolve();
      return new Promise((taken) => {
        this.#queue.push({ bytes, taken });
        this.#wakeReader();
      });
    },
    close: () => this.end(),
  };

  /**
   * The call's side, for its connection.
   *
   * @param pooled The bridge lent through this link.
   * @returns A channel whose writes go to the bridge in the order made.
   */
  channel(pooled: PooledBridge): Channel {
    let queue: Promise<void> = Promise.resolve();
    return {
      reader: {
        read: () => this.#read(),
        cancel: () => {
          this.end();
          return Promise.resolve();
        },
      },
      readInto: (target) => this.#readInto(target),
      writer: {
        write: (bytes) => {
          if (!bytes) return queue;
          const done = queue.then(() => pooled.fromCall(bytes));
          queue = done.catch(() => {});
          return done;
        },
        close: () => queue,
      },
      leftover: new Uint8Array(),
    };
  }

  /** Ends the call's side: its reads end, what was queued is still read. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    // Nothing more is taken from the bridge's buffers: what is left of
    // them is kept as a copy, and the bridge goes on.
    for (const held of this.#queue) {
      held.bytes = held.bytes.slice();
      held.taken();
    }
    this.#wakeReader();
  }

  async #read(): Promise<ReadResult> {
    const held = await this.#next();
    if (held === null) return { done: true, value: undefined };
    this.#queue.shift();
    held.taken();
    // A copy: the bridge reuses its buffer once the bytes are taken.
    return {
      done: false,
      value: this.#ended ? held.bytes : held.bytes.slice(),
    };
  }

  async #readInto(target: Uint8Array): Promise<number | null> {
    const held = await this.#next();
    if (held === null) return null;
    const count = Math.min(target.length, held.bytes.length);
    target.set(held.bytes.subarray(0, count));
    held.bytes = held.bytes.subarray(count);
    if (held.bytes.length === 0) {
      this.#queue.shift();
      held.taken();
    }
    return count;
  }

  /** The write to take from next, once there is one; null at the end. */
  async #next(): Promise<Held | null> {
    while (this.#queue.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    return this.#queue[0];
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
