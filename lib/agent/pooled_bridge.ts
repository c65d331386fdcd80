/**
 * One bridge to the daemon kept open by the local agent and lent to one
 * call at a time: while lent, bytes flow untouched both ways (only frame
 * boundaries are followed); when the call leaves, a `reset` request makes
 * the daemon forget what the call asked for, and every frame up to its
 * reply is dropped, so the next call starts on a clean stream.
 *
 * @module
 */
import type { Bridge } from "../transport/bridge.ts";
import { encodeFrame, FrameDecoder } from "../protocol/frame.ts";
import { FrameCursor } from "../protocol/frame_cursor.ts";
import { RESET_ID } from "../transport/agent_protocol.ts";
import { SesshError } from "../errors.ts";
import { CAPS, EVENTS, OPS } from "../contract/spec.ts";

/** How long the daemon may take to confirm a reset before the bridge is dropped. */
const RESET_TIMEOUT_MS = 5000;

/** Where a lent bridge's bytes go: the call's socket. */
export interface Lessee {
  /** Writes bytes from the daemon to the call. */
  write(bytes: Uint8Array): Promise<void>;
  /** Ends the call's connection (the bridge died under it). */
  close(): void;
}

/**
 * A bridge owned by the agent.
 *
 * @example
 * ```ts ignore
 * import { PooledBridge } from "./pooled_bridge.ts";
 * const pooled = new PooledBridge(await openBridge(dest, settings), () => {});
 * pooled.lend(lessee);
 * await pooled.fromCall(bytes);
 * pooled.callLeft();
 * ```
 */
export class PooledBridge {
  /** The bridge (its hello and master are handed to each call). */
  readonly bridge: Bridge;
  #state: "idle" | "lent" | "resetting" | "dead" = "idle";
  #lessee: Lessee | null = null;
  #up = new FrameCursor();
  #down = new FrameCursor();
  #drain = new FrameDecoder();
  #resetTimer: ReturnType<typeof setTimeout> | undefined;
  #onIdle: (pooled: PooledBridge) => void;
  #onDead: (pooled: PooledBridge) => void;
  #canReset: boolean;
  /** When it last went back to the pool, for idle expiry. */
  idleSince = Date.now();

  /**
   * Takes over a freshly opened bridge and starts reading from it.
   *
   * @param bridge The bridge.
   * @param hooks Called when it is free again, and when it is gone.
   */
  constructor(
    bridge: Bridge,
    hooks: {
      onIdle: (pooled: PooledBridge) => void;
      onDead: (pooled: PooledBridge) => void;
    },
  ) {
    this.bridge = bridge;
    this.#onIdle = hooks.onIdle;
    this.#onDead = hooks.onDead;
    const caps = bridge.hello.caps;
    this.#canReset = Array.isArray(caps) && caps.includes(CAPS.reset);
    this.#pump(bridge.channel.leftover);
  }

  /** Its state, for the agent's log. */
  get state(): string {
    return this.#state;
  }

  /** Whether it can be lent now: free, and between two frames. */
  get idle(): boolean {
    return this.#state === "idle" && this.#drain.pending === 0;
  }

  /**
   * Lends the bridge to a call: from now on the daemon's bytes go to it.
   *
   * @param lessee The call's socket.
   */
  lend(lessee: Lessee): void {
    this.#state = "lent";
    this.#lessee = lessee;
  }

  /**
   * Forwards bytes the call sent.
   *
   * @param bytes The call's bytes, in order.
   */
  async fromCall(bytes: Uint8Array): Promise<void> {
    if (this.#state !== "lent") return;
    this.#up.advance(bytes);
    await this.bridge.channel.writer.write(bytes);
  }

  /**
   * The call went away. A stream cut inside a frame cannot be continued, so
   * that bridge is dropped; otherwise the daemon is asked to forget the
   * call, and the bridge goes back to the pool once it confirms.
   */
  callLeft(): void {
    if (this.#state !== "lent") return;
    this.#lessee = null;
    if (!this.#up.atBoundary || !this.#canReset) return this.kill();
    this.#state = "resetting";
    this.#drain = new FrameDecoder();
    this.bridge.channel.writer.write(
      encodeFrame({ op: OPS.reset, id: RESET_ID }),
    )
      .catch(() => this.kill());
    this.#resetTimer = setTimeout(() => this.kill(), RESET_TIMEOUT_MS);
  }

  /** Ends the bridge; a call that holds it sees its connection close. */
  kill(): void {
    if (this.#state === "dead") return;
    this.#state = "dead";
    clearTimeout(this.#resetTimer);
    this.#lessee?.close();
    this.#lessee = null;
    this.bridge.kill();
    this.bridge.channel.reader.cancel().catch(() => {});
    this.#onDead(this);
  }

  async #pump(leftover: Uint8Array): Promise<void> {
    const { reader, readView } = this.bridge.channel;
    // Into one buffer when the channel has one: it is passed on and written
    // out before the next read, so nothing needs a chunk of its own.
    const read = readView ?? (async () => (await reader.read()).value ?? null);
    try {
      if (leftover.length) await this.#fromDaemon(leftover);
      while (this.#state !== "dead") {
        const bytes = await read();
        if (bytes === null) break;
        await this.#fromDaemon(bytes);
      }
    } catch {
      // Read failed: the bridge is gone all the same.
    }
    await this.#tellLessee();
    this.kill();
  }

  /**
   * A call that holds the bridge when it ends learns why, as the bridge's
   * own client would (a killed daemon is not a lost link): a last frame,
   * when the stream stands between two.
   */
  async #tellLessee(): Promise<void> {
    const lessee = this.#lessee;
    if (this.#state !== "lent" || !lessee || !this.#down.atBoundary) return;
    const error = await this.bridge.ended(true);
    const known = error instanceof SesshError;
    await lessee.write(encodeFrame({
      ev: EVENTS.lost,
      code: known ? error.code : "connection_lost",
      message: error.message,
      exit_code: known ? error.exitCode : 255,
    })).catch(() => {});
  }

  async #fromDaemon(bytes: Uint8Array): Promise<void> {
    if (this.#state === "lent" && this.#lessee) {
      this.#down.advance(bytes);
      try {
        await this.#lessee.write(bytes);
      } catch {
        // The call left; callLeft() follows from its side.
      }
      return;
    }
    // Not lent: what comes belongs to the call that left. Finish the frame
    // it was cut in, then look for the reset's reply among whole frames.
    const rest = bytes.subarray(this.#down.finishFrame(bytes));
    for (const message of this.#drain.push(rest)) {
      if (this.#state === "resetting" && message.id === RESET_ID) {
        clearTimeout(this.#resetTimer);
        this.#state = "idle";
        this.idleSince = Date.now();
        this.#drain = new FrameDecoder();
        this.#onIdle(this);
      }
    }
  }
}
