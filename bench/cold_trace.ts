/**
 * The cold first call beside a fresh `ssh DEST true`, through a relay that
 * adds a delay and records every chunk: the round trips of each (the
 * primary figure: a count, not a time) and their times, in one run; then
 * where the cold call's time goes, phase by phase (medians, see
 * `COLD_PHASES`); last, the helper's start on its own, without ssh
 * (`_remote_start.ts`), beside the interpreter's bare start.
 *
 * Usage: `deno task bench:cold [DELAY_MS] [RUNS]` (50 ms each way, 5 runs).
 *
 * @module
 */
import { startSshd } from "../tests/_sshd.ts";
import { roundTrips, startRelay } from "../tests/_relay.ts";
import {
  COLD_PHASES,
  medianPhases,
  type PhaseSample,
  tracedRun,
} from "./_phases.ts";
import { runCommand } from "../lib/process.ts";
import { freshSshArgv, wipe } from "./bench.ts";
import { percentile } from "./_stats.ts";
import { pythonStart, remoteStart } from "./_remote_start.ts";

const delayMs = Number(Deno.args[0] ?? 50);
const runs = Number(Deno.args[1] ?? 5);

await using sshd = await startSshd();
await using relay = startRelay(sshd.port, { delayMs });
const via = ["-p", String(relay.port)];
const cli = new URL("../cli.ts", import.meta.url).pathname;
const samples: PhaseSample[] = [];
const cases: Record<string, () => Promise<number>> = {
  "ssh -o ControlMaster=no DEST true": async () =>
    (await runCommand(freshSshArgv({ sshd, via }), { timeoutMs: 60_000 }))
      .code,
  // tracedRun throws unless it exits 0.
  "sessh run -- true, cold": async () => {
    samples.push(
      await tracedRun([
        Deno.execPath(),
        ...["run", "-A", "--quiet", cli, "run", "cold", sshd.dest, ...via],
        ...["-F", sshd.configFile, "--", "true"],
      ], sshd.env),
    );
    return 0;
  },
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
const phases = medianPhases(samples, COLD_PHASES);
console.log("the cold call's phases (medians, ms):");
for (const phase of [...COLD_PHASES, { key: "total", label: "total" }]) {
  const ms = phases[phase.key];
  if (ms !== undefined) {
    console.log(`  ${ms.toFixed(0).padStart(5)}  ${phase.label}`);
  }
}
const starts: { python: number[]; greeted: number[]; replied: number[] } = {
  python: [],
  greeted: [],
  replied: [],
};
for (let run = 0; run < runs; run++) {
  starts.python.push(await pythonStart());
  const { greeted, replied } = await remoteStart();
  starts.greeted.push(greeted);
  starts.replied.push(replied);
}
console.log("the helper's start on a new host, without ssh (medians, ms):");
for (
  const [label, values] of [
    ["python3 -S -c pass", starts.python],
    ["the bridge's greeting (daemon forked)", starts.greeted],
    ["the hello's reply (daemon serving)", starts.replied],
  ] as const
) {
  console.log(`  ${median(values).toFixed(0).padStart(5)}  ${label}`);
}
