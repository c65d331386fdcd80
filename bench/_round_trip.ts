/**
 * The round trip of the benchmark's link itself: one byte to a loopback
 * echo server and back, through a relay of the same delay as the one the
 * sessh calls go through. A relay made of timers adds to its delay (a
 * millisecond or two each way), so a call's cost beyond one round trip is
 * its time less this one, measured in the same run.
 *
 * @module
 */
import { type Relay, startRelay } from "../tests/_relay.ts";

/** A link whose round trip can be timed; disposing it closes it. */
export interface RoundTrip extends AsyncDisposable {
  /** Sends one byte and waits for it to come back. */
  once(): Promise<void>;
}

/**
 * Starts an echo server on 127.0.0.1 and connects to it, through a relay
 * adding `delayMs` each way when that is not 0.
 *
 * @param delayMs The relay's delay each way; 0 for none.
 * @returns The link.
 *
 * @example
 * ```ts ignore
 * import { startRoundTrip } from "./_round_trip.ts";
 * await using link = await startRoundTrip(25);
 * await link.once(); // about 50 ms
 * ```
 */
export async function startRoundTrip(delayMs: number): Promise<RoundTrip> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    conn.setNoDelay(true);
    const buf = new Uint8Array(64);
    try {
      while (true) {
        const n = await conn.read(buf);
        if (n === null) break;
        await conn.write(buf.subarray(0, n));
      }
    } catch { /* closed at disposal */ }
    conn.close();
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  const relay: Relay | null = delayMs ? startRelay(port, { delayMs }) : null;
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: relay?.port ?? port,
  });
  conn.setNoDelay(true);
  const buf = new Uint8Array(64);
  return {
    async once() {
      await conn.write(new Uint8Array([1]));
      if (await conn.read(buf) === null) {
        throw new Error("The echo server closed the connection");
      }
    },
    async [Symbol.asyncDispose]() {
      conn.close();
      await relay?.[Symbol.asyncDispose]();
      listener.close();
      await serving;
    },
  };
}
