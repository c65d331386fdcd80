import assert from "node:assert/strict";
import { holdAtAgent } from "./agent_hold.ts";
import { agentFiles } from "./agent_protocol.ts";
import { runAgent } from "../agent/server.ts";
import { holdsDeleted } from "../../tests/_probes.ts";

Deno.test("holdAtAgent(): the agent holds the replaced file until the call lets go, then frees it", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  const controlDir = `${dir}/ctl`;
  const { socket } = agentFiles(controlDir, "unix");
  // In this process, so that its descriptors are this process's.
  const running = runAgent({ controlDir, listen: "unix" });
  try {
    await Deno.writeTextFile(`${dir}/target`, "old");
    await Deno.writeTextFile(`${dir}/part`, "new");
    let letGo: (() => void) | null = null;
    const deadline = Date.now() + 10_000;
    while (letGo === null && Date.now() < deadline) {
      letGo = await holdAtAgent(controlDir, {}, `${dir}/target`, 2000);
      if (letGo === null) await new Promise((ok) => setTimeout(ok, 50));
    }
    assert.ok(letGo, "the agent held nothing within 10 s");
    await Deno.rename(`${dir}/part`, `${dir}/target`);
    assert.ok(await holdsDeleted(`${dir}/target`), "the old file is held");
    letGo();
    const freedBy = Date.now() + 10_000;
    while (await holdsDeleted(`${dir}/target`)) {
      assert.ok(Date.now() < freedBy, "still held 10 s after the call let go");
      await new Promise((ok) => setTimeout(ok, 20));
    }
    assert.equal(
      await holdAtAgent(controlDir, {}, `${dir}/missing`, 2000),
      null,
      "nothing to hold",
    );
  } finally {
    // A running agent retires once its socket is gone.
    await Deno.remove(socket).catch(() => {});
    await running;
    await Deno.remove(dir, { recursive: true });
  }
});
