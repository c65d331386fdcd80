import assert from "node:assert/strict";
import { Connection } from "./connection.ts";
import { encodeFrame, FrameDecoder, type Message } from "../protocol/frame.ts";
import { ConnectionLostError, SesshError } from "../errors.ts";
import { concatBytes } from "../bytes.ts";

/**
 * A daemon stand-in on the far side of a pair of streams: it sees every
 * request and answers through `reply`, or stays silent like a dead link.
 */
function fakeDaemon(
  answer: (request: Message) => Message | null,
  options: { heartbeatMs?: number } = {},
) {
  let push!: (bytes: Uint8Array) => void;
  let end!: () => void;
  const incoming = new ReadableStream<Uint8Array>({
    start(controller) {
      push = (bytes) => controller.enqueue(bytes);
      end = () => controller.close();
    },
  });
  const requests: Message[] = [];
  const decoder = new FrameDecoder();
  const outgoing = new WritableStream<Uint8Array>({
    write(chunk) {
      for (const request of decoder.push(chunk)) {
        requests.push(request);
        const reply = answer(request);
        if (reply) push(encodeFrame({ id: request.id, ...reply }));
      }
    },
  });
  let kills = 0;
  const connection = new Connection(
    {
      reader: incoming.getReader(),
      writer: outgoing.getWriter(),
      leftover: new Uint8Array(),
    },
    {
      onLost: () => Promise.resolve(new SesshError("daemon_gone", "gone")),
      kill: () => kills++,
      heartbeatMs: options.heartbeatMs,
    },
  );
  return {
    connection,
    requests,
    push: (message: Message) => push(encodeFrame(message)),
    /** Sends a message as two chunks, the first its header alone. */
    pushCut: (message: Message) => {
      const frame = encodeFrame(message);
      push(frame.subarray(0, 8));
      push(frame.subarray(8));
    },
    end,
    get kills() {
      return kills;
    },
  };
}

Deno.test("Connection.request() resolves with the reply that carries its id", async () => {
  const daemon = fakeDaemon((request) => ({ ok: true, echo: request.op }));
  const [a, b] = await Promise.all([
    daemon.connection.request("list", {}),
    daemon.connection.request("info", { name: "x" }),
  ]);
  assert.equal(a.echo, "list");
  assert.equal(b.echo, "info");
  await daemon.connection.close();
});

Deno.test("Connection.request() rejects a failed reply with the daemon's code", async () => {
  const daemon = fakeDaemon(() => ({
    ok: false,
    code: "session_lost",
    message: 'Session "x" was lost',
  }));
  await assert.rejects(
    daemon.connection.request("info", { name: "x" }),
    (error: SesshError) => error.code === "session_lost",
  );
  await daemon.connection.close();
});

Deno.test("Connection.close() kills the bridge and returns although the far side never ends", async () => {
  const daemon = fakeDaemon(() => null);
  const started = performance.now();
  await daemon.connection.close();
  assert.ok(performance.now() - started < 500);
  assert.equal(daemon.kills, 1);
});

Deno.test("Connection heartbeat: a silent link fails waiters with connection_lost and kills the bridge", async () => {
  const daemon = fakeDaemon(() => null, { heartbeatMs: 200 });
  const started = performance.now();
  using events = daemon.connection.subscribe("work");
  const event = await events.next(10_000);
  const ms = performance.now() - started;
  assert.equal(event, null);
  assert.ok(
    daemon.connection.lostError instanceof ConnectionLostError,
    String(daemon.connection.lostError),
  );
  assert.ok(ms >= 400 && ms < 2000, `noticed after ${ms} ms`);
  assert.ok(daemon.requests.some((r) => r.op === "ping"), "a ping was sent");
  assert.equal(daemon.kills, 1);
  await assert.rejects(
    daemon.connection.request("info", {}),
    ConnectionLostError,
  );
  await daemon.connection.close();
});

Deno.test("Connection heartbeat: a silent link is noticed while a follow waits in short turns", async () => {
  // Each turn shorter than a beat's period (heartbeatMs / 5), as a
  // follow's 250 ms turns are against the 1 s of the real heartbeat.
  const daemon = fakeDaemon(() => null, { heartbeatMs: 500 });
  using events = daemon.connection.subscribe("work", { watch: true });
  const started = performance.now();
  while (!daemon.connection.lostError && performance.now() - started < 5000) {
    assert.equal(await events.next(50), null);
  }
  assert.ok(
    daemon.connection.lostError instanceof ConnectionLostError,
    "not noticed in 5 s, ten times its heartbeat",
  );
  assert.equal(daemon.kills, 1);
  await daemon.connection.close();
});

Deno.test("Connection heartbeat: an answered ping keeps a quiet link alive", async () => {
  const daemon = fakeDaemon(
    (request) => request.op === "ping" ? { ok: true } : null,
    { heartbeatMs: 100 },
  );
  using events = daemon.connection.subscribe("work");
  const event = await events.next(1000);
  assert.equal(event, null);
  assert.equal(daemon.connection.lostError, null);
  assert.ok(daemon.requests.filter((r) => r.op === "ping").length >= 2);
  assert.equal(daemon.kills, 0);
  await daemon.connection.close();
});

Deno.test("Connection.subscribe() gives a session's events in order, then null when the stream ends", async () => {
  const daemon = fakeDaemon(() => null);
  using events = daemon.connection.subscribe("work");
  daemon.push({ ev: "output", name: "work", n: 1 });
  daemon.push({ ev: "output", name: "work", n: 2 });
  assert.equal((await events.next(1000))?.n, 1);
  assert.equal((await events.next(1000))?.n, 2);
  daemon.end();
  assert.equal(await events.next(1000), null);
  await daemon.connection.done;
  assert.equal(daemon.connection.lostError?.message, "gone");
  await daemon.connection.close();
});

Deno.test("Connection.subscribe() routes each event to every mailbox of its session and to no other", async () => {
  const daemon = fakeDaemon(() => null);
  const a1 = daemon.connection.subscribe("a");
  using a2 = daemon.connection.subscribe("a", { output: false });
  using b = daemon.connection.subscribe("b");
  daemon.push({ ev: "output", name: "a", offset: 0, data: new Uint8Array(1) });
  daemon.push({ ev: "done", name: "b", seq: 1 });
  daemon.push({ ev: "done", name: "a", seq: 2 });
  daemon.push({ ev: "done", name: "nobody", seq: 3 });
  assert.equal((await a1.next(1000))?.ev, "output");
  assert.equal((await a1.next(1000))?.seq, 2);
  assert.equal((await a2.next(1000))?.seq, 2, "output was not asked for");
  assert.equal((await b.next(1000))?.seq, 1);
  assert.equal(await b.next(20), null, "a's events are not b's");
  a1[Symbol.dispose]();
  daemon.push({ ev: "done", name: "a", seq: 4 });
  assert.equal((await a2.next(1000))?.seq, 4);
  await daemon.connection.close();
});

Deno.test("Connection.recycle() reuses output that one mailbox alone kept, not output two kept", async () => {
  const daemon = fakeDaemon(() => null);
  const big = (offset: number) => ({
    ev: "output",
    name: "a",
    offset,
    data: new Uint8Array(100_000).fill(offset),
  });
  // Cut, as reads cut a flood: a big frame begun is gathered on its own.
  const take = async (mailbox: { next(ms: number): Promise<unknown> }) =>
    ((await mailbox.next(1000)) as Message).data as Uint8Array;
  const sole = daemon.connection.subscribe("a");
  using _quiet = daemon.connection.subscribe("a", { output: false });
  daemon.pushCut(big(1));
  const first = await take(sole);
  daemon.connection.recycle(first);
  daemon.pushCut(big(2));
  assert.equal((await take(sole)).buffer, first.buffer, "read into the same");
  using other = daemon.connection.subscribe("a");
  daemon.pushCut(big(3));
  const shared = await take(sole);
  assert.equal(shared.buffer, (await take(other)).buffer);
  daemon.connection.recycle(shared);
  daemon.pushCut(big(4));
  assert.notEqual((await take(sole)).buffer, shared.buffer);
  assert.deepEqual(shared, new Uint8Array(100_000).fill(3), "left alone");
  sole[Symbol.dispose]();
  await daemon.connection.close();
});

Deno.test("Connection.subscribe() drops events nobody waits for, and replies still come", async () => {
  const daemon = fakeDaemon((request) => ({ ok: true, op: request.op }));
  // Far more than any queue held: none is kept, so reading never stops.
  for (let seq = 0; seq < 5000; seq++) {
    daemon.push({ ev: "done", name: `s${seq % 200}`, seq });
  }
  const reply = await daemon.connection.request("list", {}, {
    timeoutMs: 2000,
  });
  assert.equal(reply.op, "list");
  await daemon.connection.close();
});

Deno.test("Connection.subscribe(): a consumer that does not read holds up no reply; its output becomes a gap", async () => {
  const daemon = fakeDaemon((request) => ({ ok: true, op: request.op }));
  using idle = daemon.connection.subscribe("flood");
  const part = new Uint8Array(1 << 20);
  for (let i = 0; i < 20; i++) {
    daemon.push({
      ev: "output",
      name: "flood",
      offset: i * part.length,
      data: part,
    });
  }
  daemon.push({ ev: "done", name: "flood", seq: 1 });
  const reply = await daemon.connection.request("list", {}, {
    timeoutMs: 2000,
  });
  assert.equal(reply.op, "list");
  const seen: Message[] = [];
  for (let event = idle.take(); event; event = idle.take()) seen.push(event);
  const outputs = seen.filter((event) => event.ev === "output");
  const gap = seen.find((event) => event.ev === "gap");
  assert.ok(outputs.length >= 1 && outputs.length < 20);
  assert.deepEqual(gap, {
    ev: "gap",
    name: "flood",
    start: outputs.length * part.length,
    end: 20 * part.length,
    local: true,
  });
  assert.equal(seen.at(-1)?.ev, "done", "the gap is told before what follows");
  await daemon.connection.close();
});

Deno.test("Connection.subscribe(): an aborted wait rejects with the signal's reason", async () => {
  const daemon = fakeDaemon(() => null);
  using events = daemon.connection.subscribe("work");
  const controller = new AbortController();
  const waited = events.next(10_000, controller.signal);
  controller.abort(new Error("enough"));
  await assert.rejects(waited, /enough/);
  await assert.rejects(events.next(10, controller.signal), /enough/);
  await daemon.connection.close();
});

Deno.test("Connection.subscribe() with overflow: pause stops reading while its mailbox is full", async () => {
  const daemon = fakeDaemon(() => ({ ok: true }));
  using terminal = daemon.connection.subscribe("tty", { overflow: "pause" });
  for (let i = 0; i < 300; i++) {
    daemon.push({
      ev: "output",
      name: "tty",
      offset: i,
      data: new Uint8Array(1),
    });
  }
  let answered = false;
  const reply = daemon.connection.request("ping", {}, { timeoutMs: 5000 })
    .then(() => answered = true);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(answered, false, "the reply waits behind the full mailbox");
  assert.equal(daemon.connection.backlogged, true);
  let taken = 0;
  while (terminal.take()) taken++;
  await reply;
  assert.ok(taken > 256);
  await daemon.connection.close();
});

Deno.test("Connection reads a channel with readInto into its decoder, never by read()", async () => {
  const data = new Uint8Array(300_000).map((_, i) => (i * 3) % 256);
  const stream = concatBytes([
    encodeFrame({ ev: "output", name: "s", offset: 0, data }),
    encodeFrame({ ev: "output", name: "s", offset: 1, data: data.subarray(1) }),
  ]);
  let at = 0;
  let readyToRead!: () => void;
  const subscribed = new Promise<void>((resolve) => readyToRead = resolve);
  const connection = new Connection(
    {
      reader: {
        read: () => Promise.reject(new Error("read() was used")),
        cancel: () => Promise.resolve(),
      },
      writer: {
        write: () => Promise.resolve(),
        close: () => Promise.resolve(),
      },
      leftover: new Uint8Array(),
      // In pieces of at most 50 kB, as a socket brings a flood.
      readInto: async (target) => {
        await subscribed;
        if (at === stream.length) return null;
        const count = Math.min(target.length, 50_000, stream.length - at);
        target.set(stream.subarray(at, at + count));
        at += count;
        return count;
      },
    },
    {
      onLost: () => Promise.resolve(new SesshError("daemon_gone", "gone")),
      kill: () => {},
    },
  );
  using events = connection.subscribe("s");
  readyToRead();
  await connection.done;
  assert.equal(connection.lostError?.message, "gone");
  // Sizes first: a failed deepEqual of 300 kB would take minutes to diff.
  const first = (await events.next(5_000))?.data as Uint8Array | undefined;
  assert.equal(first?.length, data.length);
  assert.deepEqual(first, data);
  const second = (await events.next(5_000))?.data as Uint8Array | undefined;
  assert.equal(second?.length, data.length - 1);
  assert.deepEqual(second, data.subarray(1));
});
