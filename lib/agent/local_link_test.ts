import assert from "node:assert/strict";
import { LocalLink } from "./local_link.ts";
import type { PooledBridge } from "./pooled_bridge.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array | undefined) => new TextDecoder().decode(data);

/**
 * A bridge that records what the call sends it, each write quicker than
 * the one before: writes made at once would land out of order.
 */
function recorder(): { pooled: PooledBridge; sent: string[] } {
  const sent: string[] = [];
  let delay = 10;
  const pooled = {
    fromCall: async (data: Uint8Array) => {
      const ms = delay;
      delay = Math.max(0, delay - 5);
      await new Promise((resolve) => setTimeout(resolve, ms));
      sent.push(text(data));
    },
  } as unknown as PooledBridge;
  return { pooled, sent };
}

Deno.test("LocalLink gives the call the daemon's bytes as they were when written", async () => {
  const link = new LocalLink();
  const { pooled } = recorder();
  const channel = link.channel(pooled);
  // The bridge reads into one buffer and reuses it once a write resolves.
  const buffer = bytes("one");
  const first = link.lessee.write(buffer);
  assert.equal(text((await channel.reader.read()).value), "one");
  await first;
  buffer.set(bytes("two"));
  const second = link.lessee.write(buffer);
  const read = await channel.reader.read();
  await second;
  buffer.set(bytes("new"));
  assert.equal(text(read.value), "two");
});

Deno.test("LocalLink answers a read waiting when the bytes come, and ends after what was queued", async () => {
  const link = new LocalLink();
  const channel = link.channel(recorder().pooled);
  const waiting = channel.reader.read();
  await link.lessee.write(bytes("late"));
  assert.equal(text((await waiting).value), "late");
  const last = link.lessee.write(bytes("last"));
  link.lessee.close();
  await last;
  assert.equal(text((await channel.reader.read()).value), "last");
  assert.equal((await channel.reader.read()).done, true);
  // A read waiting when the bridge goes ends too.
  const other = new LocalLink();
  const pending = other.channel(recorder().pooled).reader.read();
  other.end();
  assert.equal((await pending).done, true);
});

Deno.test("LocalLink reads into the call's buffer, however little room it gives", async () => {
  const link = new LocalLink();
  const channel = link.channel(recorder().pooled);
  const written = link.lessee.write(bytes("abcdefg"));
  const room = new Uint8Array(3);
  const parts: string[] = [];
  for (let count; (count = await channel.readInto!(room)) !== null;) {
    parts.push(text(room.subarray(0, count)));
    if (parts.join("") === "abcdefg") break;
  }
  assert.deepEqual(parts, ["abc", "def", "g"]);
  await written;
  link.end();
  assert.equal(await channel.readInto!(room), null);
});

Deno.test("LocalLink sends the call's writes to the bridge in the order made", async () => {
  const link = new LocalLink();
  const { pooled, sent } = recorder();
  const channel = link.channel(pooled);
  // Not awaited one by one: the connection hands frames over as it makes them.
  await Promise.all(["a", "b", "c"].map((w) => channel.writer.write(bytes(w))));
  assert.deepEqual(sent, ["a", "b", "c"]);
});

/** Whether `promise` has settled once the tasks already queued have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => done = true, () => done = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

Deno.test("LocalLink holds each write of the bridge until the call has taken all its bytes", async () => {
  const link = new LocalLink();
  const channel = link.channel(recorder().pooled);
  // A follow paused on a full stdout reads nothing: the bridge must stop
  // reading ssh, as a socket's full buffer would stop it.
  const chunk = new Uint8Array(64 * 1024).fill(7);
  const write = link.lessee.write(chunk);
  assert.equal(await settled(write), false, "went through unread");
  const room = new Uint8Array(60 * 1024);
  assert.equal(await channel.readInto!(room), room.length);
  assert.equal(await settled(write), false, "went through half read");
  assert.equal(await channel.readInto!(room), 4 * 1024);
  assert.equal(await settled(write), true, "held once read");
  // A call that leaves lets a held write go too: the bridge is not stuck,
  // and what it wrote is still read, as it was.
  const next = link.lessee.write(chunk);
  assert.equal(await settled(next), false);
  link.end();
  assert.equal(await settled(next), true);
  chunk.fill(0);
  const rest = await channel.reader.read();
  assert.ok(rest.value?.every((b) => b === 7) && rest.value.length === 65536);
});
