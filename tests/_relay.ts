/**
 * A loopback TCP relay that tests and benchmarks control: it forwards
 * 127.0.0.1:port to a target port, and can add delay, hold everything
 * (a partition: connections stay open, nothing is forwarded) or reset every
 * connection. It stands in for `tc netem`, which this machine lacks.
 *
 * @module
 */

/** A running relay. */
export interface Relay extends AsyncDisposable {
  /** Port the relay listens on (127.0.0.1). */
  port: number;
  /** Stop forwarding in both directions; connections stay open, new ones are held. */
  partition(): void;
  /** Forward again, delivering what was held, in order. */
  heal(): void;
  /** Close every current connection abruptly. */
  reset(): void;
  /** Delay added to each direction, in milliseconds. */
  delayMs: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Every chunk forwarded so far, in the order read (see {@linkcode roundTrips}). */
  readonly trace: TraceEntry[];
}

/** One chunk the relay read: when, which way, how many bytes, on which connection. */
export interface TraceEntry {
  /** `performance.now()` when it was read. */
  at: number;
  /** `up`: client to server; `down`: server to client. */
  dir: "up" | "down";
  /** Its size. */
  bytes: number;
  /** The connection's number, from 1 in the order accepted. */
  conn: number;
}

/**
 * The round trips in a trace: the times a connection's talk turned from the
 * client's side to an answer of the server's. A `down` chunk is an answer
 * when it was read at least `delayMs` (the relay's delay) after the first
 * `up` chunk not yet answered: one read sooner was on its way before that
 * `up` reached the server (both sides of a key exchange send at once).
 * With one connection, as a call through its master has, the count is what
 * a longer delay multiplies.
 *
 * @param trace A relay's trace.
 * @param delayMs The relay's one-way delay while the trace was taken.
 * @returns The number of round trips.
 */
export function roundTrips(
  trace: readonly TraceEntry[],
  delayMs: number,
): number {
  const unanswered = new Map<number, number>();
  let count = 0;
  for (const entry of trace) {
    const since = unanswered.get(entry.conn);
    if (entry.dir === "up" && since === undefined) {
      unanswered.set(entry.conn, entry.at);
    } else if (
      entry.dir === "down" && since !== undefined &&
      entry.at - since >= delayMs
    ) {
      count++;
      unanswered.delete(entry.conn);
    }
  }
  return count;
}

interface Pipe {
  conn: number;
  dir: "up" | "down";
  from: Deno.Conn;
  to: Deno.Conn;
  queue: { at: number; data: Uint8Array }[];
  writing: boolean;
  closed: boolean;
}

/**
 * Starts a relay to `127.0.0.1:targetPort`.
 *
 * @param targetPort Where to forward.
 * @param options Initial one-way delay.
 * @returns The relay; dispose it to close everything.
 */
export function startRelay(
  targetPort: number,
  options: { delayMs?: number } = {},
): Relay {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const pipes = new Set<Pipe>();
  let held = false;
  let accepted = 0;
  const trace: TraceEntry[] = [];
  const relay: Relay = {
    port: (listener.addr as Deno.NetAddr).port,
    delayMs: options.delayMs ?? 0,
    get accepted() {
      return accepted;
    },
    trace,
    partition() {
      held = true;
    },
    heal() {
      held = false;
      for (const pipe of pipes) void flush(pipe);
    },
    reset() {
      for (const conn of conns) close(conn);
      conns.clear();
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      relay.reset();
      await accepting.catch(() => {});
    },
  };

  function close(conn: Deno.Conn) {
    try {
      conn.close();
    } catch { /* already closed */ }
  }

  async function flush(pipe: Pipe) {
    if (pipe.writing) return;
    pipe.writing = true;
    try {
      while (pipe.queue.length && !held && !pipe.closed) {
        const wait = pipe.queue[0].at - Date.now();
        if (wait > 0) {
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        const { data } = pipe.queue.shift()!;
        let sent = 0;
        while (sent < data.length) {
          sent += await pipe.to.write(data.subarray(sent));
        }
      }
    } catch {
      pipe.closed = true;
      close(pipe.from);
      close(pipe.to);
    } finally {
      pipe.writing = false;
    }
  }

  async function pump(pipe: Pipe) {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await pipe.from.read(buf);
        if (n === null) break;
        trace.push({
          at: performance.now(),
          dir: pipe.dir,
          bytes: n,
          conn: pipe.conn,
        });
        pipe.queue.push({
          at: Date.now() + relay.delayMs,
          data: buf.slice(0, n),
        });
        void flush(pipe);
      }
    } catch { /* reset */ }
    pipe.closed = true;
    pipes.delete(pipe);
    close(pipe.to);
  }

  const accepting = (async () => {
    for await (const client of listener) {
      accepted++;
      let server: Deno.TcpConn;
      try {
        server = await Deno.connect({
          hostname: "127.0.0.1",
          port: targetPort,
        });
      } catch {
        close(client);
        continue;
      }
      // As ssh and sshd do: without it, Nagle's algorithm delays small writes.
      client.setNoDelay(true);
      server.setNoDelay(true);
      conns.add(client);
      conns.add(server);
      const pairs = [[client, server, "up"], [server, client, "down"]] as const;
      for (const [from, to, dir] of pairs) {
        const pipe: Pipe = {
          conn: accepted,
          dir,
          from,
          to,
          queue: [],
          writing: false,
          closed: false,
        };
        pipes.add(pipe);
        void pump(pipe);
      }
    }
  })();
  return relay;
}
