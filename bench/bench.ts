/**
 * `deno task bench [--runs N] [--json]`: how long agent commands take
 * against a throwaway sshd on 127.0.0.1, next to a bare `ssh DEST true`
 * and the tmux round trip of the original bash sessh, both over the same
 * ControlMaster. Prints median and p90 of each, and their ratios.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { SesshClient, type Session } from "../mod.ts";
import { runCommand } from "../lib/process.ts";
import { startSshd, type TestSshd } from "../tests/_sshd.ts";
import { sessh } from "../tests/_cli.ts";
import {
  checkMaster,
  type MasterTarget,
  muxSsh,
  type RemoteRunner,
  startTmuxBaseline,
  type TmuxBaseline,
} from "./_baselines.ts";
import {
  buildReport,
  formatReport,
  type Report,
  reportJson,
} from "./_report.ts";
import { positiveInteger } from "./_options.ts";

/** One thing to time. */
interface BenchCase {
  /** Stable key, used in ratio names and JSON. */
  key: string;
  /** What is timed, for the table. */
  label: string;
  /** Does it once; rejects when it fails. */
  once(): Promise<void>;
}

/** The command line's options. */
interface BenchOptions {
  /** Measured repetitions of each case. */
  runs: number;
  /** Print JSON instead of the table. */
  json?: boolean;
}

const SESSION = "bench";
const WARMUP_ROUNDS = 3;
const STEP_TIMEOUT_MS = 30_000;

function parseOptions(args: string[]): BenchOptions {
  const program = new Command("deno task bench")
    .description("time sessh against ssh and tmux on a loopback sshd")
    .option(
      "--runs <n>",
      "measured repetitions of each case",
      positiveInteger,
      20,
    )
    .option("--json", "print the figures as JSON")
    .exitOverride();
  program.parse(args, { from: "user" });
  return program.opts<BenchOptions>();
}

async function denoVersion(): Promise<string> {
  const result = await runCommand([Deno.execPath(), "--version"], {
    timeoutMs: STEP_TIMEOUT_MS,
  });
  return new TextDecoder().decode(result.stdout).split("\n")[0];
}

/** A case that spawns the real CLI, `deno run -A cli.ts ARGS -F CONFIG`. */
function cliCase(
  sshd: TestSshd,
  key: string,
  args: string[],
): BenchCase {
  return {
    key,
    label: `sessh ${args.join(" ").replace(sshd.dest, "DEST")}`,
    async once() {
      const result = await sessh(sshd, args, { timeoutMs: STEP_TIMEOUT_MS });
      if (result.code !== 0) {
        throw new Error(
          `sessh ${
            args.join(" ")
          } exited ${result.code}: ${result.stderr.trim()}`,
        );
      }
    },
  };
}

function defineCases(
  sshd: TestSshd,
  remote: RemoteRunner,
  tmux: TmuxBaseline,
  session: Session,
): BenchCase[] {
  return [
    cliCase(sshd, "run", ["run", SESSION, sshd.dest, "--", "true"]),
    cliCase(sshd, "logs", ["logs", SESSION, sshd.dest, "50"]),
    cliCase(sshd, "status", ["status", SESSION, sshd.dest]),
    {
      key: "ssh-true",
      label: "ssh -S CTL DEST true",
      once: () => remote("true"),
    },
    {
      key: "tmux-send-keys-and-wait",
      label: "ssh -S CTL DEST tmux send-keys+wait",
      once: () => tmux.roundTrip(),
    },
    {
      key: "library-run",
      label: 'library session.run("true")',
      async once() {
        const result = await session.run("true", {
          timeoutMs: STEP_TIMEOUT_MS,
        });
        if (result.exitCode !== 0) {
          throw new Error(`session.run("true") ended with ${result.exitCode}`);
        }
      },
    },
  ];
}

/**
 * Runs every case once per round, warm-up rounds first. Each round starts
 * one case further along, so no case always follows the same neighbour
 * (a CPU-heavy Deno start-up, say) on a small, noisy machine.
 */
async function measure(
  cases: BenchCase[],
  runs: number,
  signal: AbortSignal,
): Promise<Map<string, number[]>> {
  const samples = new Map(cases.map((c) => [c.key, [] as number[]]));
  for (let round = 0; round < WARMUP_ROUNDS + runs; round++) {
    if (round === WARMUP_ROUNDS) progress(`measuring ${runs} rounds`);
    for (let i = 0; i < cases.length; i++) {
      signal.throwIfAborted();
      const bench = cases[(round + i) % cases.length];
      const started = performance.now();
      await bench.once();
      const elapsed = performance.now() - started;
      if (round >= WARMUP_ROUNDS) samples.get(bench.key)!.push(elapsed);
    }
  }
  return samples;
}

async function connect(sshd: TestSshd): Promise<SesshClient> {
  return await SesshClient.connect({
    destination: sshd.dest,
    ssh: { configFile: sshd.configFile },
    env: { ...Deno.env.toObject(), ...sshd.env },
  });
}

async function bench(
  options: BenchOptions,
  signal: AbortSignal,
): Promise<Report> {
  const info = {
    deno: await denoVersion(),
    cores: navigator.hardwareConcurrency,
    runs: options.runs,
    warmupRounds: WARMUP_ROUNDS,
  };
  progress("starting a loopback sshd and a session");
  await using sshd = await startSshd();
  await using client = await connect(sshd);
  const session = client.session(SESSION);
  await session.open();
  const target: MasterTarget = {
    configFile: sshd.configFile,
    controlPath: client.master.controlPath,
    dest: sshd.dest,
  };
  await checkMaster(target, STEP_TIMEOUT_MS);
  const remote = muxSsh(target, STEP_TIMEOUT_MS);
  await using tmux = await startTmuxBaseline(remote);
  const cases = defineCases(sshd, remote, tmux, session);
  progress(`warming up: ${WARMUP_ROUNDS} rounds`);
  const samples = await measure(cases, options.runs, signal);
  return buildReport(
    info,
    cases.map(({ key, label }) => ({ key, label, samples: samples.get(key)! })),
  );
}

function progress(message: string): void {
  console.error(`bench: ${message}`);
}

/**
 * Parses the arguments, runs the benchmark and prints its report. Ctrl-C
 * stops it after the current step; everything it started is cleaned up
 * either way. Other failures are thrown.
 *
 * @param args Arguments after the script name.
 * @returns The exit code: 0, 2 for a usage error, 130 when interrupted.
 */
export async function main(args: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(args);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return error.exitCode === 0 ? 0 : 2;
  }
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    const report = await bench(options, abort.signal);
    console.log(options.json ? reportJson(report) : formatReport(report));
    return 0;
  } catch (error) {
    if (!abort.signal.aborted) throw error;
    progress("interrupted; cleaned up");
    return 130;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
