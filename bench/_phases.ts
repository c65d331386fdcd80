/**
 * The phases of one warm call: the command line runs with
 * `SESSH_TRACE_PHASES=1` and prints its marks (see `lib/phases.ts`); the
 * bench places them between the moment it spawned the process and the
 * moment the process ended, both on the epoch clock that the child's
 * `performance.timeOrigin` also uses. An empty `deno run` traced the same
 * way is the floor: its start and exit are the runtime's own.
 *
 * @module
 */
import { PHASE_LINE_PREFIX } from "../lib/phases.ts";
import { percentile } from "./_stats.ts";

/** One traced process: when it was spawned and ended, and its marks. */
export interface PhaseSample {
  /** Epoch milliseconds just before the spawn. */
  spawnedAt: number;
  /** Epoch milliseconds just after it ended. */
  endedAt: number;
  /** The child's time origin, epoch milliseconds. */
  origin: number;
  /** Marks, milliseconds since the child's origin. */
  marks: Record<string, number>;
}

/** A phase: the time between two marks ("spawn" and "end" are the bench's). */
export interface Phase {
  /** Stable key, used in JSON. */
  key: string;
  /** What happens in it. */
  label: string;
  /** The mark it starts at. */
  from: string;
  /** The mark it ends at. */
  to: string;
}

/** The phases of a warm `run -- true`, in order. */
export const RUN_PHASES: readonly Phase[] = [
  { key: "start", label: "runtime start", from: "spawn", to: "origin" },
  { key: "load", label: "static modules loaded", from: "origin", to: "main" },
  {
    key: "body",
    label: "command line's body loaded",
    from: "main",
    to: "loaded",
  },
  {
    key: "parse",
    label: "arguments parsed, handler loaded",
    from: "loaded",
    to: "handler",
  },
  { key: "settings", label: "settings read", from: "handler", to: "lease" },
  {
    key: "lease",
    label: "agent lease (socket, token, lend)",
    from: "lease",
    to: "lent",
  },
  { key: "client", label: "client set up", from: "lent", to: "connected" },
  {
    key: "request",
    label: "run request and its reply",
    from: "connected",
    to: "replied",
  },
  {
    key: "command",
    label: "command typed, ran, done",
    from: "replied",
    to: "done",
  },
  { key: "render", label: "output to text", from: "done", to: "rendered" },
  { key: "report", label: "outcome mapped", from: "rendered", to: "outcome" },
  { key: "write", label: "output written", from: "outcome", to: "printed" },
  {
    key: "release",
    label: "connection closed (agent started)",
    from: "printed",
    to: "written",
  },
  { key: "exit", label: "exit", from: "written", to: "end" },
];

/**
 * The phases of a cold `run -- true` (no master, helper, daemon or agent
 * yet), in order. The master's `ssh -O check` runs beside the helper's
 * start: its mark ("master") is on no path of its own.
 */
export const COLD_PHASES: readonly Phase[] = [
  ...RUN_PHASES.slice(0, 5),
  {
    key: "lease",
    label: "agent asked (none runs yet)",
    from: "lease",
    to: "lent",
  },
  {
    key: "prepare",
    label: "bridge's modules, control path, lock",
    from: "lent",
    to: "master-start",
  },
  {
    key: "login",
    label: "ssh master: connect, key exchange, login",
    from: "master-start",
    to: "listening",
  },
  {
    key: "helper",
    label: "bridge through the master, helper pushed and started",
    from: "listening",
    to: "helper",
  },
  {
    key: "daemon",
    label: "daemon forked, its hello answered",
    from: "helper",
    to: "hello",
  },
  {
    key: "session",
    label: "session opened, command typed",
    from: "connected",
    to: "replied",
  },
  ...RUN_PHASES.slice(RUN_PHASES.findIndex((p) => p.key === "command")),
];

/**
 * The phases of a warm `run -- true` that the local agent runs whole
 * (`lib/cli/thin_client.ts`): the client's own load, its way into the
 * agent up to the call made, and the call, written and run by the agent,
 * up to its exit code.
 */
export const THIN_PHASES: readonly Phase[] = [
  ...RUN_PHASES.slice(0, 2),
  {
    key: "thin-load",
    label: "thin client loaded",
    from: "main",
    to: "loaded",
  },
  {
    key: "agent",
    label: "way to the agent (files, socket, token, call made)",
    from: "loaded",
    to: "ready",
  },
  {
    // The call's write and the agent's key are in this phase, not the one
    // before: woken by the write, the agent often takes the client's core
    // until it waits on the host, which holds the client up by 1 to 2 ms
    // at the write or at the key in about half of the calls, and the call
    // is that much further along when it resumes. Counted up to the key,
    // the phase had medians of 3.9 ms from source and 2.0 bundled in a
    // bench of 20 rounds, and in two runs of 150 rounds 2.5 against 2.7
    // and 3.4 against 2.9 (issue 21).
    key: "call",
    label: "call written, run by the agent, output back",
    from: "ready",
    to: "thin",
  },
  { key: "thin-written", label: "exit code in", from: "thin", to: "written" },
  { key: "exit", label: "exit", from: "written", to: "end" },
];

/** The floor's phases: an empty script traced the same way. */
export const FLOOR_PHASES: readonly Phase[] = [
  { key: "start", label: "runtime start", from: "spawn", to: "origin" },
  { key: "load", label: "static modules loaded", from: "origin", to: "main" },
  { key: "exit", label: "exit", from: "main", to: "end" },
];

/** The script the floor runs: it marks its first line and ends. */
export const FLOOR_SCRIPT = `const line = ${
  JSON.stringify(PHASE_LINE_PREFIX)
} + JSON.stringify({ origin: performance.timeOrigin, marks: { main: performance.now() } }) + "\\n";
Deno.stderr.writeSync(new TextEncoder().encode(line));
`;

/**
 * Reads the marks line a traced process printed on stderr.
 *
 * @param stderr Everything it printed there.
 * @returns The origin and the marks.
 * @throws {Error} When there is no such line.
 *
 * @example
 * ```ts
 * import { parsePhaseLine } from "./_phases.ts";
 * const line = 'sessh-phases {"origin":1000,"marks":{"main":30}}\n';
 * console.log(parsePhaseLine(line).marks.main); // 30
 * ```
 */
export function parsePhaseLine(
  stderr: string,
): { origin: number; marks: Record<string, number> } {
  const line = stderr.split("\n").find((l) => l.startsWith(PHASE_LINE_PREFIX));
  if (!line) {
    throw new Error(`No phase marks in the output: ${stderr.trim()}`);
  }
  return JSON.parse(line.slice(PHASE_LINE_PREFIX.length));
}

/**
 * Spawns `argv` with tracing on and times it.
 *
 * @param argv The program and its arguments.
 * @param env More environment.
 * @returns The sample.
 * @throws {Error} When it exits other than 0 or prints no marks.
 */
export async function tracedRun(
  argv: string[],
  env: Record<string, string> = {},
): Promise<PhaseSample> {
  const command = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: { ...env, SESSH_TRACE_PHASES: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  });
  const spawnedAt = performance.timeOrigin + performance.now();
  const output = await command.output();
  const endedAt = performance.timeOrigin + performance.now();
  const stderr = new TextDecoder().decode(output.stderr);
  if (output.code !== 0) {
    throw new Error(`${argv.join(" ")} exited ${output.code}: ${stderr}`);
  }
  return { spawnedAt, endedAt, ...parsePhaseLine(stderr) };
}

/**
 * Milliseconds of each phase in one sample.
 *
 * @param sample The sample.
 * @param phases The phases to measure.
 * @returns Milliseconds by phase key; a phase whose marks are missing is left out.
 *
 * @example
 * ```ts
 * import { FLOOR_PHASES, phaseTimes } from "./_phases.ts";
 * const times = phaseTimes(
 *   { spawnedAt: 1000, endedAt: 1100, origin: 1020, marks: { main: 30 } },
 *   FLOOR_PHASES,
 * );
 * console.log(times); // { start: 20, load: 30, exit: 50 }
 * ```
 */
export function phaseTimes(
  sample: PhaseSample,
  phases: readonly Phase[],
): Record<string, number> {
  const at = (mark: string): number | undefined => {
    if (mark === "spawn") return sample.spawnedAt;
    if (mark === "end") return sample.endedAt;
    if (mark === "origin") return sample.origin;
    const relative = sample.marks[mark];
    return relative === undefined ? undefined : sample.origin + relative;
  };
  const times: Record<string, number> = {};
  for (const phase of phases) {
    const from = at(phase.from);
    const to = at(phase.to);
    if (from !== undefined && to !== undefined) times[phase.key] = to - from;
  }
  return times;
}

/**
 * The median of each phase over the samples.
 *
 * @param samples The samples; at least one.
 * @param phases The phases.
 * @returns Median milliseconds by phase key, and `total` (spawn to end).
 *
 * @example
 * ```ts
 * import { FLOOR_PHASES, medianPhases } from "./_phases.ts";
 * const sample = { spawnedAt: 0, endedAt: 100, origin: 20, marks: { main: 30 } };
 * console.log(medianPhases([sample], FLOOR_PHASES).total); // 100
 * ```
 */
export function medianPhases(
  samples: PhaseSample[],
  phases: readonly Phase[],
): Record<string, number> {
  const each = samples.map((s) => phaseTimes(s, phases));
  const medians: Record<string, number> = {};
  for (const phase of phases) {
    const values = each.map((t) => t[phase.key]).filter((v) => v !== undefined);
    if (values.length > 0) medians[phase.key] = percentile(values, 50);
  }
  medians.total = percentile(samples.map((s) => s.endedAt - s.spawnedAt), 50);
  return medians;
}
