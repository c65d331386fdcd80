/**
 * `deno task bench:bulk`: the bulk paths alone, side by side with ssh's own
 * tools in one run, and where a copy's time goes. `cp` of a file both ways
 * beside `scp`, the library's `upload` and `download` beside `scp` too,
 * `cp --via helper` beside `sftp`, `logs --follow --raw` of a
 * full buffer beside `ssh DEST cat` of as many bytes; each case interleaved
 * with its anchor, `--runs` times, medians compared. With `--base BUNDLE`
 * (a `cli.js` built by `deno bundle` from another revision), that command
 * line runs beside this one, so a change is measured against what it
 * replaces on the same loaded machine. `--mb 0` leaves the copies out,
 * `--helper 0` the copies through the daemon, `--raw 0` the raw streams
 * over an exec channel of the master (`ssh … cat`, fed by the shell or
 * through a Deno pipe: `_raw_channel.ts`), anchors of a copy without sftp.
 *
 * Each `cp` runs with `SESSH_TRACE_PHASES=1`: its time splits into the
 * runtime's start, reaching the daemon (modules, lease), the plan (the
 * daemon's stat and checks), the transfer (sftp's or the daemon's) and the
 * exit; an sftp copy's transfer also splits into sftp's run (its spawn
 * included) and the commit after it (the sync and rename down, the
 * daemon's rename up). A copy the local agent runs for the command line
 * (a thin call: the default with an agent up) marks only its start and
 * its end here, the rest being the agent's; a `--base` before that change
 * shows the full split.
 *
 * Every byte of `cp --via helper` and of the follow passes through the
 * command line's local agent: its CPU time per megabyte is read from /proc
 * before and after each such call.
 *
 * @module
 */
import { SesshClient } from "../mod.ts";
import { runCommand } from "../lib/process.ts";
import { startSshd, type TestSshd } from "../tests/_sshd.ts";
import { buildBundle, bundledArgv } from "../tests/_bundle.ts";
import {
  medianPhases,
  type Phase,
  type PhaseSample,
  tracedRun,
} from "./_phases.ts";
import { positiveInteger } from "./_options.ts";
import { percentile } from "./_stats.ts";
import { drainBytes } from "./_drain.ts";
import { agentCpuMs } from "./_agent_cpu.ts";
import { rawDown, rawUp } from "./_raw_channel.ts";

/** Where a `cp`'s time goes, between the marks `lib/phases.ts` records. */
const CP_PHASES: readonly Phase[] = [
  { key: "start", label: "runtime start", from: "spawn", to: "origin" },
  {
    key: "reach",
    label: "modules, lease, client",
    from: "origin",
    to: "connected",
  },
  {
    key: "plan",
    label: "the plan (the daemon's stat and checks)",
    from: "connected",
    to: "planned",
  },
  {
    key: "transfer",
    label: "the transfer (sftp's or the daemon's)",
    from: "planned",
    to: "outcome",
  },
  { key: "exit", label: "report and exit", from: "outcome", to: "end" },
  // Within the transfer, for sftp's path alone (marks of lib/session/sftp_copy.ts).
  {
    key: "sftp",
    label: "sftp's run: its spawn, and down the flush under way at its end",
    from: "planned",
    to: "sftp",
  },
  { key: "commit", label: "the part's commit", from: "sftp", to: "committed" },
];

const STEP_TIMEOUT_MS = 600_000;

interface Options {
  runs: number;
  mb: number;
  followMb: number;
  base: string | null;
  helper: boolean;
  raw: boolean;
}

function parseArgs(args: string[]): Options {
  const options: Options = {
    runs: 5,
    mb: 100,
    followMb: 20,
    base: null,
    helper: true,
    raw: true,
  };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--runs") options.runs = positiveInteger(value);
    else if (flag === "--mb") {
      // 0: no copies, the follow alone.
      options.mb = value === "0" ? 0 : positiveInteger(value);
    } else if (flag === "--follow-mb") {
      options.followMb = positiveInteger(value);
    } else if (flag === "--base") options.base = value;
    else if (flag === "--helper" && /^[01]$/.test(value)) {
      // 0: the sftp copies alone, for more rounds of them in the time.
      options.helper = value === "1";
    } else if (flag === "--raw" && /^[01]$/.test(value)) {
      options.raw = value === "1";
    } else {
      throw new Error(
        `Unknown option ${flag}; use --runs N, --mb N, --follow-mb N, --base BUNDLE, --helper 0|1, --raw 0|1`,
      );
    }
  }
  return options;
}

async function check(argv: string[], env: Record<string, string>) {
  const result = await runCommand(argv, { timeoutMs: STEP_TIMEOUT_MS, env });
  if (result.code !== 0) {
    throw new Error(
      `${argv.join(" ")} exited ${result.code}: ${
        new TextDecoder().decode(result.stderr)
      }`,
    );
  }
}

/** Times of each case, and the traced samples of the command lines' copies. */
class Tally {
  times: Record<string, number[]> = {};
  traces: Record<string, PhaseSample[]> = {};
  /** The agent's CPU milliseconds per MB relayed, by case. */
  agentCpu: Record<string, number[]> = {};

  /** Runs `work`, and notes the CPU per MB of the agent serving `env`. */
  async relayed(
    label: string,
    env: Record<string, string>,
    mb: number,
    work: () => Promise<void>,
  ): Promise<void> {
    const dir = env.SESSH_CONTROL_DIR;
    const before = dir ? agentCpuMs(dir) : null;
    await work();
    const after = dir ? agentCpuMs(dir) : null;
    if (before === null || after === null) return;
    (this.agentCpu[label] ??= []).push((after - before) / mb);
  }

  async time(label: string, work: () => Promise<void>): Promise<void> {
    const started = performance.now();
    await work();
    (this.times[label] ??= []).push(performance.now() - started);
  }

  async traced(
    label: string,
    argv: string[],
    env: Record<string, string>,
  ): Promise<void> {
    const sample = await tracedRun(argv, env);
    (this.times[label] ??= []).push(sample.endedAt - sample.spawnedAt);
    (this.traces[label] ??= []).push(sample);
  }

  median(label: string): number {
    return percentile(this.times[label], 50);
  }

  /** The median over rounds of `anchor`'s time over `label`'s in that round. */
  pairedRatio(anchor: string, label: string): number {
    const theirs = this.times[anchor];
    const ratios = this.times[label].slice(0, theirs.length)
      .map((mine, i) => theirs[i] / mine);
    return percentile(ratios, 50);
  }
}

/** A command line under test, with the environment its calls run in. */
interface Line {
  name: string;
  entry: string;
  env: Record<string, string>;
}

/**
 * Gives each command line a control directory, so a master and an agent, of
 * its own: an agent serves only the bundle that started it, and a call of
 * the other finds it outdated and goes without it, so that command lines
 * taking turns on one directory would each measure no agent at all. Two
 * small copies through the daemon start the master and the agent, then
 * lease from it.
 */
async function ownAgents(sshd: TestSshd, lines: Line[]): Promise<void> {
  const small = `${sshd.dir}/warm.txt`;
  await Deno.writeTextFile(small, "warm\n");
  for (const line of lines) {
    const dir = `${sshd.dir}/c-${line.name}`;
    await Deno.mkdir(dir, { mode: 0o700 });
    line.env = { ...sshd.env, SESSH_CONTROL_DIR: dir };
    for (let i = 0; i < 2; i++) {
      await check(
        bundledArgv(line.entry, sshd.configFile, [], [
          "cp",
          "--via",
          "helper",
          small,
          `${sshd.dest}:${sshd.home}/warm.txt`,
        ]),
        line.env,
      );
    }
  }
}

async function main(options: Options): Promise<void> {
  const progress = (line: string) => console.error(`… ${line}`);
  progress("starting a loopback sshd, a session and the bundle");
  await using sshd = await startSshd();
  await using client = await SesshClient.connect({
    destination: sshd.dest,
    ssh: { configFile: sshd.configFile },
    env: { ...Deno.env.toObject(), ...sshd.env },
  });
  const bundle = await buildBundle(`${sshd.dir}/dist`);
  const lines: Line[] = [{ name: "new", entry: bundle, env: {} }];
  if (options.base) lines.push({ name: "base", entry: options.base, env: {} });
  await ownAgents(sshd, lines);
  const tally = new Tally();
  if (options.mb > 0) {
    await copies(sshd, client, lines, options, tally, progress);
  }
  await follows(sshd, client, lines, options, tally, progress);
  report(tally, lines.map((line) => line.name));
}

async function copies(
  sshd: TestSshd,
  client: SesshClient,
  lines: Line[],
  options: Options,
  tally: Tally,
  progress: (line: string) => void,
): Promise<void> {
  const env = sshd.env;
  const controlPath = client.master!.controlPath;
  const mux = [
    "-F",
    sshd.configFile,
    "-o",
    `ControlPath=${controlPath}`,
    "-o",
    "ControlMaster=no",
  ];
  const payload = `${sshd.dir}/bulk.bin`;
  await check([
    "sh",
    "-c",
    `head -c ${options.mb << 20} /dev/urandom > '${payload}'`,
  ], {});
  const remote = (name: string) => `${sshd.dest}:${sshd.home}/${name}`;
  const local = (name: string) => `${sshd.dir}/${name}`;
  await check(["scp", "-q", ...mux, payload, remote("src.bin")], env);
  // One batch line on sftp's stdin, the path a word of its own.
  const sftp = (line: string) => [
    "sh",
    "-c",
    'line=$1; shift; printf "%s\\n" "$line" | "$@"',
    "sh",
    line,
    "sftp",
    "-q",
    "-b",
    "-",
    ...mux,
    sshd.dest,
  ];
  for (let i = 0; i < options.runs; i++) {
    progress(`copies, round ${i + 1} of ${options.runs}`);
    await tally.time(
      "scp up",
      () => check(["scp", "-q", ...mux, payload, remote("scp.bin")], env),
    );
    await tally.time(
      "scp down",
      () =>
        check(["scp", "-q", ...mux, remote("src.bin"), local("scp.bin")], env),
    );
    await tally.time(
      "sftp up",
      () => check(sftp(`put "${payload}" "${sshd.home}/sftp.bin"`), env),
    );
    await tally.time(
      "sftp down",
      () =>
        check(sftp(`get "${sshd.home}/src.bin" "${local("sftp.bin")}"`), env),
    );
    // The library's own copy (this revision's; a base bundle has none):
    // a script's `upload` and `download`, which take sftp at this size.
    await tally.time("library up", async () => {
      await client.upload(payload, `${sshd.home}/library.bin`);
    });
    await tally.time("library down", async () => {
      await client.download(`${sshd.home}/src.bin`, local("library.bin"));
    });
    if (options.raw) {
      const channel = {
        ssh: ["ssh", "-F", sshd.configFile, "-S", controlPath, sshd.dest],
        env,
      };
      for (const via of ["shell", "pipe"] as const) {
        await tally.time(
          `raw ${via} up`,
          () => rawUp(channel, payload, `${sshd.home}/raw.bin`, via),
        );
        await tally.time(
          `raw ${via} down`,
          () => rawDown(channel, `${sshd.home}/src.bin`, local("raw.bin"), via),
        );
      }
    }
    // Taking turns first: a fixed order measured one command line 20%
    // slower than the other with the same copy code.
    const turn = i % 2 === 0 ? lines : [...lines].reverse();
    for (const { name, entry, env } of turn) {
      const cli = (args: string[]) =>
        bundledArgv(entry, sshd.configFile, [], args);
      await tally.traced(
        `${name} cp up`,
        cli(["cp", payload, remote("cp.bin")]),
        env,
      );
      await tally.traced(
        `${name} cp down`,
        cli(["cp", remote("src.bin"), local("cp.bin")]),
        env,
      );
      if (!options.helper) continue;
      await tally.relayed(
        `${name} helper up`,
        env,
        options.mb,
        () =>
          tally.traced(
            `${name} helper up`,
            cli(["cp", "--via", "helper", payload, remote("helper.bin")]),
            env,
          ),
      );
      await tally.relayed(
        `${name} helper down`,
        env,
        options.mb,
        () =>
          tally.traced(
            `${name} helper down`,
            cli([
              "cp",
              "--via",
              "helper",
              remote("src.bin"),
              local("helper.bin"),
            ]),
            env,
          ),
      );
    }
  }
}

async function follows(
  sshd: TestSshd,
  client: SesshClient,
  lines: Line[],
  options: Options,
  tally: Tally,
  progress: (line: string) => void,
): Promise<void> {
  progress(`follow: filling a session's buffer with ${options.followMb} MB`);
  const session = client.session("bulk");
  await session.open({ shell: "bash", bufferSize: 256 << 20 });
  const filled = await session.run(
    `head -c ${options.followMb << 20} /dev/zero | tr '\\0' x | fold -w 100`,
    { timeoutMs: STEP_TIMEOUT_MS, wait: true },
  );
  const start = Math.max(
    filled.outputStart,
    (await session.status()).bufferStart,
  );
  const bytes = filled.cursor - start;
  const file = `${sshd.dir}/follow.bin`;
  await check(["sh", "-c", `head -c ${bytes} /dev/zero > '${file}'`], {});
  const cat = [
    "ssh",
    "-F",
    sshd.configFile,
    "-S",
    client.master!.controlPath,
    sshd.dest,
    "cat",
    file,
  ];
  for (let i = 0; i < options.runs; i++) {
    progress(`follow, round ${i + 1} of ${options.runs}`);
    await tally.time("ssh cat", () => drainBytes(cat, sshd.env, bytes));
    for (const { name, entry, env } of lines) {
      const argv = bundledArgv(entry, sshd.configFile, [], [
        "logs",
        "bulk",
        sshd.dest,
        "--follow",
        "--raw",
        "--since",
        String(start),
      ]);
      await tally.relayed(
        `${name} follow`,
        env,
        bytes / (1 << 20),
        () => tally.time(`${name} follow`, () => drainBytes(argv, env, bytes)),
      );
    }
  }
}

function report(tally: Tally, names: string[]): void {
  const ms = (value: number) => `${Math.round(value)} ms`;
  // "paired": the median of each round's own ratio, the case beside the
  // anchor it ran next to, so that a round the machine was busy for weighs
  // on both sides of its ratio (the machine is shared).
  const rows: string[][] = [[
    "case",
    "median",
    "anchor",
    "ratio",
    "paired",
    "goal",
  ]];
  const cases: [string, string, string][] = [
    ["cp up", "scp up", "≥ 0.9×"],
    ["cp down", "scp down", "≥ 0.9×"],
    ["helper up", "sftp up", "≥ 0.5×"],
    ["helper down", "sftp down", "≥ 0.5×"],
    ["follow", "ssh cat", "≥ 0.8×"],
  ];
  // The raw streams and the library's copies, once a round (no command
  // line runs them), and the cases of each command line.
  const keys: [string, string, string][] = [
    ...["up", "down"].flatMap((way) =>
      ["shell", "pipe"].map((via): [string, string, string] => [
        `raw ${via} ${way}`,
        `scp ${way}`,
        "anchor",
      ])
    ),
    ["library up", "scp up", "—"],
    ["library down", "scp down", "—"],
    ...cases.flatMap(([label, anchor, goal]) =>
      names.map((name): [string, string, string] => [
        `${name} ${label}`,
        anchor,
        goal,
      ])
    ),
  ];
  for (const [key, anchor, goal] of keys) {
    if (!tally.times[anchor] || !tally.times[key]) continue;
    const mine = tally.median(key);
    const theirs = tally.median(anchor);
    rows.push([
      key,
      ms(mine),
      `${anchor} ${ms(theirs)}`,
      `${(theirs / mine).toFixed(2)}×`,
      `${tally.pairedRatio(anchor, key).toFixed(2)}×`,
      goal,
    ]);
  }
  const widths = rows[0].map((_, i) =>
    Math.max(...rows.map((r) => r[i].length))
  );
  for (const row of rows) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i])).join("  "));
  }
  console.log("\nthe local agent's CPU per MB relayed (medians):");
  for (const [label, perMb] of Object.entries(tally.agentCpu)) {
    console.log(`${label.padEnd(18)} ${percentile(perMb, 50).toFixed(2)} ms`);
  }
  console.log("\nwhere a copy's time goes (medians):");
  for (const [label, samples] of Object.entries(tally.traces)) {
    const phases = medianPhases(samples, CP_PHASES);
    console.log(
      `${label.padEnd(18)} ` +
        CP_PHASES.filter((p) => phases[p.key] !== undefined)
          .map((p) => `${p.key} ${ms(phases[p.key])}`).join(", ") +
        `; total ${ms(phases.total)}`,
    );
  }
}

if (import.meta.main) await main(parseArgs(Deno.args));
