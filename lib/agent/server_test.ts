import assert from "node:assert/strict";
import { poolKey } from "./server.ts";
import type { LeaseRequest } from "./protocol.ts";

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
