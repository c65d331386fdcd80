/**
 * Warm calls, counted in round trips through a relay that traces every
 * chunk: on a slow link the count is what a call costs, and unlike a time
 * it does not depend on the machine's load.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { roundTrips, startRelay, type TraceEntry } from "./_relay.ts";
import { SesshClient } from "../mod.ts";

const DELAY_MS = 50;

function describe(trace: readonly TraceEntry[]): string {
  return trace.map((e) => `${e.dir} ${e.bytes} at ${e.at.toFixed(0)}`)
    .join(", ");
}

Deno.test("wait({ done }) and result() of a finished command take one round trip, its output included", async (t) => {
  await using sshd = await startSshd();
  await using relay = startRelay(sshd.port, { delayMs: DELAY_MS });
  const client = await SesshClient.connect({
    destination: sshd.dest,
    ssh: { configFile: sshd.configFile, port: String(relay.port) },
    env: { ...Deno.env.toObject(), ...sshd.env },
  });
  try {
    const session = client.session("rt");
    await session.open({ shell: "bash" });
    const ran = await session.run("echo one-$((0+1))");
    assert.equal(ran.exitCode, 0);
    // Counts the round trips of `call`, which must return the finished
    // command's id and output.
    const oneTrip = async (
      call: () => Promise<{ commandId: number | null; output: string }>,
    ) => {
      const from = relay.trace.length;
      const got = await call();
      const trace = relay.trace.slice(from);
      assert.equal(got.commandId, ran.commandId);
      assert.equal(got.output, "one-1\n");
      assert.equal(roundTrips(trace, DELAY_MS), 1, describe(trace));
    };
    await t.step(
      "wait({ done })",
      () => oneTrip(() => session.wait({ done: true })),
    );
    await t.step("result()", () => oneTrip(() => session.result()));
  } finally {
    await client.disconnect({ stopMaster: true });
  }
});
