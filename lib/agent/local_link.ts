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

/**
 * Bytes the call may leave unread before the bridge's writes wait: about
 * what a socket's buffer holds, so a call that stops reading (a follow
 * paused on a slow stdout) stops the bridge reading ssh, as over the
 * agent's socket, and the daemon's output waits in its own buffer.
 */
const HIGH_WATER = 256 * 1024;

type ReadResult = { done: true; value: undefined } | {
  done: false;
  value: Uint8Array;
};

/**
 * The two ends of one in-process lease: the {@linkcode Lessee} the pooled
 * bridge writes to, and the {@linkcode Channel} the call's connection
 * reads and writes.
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
  #queue: Uint8Array[] = [];
  #queued = 0;
  /** Writes of the bridge held until the call reads or leaves. */
  #held: (() => void)[] = [];
  #reader: ((result: ReadResult) => void) | null = null;
  #ended = false;

  /** Where the bridge writes the daemon's bytes. */
  readonly lessee: Lessee = {
    // The bridge reads into one buffer and reuses it once this resolves:
    // the bytes are kept as a copy.
    write: (bytes) => {
      this.#push(bytes.slice());
      if (this.#queued <= HIGH_WATER) return Promise.resolve();
      return new Promise((resolve) => this.#held.push(resolve));
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
    this.#ended = true;
    // Nothing more is read: what was held goes, and the bridge with it.
    this.#release();
    if (this.#reader && this.#queue.length === 0) {
      const resolve = this.#reader;
      this.#reader = null;
      resolve({ done: true, value: undefined });
    }
  }

  #push(bytes: Uint8Array): void {
    if (this.#ended) return;
    if (this.#reader) {
      const resolve = this.#reader;
      this.#reader = null;
      resolve({ done: false, value: bytes });
    } else {
      this.#queue.push(bytes);
      this.#queued += bytes.length;
    }
  }

  #read(): Promise<ReadResult> {
    const next = this.#queue.shift();
    if (next) {
      this.#queued -= next.length;
      if (this.#queued <= HIGH_WATER) this.#release();
      return Promise.resolve({ done: false, value: next });
    }
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => this.#reader = resolve);
  }

  #release(): void {
    const held = this.#held;
    this.#held = [];
    for (const resolve of held) resolve();
  }
}
