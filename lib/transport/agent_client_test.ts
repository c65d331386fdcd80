import assert from "node:assert/strict";
import { askAgent } from "./agent_client.ts";
import { agentFiles, KEY_LENGTH, newAgentKeys } from "./agent_protocol.ts";
import { encodeFrame } from "../protocol/frame.ts";

/**
 * A control directory whose agent files name a loopback port where `serve`
 * answers in the agent's place.
 */
async function impostor(serve: (conn: Deno.Conn) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const files = agentFiles(dir, "tcp");
  const { keys, text } = newAgentKeys();
  await Deno.writeTextFile(files.token, text, { mode: 0o600 });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await Deno.writeTextFile(
    files.port,
    `${(listener.addr as Deno.NetAddr).port}\n`,
    { mode: 0o600 },
  );
  const got: Uint8Array[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      const buffer = new Uint8Array(KEY_LENGTH);
      const n = await conn.read(buffer);
      if (n) got.push(buffer.slice(0, n));
      await serve(conn).catch(() => {});
      conn.close();
    }
  })().catch(() => {});
  return {
    dir,
    files,
    keys,
    got,
    async [Symbol.asyncDispose]() {
      listener.close();
      await serving;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const env = { SESSH_AGENT_LISTEN: "tcp" };
const request = { op: "lease", version: "v" };

Deno.test("askAgent() never takes a reply from a program that does not know the agent key", async () => {
  await using fake = await impostor(async (conn) => {
    // The call key it learnt is no proof of being the agent.
    await conn.write(new TextEncoder().encode("x".repeat(KEY_LENGTH)));
    await conn.write(encodeFrame({ ok: true, hello: {} }));
  });
  const answer = await askAgent(fake.dir, env, request, 2000);
  assert.ok("reason" in answer, "a reply was taken");
  assert.match(
    answer.reason,
    /^what answers at the local agent's port does not know its key \(another program took it\); it is replaced by a new agent$/,
  );
  assert.equal(answer.agentDue, true);
  assert.equal(await Deno.lstat(fake.files.port).catch(() => null), null);
  assert.equal(await Deno.lstat(fake.files.token).catch(() => null), null);
  assert.equal(new TextDecoder().decode(fake.got[0]), fake.keys.call);
});

Deno.test("askAgent() takes the reply of what answers with the agent key", async () => {
  let keys = { agent: "" };
  await using fake = await impostor(async (conn) => {
    await conn.write(new TextEncoder().encode(keys.agent));
    await conn.write(encodeFrame({ ok: true }));
  });
  keys = fake.keys;
  const answer = await askAgent(fake.dir, env, request, 2000);
  assert.ok(!("reason" in answer), JSON.stringify(answer));
  answer.close();
  assert.deepEqual(answer.reply, { ok: true });
});
