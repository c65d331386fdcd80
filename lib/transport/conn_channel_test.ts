import assert from "node:assert/strict";
import { connChannel } from "./conn_channel.ts";
import { concatBytes } from "../bytes.ts";
import { Connection } from "./connection.ts";
import { encodeFrame } from "../protocol/frame.ts";
import { SesshError } from "../errors.ts";

/** Both ends of a TCP connection on loopback. */
async function pair(): Promise<
  { client: Deno.Conn; server: Deno.Conn } & AsyncDisposable
> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const client = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  const server = await accepted;
  return {
    client,
    server,
    [Symbol.asyncDispose]() {
      for (const conn of [client, server]) {
        try {
          conn.close();
        } catch { /* closed already */ }
      }
      return Promise.resolve();
    },
  };
}

async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  while (true) {
    const n = await conn.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  return concatBytes(chunks);
}

Deno.test("connChannel() writes made without waiting go out whole and in order, and close waits for them", async () => {
  await using ends = await pair();
  const channel = connChannel(ends.client, new Uint8Array());
  // Large enough that a write takes several calls of the socket's own.
  const parts = [1, 2, 3].map((n) => new Uint8Array(4 << 20).fill(n));
  const received = readToEnd(ends.server);
  const writes = parts.map((part) => channel.writer.write(part));
  await channel.writer.close();
  await Promise.all(writes);
  const got = await received;
  assert.equal(got.length, 3 * (4 << 20));
  for (let i = 0; i < 3; i++) {
    const part = got.subarray(i * (4 << 20), (i + 1) * (4 << 20));
    assert.ok(part.every((b) => b === i + 1), `part ${i + 1} arrived whole`);
  }
});

Deno.test("connChannel() reads what arrives, then done at the end, and keeps what it was given", async () => {
  await using ends = await pair();
  const leftover = new Uint8Array([9]);
  const channel = connChannel(ends.client, leftover);
  assert.equal(channel.leftover, leftover);
  await ends.server.write(new Uint8Array([1, 2, 3]));
  const first = await channel.reader.read();
  assert.deepEqual(first, { done: false, value: new Uint8Array([1, 2, 3]) });
  await ends.server.closeWrite();
  assert.deepEqual(await channel.reader.read(), {
    done: true,
    value: undefined,
  });
});

Deno.test("connChannel() cancel closes the connection", async () => {
  await using ends = await pair();
  const channel = connChannel(ends.client, new Uint8Array());
  await channel.reader.cancel();
  assert.equal(await ends.server.read(new Uint8Array(1)), null);
});

Deno.test("connChannel() readInto: a Connection reads the socket into its decoder, never by read()", async () => {
  await using ends = await pair();
  const channel = connChannel(ends.client, new Uint8Array());
  channel.reader.read = () => Promise.reject(new Error("read() was used"));
  const connection = new Connection(channel, {
    onLost: () => Promise.resolve(new SesshError("daemon_gone", "gone")),
    kill: () => {},
  });
  using events = connection.subscribe("s");
  const data = new Uint8Array(300_000).map((_, i) => (i * 3) % 256);
  const frames = concatBytes([
    encodeFrame({ ev: "output", name: "s", offset: 0, data }),
    encodeFrame({
      ev: "output",
      name: "s",
      offset: 300_000,
      data: data.subarray(1),
    }),
  ]);
  // In pieces, as a socket brings a flood; not awaited before reading, as
  // the socket's buffers hold less than the two frames.
  const writing = (async () => {
    for (let at = 0; at < frames.length; at += 50_000) {
      await ends.server.write(frames.subarray(at, at + 50_000));
    }
  })();
  writing.catch(() => {});
  const first = await events.next(5_000);
  const second = await events.next(5_000);
  assert.deepEqual(first?.data, data);
  assert.deepEqual(second?.data, data.subarray(1));
  await writing;
  ends.server.close();
  await connection.done;
  assert.equal(connection.lostError?.message, "gone");
});
