/**
 * The cold first call beside a fresh `ssh DEST true`, through a relay that
 * adds a delay and records every chunk: the round trips of each (the
 * primary figure: a count, not a time) and their times, in one run.
 *
 * Usage: `deno task bench:cold [DELAY_MS] [RUNS]` (50 ms each way, 5 runs).
 *
 * @module
 */
import { startSshd } from "../tests/_sshd.ts";
import { roundTrips, startRelay } from "../tests/_relay.ts";
import { sessh } from "../tests/_cli.ts";
import { runCommand } from "../lib/process.ts";
import { freshSshArgv, wipe } from "./bench.ts";
import { percentile } from "./_stats.ts";

const delayMs = Number(Deno.args[0] ?? 50);
const runs = Number(Deno.args[1] ?? 5);

await using sshd = await startSshd();
await using relay = startRelay(sshd.port, { delayMs });
const via = ["-p", String(relay.port)];
const cases: Record<string, () => Promise<number>> = {
  "ssh -o ControlMaster=no DEST true": async () =>
    (await runCommand(freshSshArgv({ sshd, via }), { timeoutMs: 60_000 }))
      .code,
  "sessh run -- true, cold": async () =>
    (await sessh(sshd, ["run", "cold", sshd.dest, ...via, "--", "true"], {
      timeoutMs: 60_000,
    })).code,
};
const times = new Map(Object.keys(cases).map((k) => [k, [] as number[]]));
const trips = new Map(Object.keys(cases).map((k) => [k, [] as number[]]));
for (let run = 0; run < runs; run++) {
  for (const [name, once] of Object.entries(cases)) {
    await wipe(sshd);
    relay.trace.length = 0;
    const started = performance.now();
    const code = await once();
    if (code !== 0) throw new Error(`${name} exited ${code}`);
    times.get(name)!.push(performance.now() - started);
    trips.get(name)!.push(roundTrips(relay.trace, relay.delayMs));
  }
}
const median = (xs: number[]) => percentile(xs, 50);
const [ssh, cold] = Object.keys(cases);
for (const name of Object.keys(cases)) {
  console.log(
    `${name}: ${trips.get(name)!.join("/")} round trips, median ${
      median(times.get(name)!).toFixed(0)
    } ms`,
  );
}
console.log(
  `delay ${delayMs} ms each way, ${runs} runs: cold / ssh = ${
    (median(times.get(cold)!) / median(times.get(ssh)!)).toFixed(2)
  }×`,
);
