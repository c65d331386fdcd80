import assert from "node:assert/strict";
import { Connection } from "./connection.ts";
import { encodeFrame, FrameDecoder, type Message } from "../protocol/frame.ts";
import { ConnectionLostError, SesshError } from "../errors.ts";

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
  const event = await daemon.connection.nextEvent(10_000);
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

Deno.test("Connection heartbeat: an answered ping keeps a quiet link alive", async () => {
  const daemon = fakeDaemon(
    (request) => request.op === "ping" ? { ok: true } : null,
    { heartbeatMs: 100 },
  );
  const event = await daemon.connection.nextEvent(1000);
  assert.equal(event, null);
  assert.equal(daemon.connection.lostError, null);
  assert.ok(daemon.requests.filter((r) => r.op === "ping").length >= 2);
  assert.equal(daemon.kills, 0);
  await daemon.connection.close();
});

Deno.test("Connection.nextEvent() returns pushed events in order, then null when the stream ends", async () => {
  const daemon = fakeDaemon(() => null);
  daemon.push({ ev: "output", n: 1 });
  daemon.push({ ev: "output", n: 2 });
  assert.equal((await daemon.connection.nextEvent(1000))?.n, 1);
  assert.equal((await daemon.connection.nextEvent(1000))?.n, 2);
  daemon.end();
  assert.equal(await daemon.connection.nextEvent(1000), null);
  await daemon.connection.done;
  assert.equal(daemon.connection.lostError?.message, "gone");
  await daemon.connection.close();
});
