import assert from "node:assert/strict";
import { connChannel } from "./conn_channel.ts";
import { concatBytes } from "../bytes.ts";

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

Deno.test("connChannel() readInto reads into the view it is given, then null at the end", async () => {
  await using ends = await pair();
  const channel = connChannel(ends.client, new Uint8Array());
  await ends.server.write(new Uint8Array([1, 2, 3]));
  const target = new Uint8Array(8);
  const count = await channel.readInto!(target.subarray(2));
  assert.equal(count, 3);
  assert.deepEqual(target, new Uint8Array([0, 0, 1, 2, 3, 0, 0, 0]));
  await ends.server.closeWrite();
  assert.equal(await channel.readInto!(target), null);
});
