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
  await link.lessee.write(buffer);
  buffer.set(bytes("two"));
  await link.lessee.write(buffer);
  assert.equal(text((await channel.reader.read()).value), "one");
  assert.equal(text((await channel.reader.read()).value), "two");
});

Deno.test("LocalLink answers a read waiting when the bytes come, and ends after what was queued", async () => {
  const link = new LocalLink();
  const channel = link.channel(recorder().pooled);
  const waiting = channel.reader.read();
  await link.lessee.write(bytes("late"));
  assert.equal(text((await waiting).value), "late");
  await link.lessee.write(bytes("last"));
  link.lessee.close();
  assert.equal(text((await channel.reader.read()).value), "last");
  assert.equal((await channel.reader.read()).done, true);
  // A read waiting when the bridge goes ends too.
  const other = new LocalLink();
  const pending = other.channel(recorder().pooled).reader.read();
  other.end();
  assert.equal((await pending).done, true);
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

Deno.test("LocalLink holds the bridge's writes while the call leaves a socket's worth unread", async () => {
  const link = new LocalLink();
  const channel = link.channel(recorder().pooled);
  // A follow paused on a full stdout reads nothing: the bridge must stop
  // reading ssh, as a socket's full buffer would stop it.
  const chunk = new Uint8Array(64 * 1024);
  let held: Promise<void> | null = null;
  for (let i = 0; i < 64 && held === null; i++) {
    const write = link.lessee.write(chunk);
    if (!await settled(write)) held = write;
  }
  assert.ok(held, "4 MiB unread and the bridge's writes still went through");
  // Reading what is queued lets the bridge go on.
  while (!await settled(held)) await channel.reader.read();
  // A call that leaves lets a held write go too: the bridge is not stuck.
  let next: Promise<void> | null = null;
  for (let i = 0; i < 64 && next === null; i++) {
    const write = link.lessee.write(chunk);
    if (!await settled(write)) next = write;
  }
  assert.ok(next);
  link.end();
  assert.ok(await settled(next));
});
