import assert from "node:assert/strict";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { StdinTransport, type StdioStreams } from "./stdio.ts";

/** Streams whose input is `chunks`, one per read, and whose output takes at most `take` bytes a call. */
function streams(chunks: string[], take = Infinity) {
  const encoder = new TextEncoder();
  const pending = chunks.map((c) => encoder.encode(c));
  const written: Uint8Array[] = [];
  const fake: StdioStreams = {
    input: {
      read(buffer) {
        const next = pending.shift();
        if (next === undefined) return Promise.resolve(null);
        buffer.set(next);
        return Promise.resolve(next.length);
      },
    },
    output: {
      writeSync(data) {
        const n = Math.min(take, data.length);
        written.push(data.slice(0, n));
        return n;
      },
    },
  };
  const output = () =>
    new TextDecoder().decode(new Uint8Array(written.flatMap((w) => [...w])));
  return { fake, output, writes: () => written.length };
}

/** Runs a transport over `chunks` to the end of its input. */
async function readAll(chunks: string[], maxLine?: number) {
  const { fake } = streams(chunks);
  const transport = new StdinTransport(fake, maxLine);
  const messages: JSONRPCMessage[] = [];
  const errors: string[] = [];
  const closed = new Promise<void>((resolve) => transport.onclose = resolve);
  transport.onmessage = (m) => messages.push(m);
  transport.onerror = (e) => errors.push(e.message);
  await transport.start();
  await closed;
  return { messages, errors };
}

const ping = (id: number) =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "ping" });

Deno.test("StdinTransport delivers lines split across reads and several in one read", async () => {
  const one = ping(1);
  const { messages, errors } = await readAll([
    one.slice(0, 5),
    one.slice(5, 9),
    `${one.slice(9)}\r\n${ping(2)}\n${ping(3)}`,
    "\n",
  ]);
  assert.deepEqual(errors, []);
  assert.deepEqual(messages.map((m) => (m as { id: number }).id), [1, 2, 3]);
});

Deno.test("StdinTransport reports a line that is no JSON-RPC message and reads on", async () => {
  const { messages, errors } = await readAll([
    `{"not": "rpc"}\nnot json\n${ping(4)}\n`,
  ]);
  assert.deepEqual(errors.length, 2);
  assert.deepEqual(messages.map((m) => (m as { id: number }).id), [4]);
});

Deno.test("StdinTransport closes on a line longer than its limit", async () => {
  const { messages, errors } = await readAll(
    ["x".repeat(40), `\n${ping(5)}\n`],
    32,
  );
  assert.deepEqual(messages, []);
  assert.match(errors[0], /exceeded maximum size of 32 bytes/);
});

Deno.test("StdinTransport.send() writes the whole line when the output takes it in parts", async () => {
  const { fake, output, writes } = streams([], 7);
  const transport = new StdinTransport(fake);
  const message = {
    jsonrpc: "2.0" as const,
    id: 6,
    result: { text: "é".repeat(10) },
  };
  await transport.send(message);
  assert.deepEqual(output(), JSON.stringify(message) + "\n");
  assert.ok(writes() > 1, `${writes()} writes`);
});

Deno.test("StdinTransport answers a request read before its input ended, then closes", async () => {
  const { fake, output } = streams([`${ping(7)}\n`]);
  const transport = new StdinTransport(fake);
  let closedBeforeReply = false;
  let replied = false;
  const closed = new Promise<void>((resolve) =>
    transport.onclose = () => {
      closedBeforeReply = !replied;
      resolve();
    }
  );
  transport.onmessage = () =>
    setTimeout(() => {
      replied = true;
      void transport.send({ jsonrpc: "2.0", id: 7, result: {} });
    }, 50);
  await transport.start();
  await closed;
  assert.equal(closedBeforeReply, false);
  assert.deepEqual(JSON.parse(output()), { jsonrpc: "2.0", id: 7, result: {} });
});

Deno.test("StdinTransport closes a while after its input ended with a request unanswered", async () => {
  const { fake } = streams([`${ping(8)}\n`]);
  const transport = new StdinTransport(fake);
  const closed = new Promise<void>((resolve) => transport.onclose = resolve);
  await transport.start();
  await closed;
});
