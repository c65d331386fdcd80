/**
 * The fan-out cases of `deno task bench`: `run --hosts` on 50 warm hosts
 * beside `pdsh -R ssh` and `clush` running the same `true` on the same 50
 * ssh config aliases (`tests/_fleet.ts`: each alias its own address, port,
 * master and daemon), and beside one warm host's `run`.
 *
 * pdsh and clush open a fresh ssh connection per host per call, as they
 * always do; sessh goes through each host's warm master and the agent's
 * bridge. That is the difference the goals measure.
 *
 * @module
 */
import { startFleet, type TestFleet } from "../tests/_fleet.ts";
import { sessh } from "../tests/_cli.ts";
import { runCommand } from "../lib/process.ts";

/** One case, as `bench.ts` times it. */
export interface FleetCase {
  /** Stable key, used in JSON. */
  key: string;
  /** What is timed, for the table. */
  label: string;
  /** Does it once; rejects when it fails. */
  once(): Promise<void>;
  /** Key of the case it is compared with. */
  anchor?: string;
  /** Bound on its median over the anchor's. */
  goal?: { max: number; text: string };
}

/** The fleet's hosts by default: every case runs on all of them. */
export const FLEET_HOSTS = 50;

const STEP_TIMEOUT_MS = 60_000;

/** The running fleet and its cases; dispose it to stop the fleet. */
export interface FleetBench extends AsyncDisposable {
  /** The cases, to be measured with the others. */
  cases: FleetCase[];
}

async function mustRun(
  label: string,
  argv: string[],
  env?: Record<string, string>,
): Promise<void> {
  const result = await runCommand(argv, { timeoutMs: STEP_TIMEOUT_MS, env });
  if (result.code !== 0) {
    throw new Error(
      `${label} exited ${result.code}: ${
        new TextDecoder().decode(result.stderr).trim().slice(-500)
      }`,
    );
  }
}

/**
 * Starts the hosts, opens the session on each (so every master, daemon and
 * agent bridge is warm), and returns the cases.
 *
 * @param hosts How many hosts (`fan01` …).
 * @param progress Where to say what it does.
 * @returns The cases and the fleet to dispose.
 */
export async function startFleetBench(
  hosts: number,
  progress: (message: string) => void,
): Promise<FleetBench> {
  progress(`starting a fleet of ${hosts} hosts`);
  const fleet: TestFleet = await startFleet(hosts);
  try {
    const { sshd } = fleet;
    const all = `fan[01-${String(hosts).padStart(2, "0")}]`;
    const cli = async (args: string[]) => {
      const r = await sessh(sshd, args, {
        timeoutMs: STEP_TIMEOUT_MS * 5,
        env: { SESSH_CONNECT_TIMEOUT: "30" },
      });
      if (r.code !== 0) {
        throw new Error(
          `sessh ${args.join(" ")} exited ${r.code}: ${r.stderr.slice(-500)}`,
        );
      }
    };
    progress(`opening a session on each of the ${hosts} hosts`);
    await cli(["open", "bench", "--hosts", all, "--parallel", "8"]);
    const fanRun = ["run", "bench", "--hosts", all, "--", "true"];
    const config = sshd.configFile;
    const cases: FleetCase[] = [
      {
        key: "fleet-pdsh",
        label: `pdsh -R ssh -w ${all} true`,
        once: () =>
          mustRun("pdsh", ["pdsh", "-R", "ssh", "-w", all, "true"], {
            PDSH_SSH_ARGS: `-F ${config} %h`,
          }),
      },
      {
        key: "fleet-clush",
        label: `clush -w ${all} true`,
        once: () =>
          mustRun("clush", [
            "clush",
            "-w",
            all,
            "-o",
            `-F ${config}`,
            "true",
          ]),
      },
      {
        key: "fleet-one",
        label: "sessh run bench fan01 -- true (one warm host)",
        once: () => cli(["run", "bench", "fan01", "--", "true"]),
      },
      {
        key: "fleet-run-vs-pdsh",
        label: `sessh run bench --hosts ${all} -- true`,
        once: () => cli(fanRun),
        anchor: "fleet-pdsh",
        goal: { max: 0.5, text: "≤ 0.5×" },
      },
      {
        key: "fleet-run-vs-clush",
        label: `sessh run bench --hosts ${all} -- true`,
        once: () => cli(fanRun),
        anchor: "fleet-clush",
        goal: { max: 0.5, text: "≤ 0.5×" },
      },
      {
        key: "fleet-run-vs-one",
        label: `sessh run bench --hosts ${all} -- true`,
        once: () => cli(fanRun),
        anchor: "fleet-one",
        goal: { max: 3, text: "≤ 3×" },
      },
    ];
    return {
      cases,
      async [Symbol.asyncDispose]() {
        await fleet[Symbol.asyncDispose]();
      },
    };
  } catch (error) {
    await fleet[Symbol.asyncDispose]();
    throw error;
  }
}
