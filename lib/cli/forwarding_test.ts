import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import type { SesshClient } from "../session/client.ts";
import { parseForward } from "../ssh/forwards.ts";
import { forwardsFor } from "./forwarding.ts";

/** What forwardsFor() reads of a client that goes without a master. */
const DIRECT = {
  master: null,
  destination: { host: "db1", display: "db1" },
} as unknown as SesshClient;

Deno.test("forwardsFor() without a master lists none and refuses to set one up", async () => {
  const forwarder = forwardsFor(DIRECT);
  assert.deepEqual(await forwarder.recorded(), []);
  const forward = parseForward("L", "8080:localhost:80");
  for (const attempt of [forwarder.change, forwarder.cancel]) {
    await assert.rejects(() => attempt(forward), (error) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /SESSH_CONTROL_MASTER=no.*"db1"/);
      return true;
    });
  }
});
