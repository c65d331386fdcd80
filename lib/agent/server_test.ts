import assert from "node:assert/strict";
import { poolKey, runAgent } from "./server.ts";
import { agentFiles, type LeaseRequest } from "../transport/agent_protocol.ts";
import { encodeFrame } from "../protocol/frame.ts";

const request = (
  env: Record<string, string>,
  ssh: LeaseRequest["ssh"] = { configFile: "/c", options: [] },
): LeaseRequest => ({
  op: "lease",
  version: "v",
  token: "t",
  destination: "box",
  ssh,
  env,
  timeout_ms: 1000,
});

Deno.test("poolKey() is the same whatever order a call lists its environment and flags in", () => {
  assert.equal(
    poolKey(request({ HOME: "/h", SESSH_CONTROL_DIR: "/c" })),
    poolKey(request({ SESSH_CONTROL_DIR: "/c", HOME: "/h" })),
  );
  assert.equal(
    poolKey(request({}, { configFile: "/c", port: "22" })),
    poolKey(request({}, { port: "22", configFile: "/c" })),
  );
});

Deno.test("poolKey() tells apart calls whose ssh would differ", () => {
  assert.notEqual(
    poolKey(request({ SESSH_IDENTITY: "/a" })),
    poolKey(request({ SESSH_IDENTITY: "/b" })),
  );
  assert.notEqual(
    poolKey(request({}, { port: "22" })),
    poolKey(request({}, { port: "2222" })),
  );
});

Deno.test("runAgent() retires after its idle time while calls that borrow nothing keep coming", async () => {
  const dir = await Deno.makeTempDir();
  const controlDir = `${dir}/ctl`;
  const { socket } = agentFiles(controlDir);
  let finished = false;
  const agent = runAgent({ controlDir, idleMs: 1500 }).then(() => {
    finished = true;
  });
  try {
    const deadline = Date.now() + 8000;
    while (!finished && Date.now() < deadline) {
      try {
        const conn = await Deno.connect({ transport: "unix", path: socket });
        await conn.write(encodeFrame({ op: "not-a-lease" }));
        conn.close();
      } catch {
        // Not listening yet, or retired.
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(finished, "the agent is still running after 8 s");
  } finally {
    // A running agent retires once its socket is gone.
    await Deno.remove(socket).catch(() => {});
    await agent;
    await Deno.remove(dir, { recursive: true });
  }
});
