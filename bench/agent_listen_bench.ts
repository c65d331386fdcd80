/**
 * `deno run -A bench/agent_listen_bench.ts [RUNS]`: how long a warm call
 * takes to borrow a bridge from the local agent and hand it back, over its
 * Unix socket and over TCP on 127.0.0.1 (`SESSH_AGENT_LISTEN=tcp`, what
 * Windows uses), against a throwaway sshd. Prints the median and p90 of
 * each, in milliseconds.
 *
 * @module
 */
import { startSshd } from "../tests/_sshd.ts";
import { leaseBridge, startAgent } from "../lib/transport/lease.ts";
import type { AgentListen } from "../lib/transport/agent_protocol.ts";
import { percentile } from "./_stats.ts";

const runs = Number(Deno.args[0] ?? 200);
await using sshd = await startSshd();

/** A call's target whose agent listens on `listen`, once that agent is warm. */
async function warmTarget(listen: AgentListen) {
  const target = {
    destination: sshd.dest,
    ssh: { configFile: sshd.sshArgs[1] },
    env: { ...Deno.env.toObject(), ...sshd.env, SESSH_AGENT_LISTEN: listen },
    timeoutMs: 15_000,
  };
  let started = false;
  const deadline = Date.now() + 30_000;
  while (true) {
    const leased = await leaseBridge(sshd.controlDir, target);
    if (!("reason" in leased)) {
      leased.close();
      return target;
    }
    if (Date.now() > deadline) throw new Error(leased.reason);
    if (leased.agentDue && !started) {
      // The agent takes its transport from the environment it inherits.
      Deno.env.set("SESSH_AGENT_LISTEN", listen);
      startAgent(sshd.controlDir);
      started = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const targets = {
  unix: await warmTarget("unix"),
  tcp: await warmTarget("tcp"),
};
const times: Record<AgentListen, number[]> = { unix: [], tcp: [] };
// In turn, so that the load of a shared machine falls on both alike.
for (let i = 0; i < runs; i++) {
  for (const listen of ["unix", "tcp"] as const) {
    const start = performance.now();
    const leased = await leaseBridge(sshd.controlDir, targets[listen]);
    if ("reason" in leased) throw new Error(leased.reason);
    times[listen].push(performance.now() - start);
    leased.close();
    // The agent takes the bridge back (a reset round trip) before the
    // next lease can have it; without a pause the next call opens another.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const listen of ["unix", "tcp"] as const) {
  console.log(
    `${listen}: median ${percentile(times[listen], 50).toFixed(2)} ms, p90 ${
      percentile(times[listen], 90).toFixed(2)
    } ms (${runs} leases)`,
  );
}
