/**
 * The attach benchmark's results: the figures of each case, the goals they
 * are held against, and their rendering as a text table or JSON.
 *
 * @module
 */
import { summarize, type Summary } from "./_stats.ts";

export type { Summary };

/** The machine and the run's shape. */
export interface AttachRunInfo {
  /** First line of `deno --version`. */
  deno: string;
  /** `ssh -V`. */
  ssh: string;
  /** `tmux -V`. */
  tmux: string;
  /** Logical CPU cores. */
  cores: number;
  /** Delay the relay adds to each direction, in milliseconds. */
  delayMs: number;
  /** Measured repetitions of each reconnect and throughput case. */
  runs: number;
  /** Measured keystrokes per client. */
  keystrokes: number;
  /** Megabytes of output per throughput run. */
  megabytes: number;
  /** Unmeasured keystrokes per client before the measured ones. */
  echoWarmup: number;
  /** Interval between screen captures while waiting for a reconnect, in ms. */
  reconnectPollMs: number;
  /** Interval between screen captures while waiting for output, in ms. */
  throughputPollMs: number;
}

/** The samples of one case, as measured. */
export interface Measured {
  /** Stable key, used by goals and JSON. */
  key: string;
  /** What is timed, for the table. */
  label: string;
  /** Every measured wall-clock time, in milliseconds, in order. */
  samples: number[];
  /** Megabytes each sample moved, for cases that measure throughput. */
  megabytes?: number;
}

/** One measured case, summarized. */
export interface CaseResult extends Measured, Summary {
  /** Megabytes per second at the median time, for throughput cases. */
  mbPerSecond?: number;
}

/** A figure held against a goal. */
export interface GoalResult {
  /** What the figure is, for the table and JSON. */
  name: string;
  /** The figure. */
  value: number;
  /** Its unit, `ms` or `x` (a ratio). */
  unit: "ms" | "x";
  /** The goal's bound. */
  limit: number;
  /** Whether the figure must stay at or below the bound (else at or above). */
  atMost: boolean;
  /** Whether the goal is met. */
  met: boolean;
}

/** Everything one run of the attach benchmark found. */
export interface AttachReport extends AttachRunInfo {
  /** The cases, in the order they were measured. */
  cases: CaseResult[];
  /** The goals whose cases were all measured. */
  goals: GoalResult[];
}

interface GoalDefinition {
  name: string;
  unit: "ms" | "x";
  limit: number;
  atMost: boolean;
  keys: string[];
  value(medians: number[]): number;
}

/** The goals the team reports; each reads the medians of its `keys`. */
const GOALS: readonly GoalDefinition[] = [
  {
    name: "reconnect after a partition, median",
    unit: "ms",
    limit: 1000,
    atMost: true,
    keys: ["reconnect-partition"],
    value: ([ms]) => ms,
  },
  {
    name: "reconnect after a reset, median",
    unit: "ms",
    limit: 1000,
    atMost: true,
    keys: ["reconnect-reset"],
    value: ([ms]) => ms,
  },
  {
    name: "keystroke echo, sessh/ssh",
    unit: "x",
    limit: 1.1,
    atMost: true,
    keys: ["echo-sessh", "echo-ssh"],
    value: ([sessh, ssh]) => sessh / ssh,
  },
  {
    name: "throughput (MB/s), sessh/ssh",
    unit: "x",
    limit: 0.8,
    atMost: false,
    keys: ["throughput-sessh", "throughput-ssh"],
    value: ([sessh, ssh]) => ssh / sessh,
  },
];

/**
 * Summarizes the samples of each case and checks the goals whose cases
 * are all there.
 *
 * @param info The machine and the run's shape.
 * @param cases The samples of each case.
 * @returns The report.
 *
 * @example
 * ```ts
 * import { buildAttachReport } from "./_attach_report.ts";
 * const info = {
 *   deno: "deno 2", ssh: "OpenSSH_9", tmux: "tmux 3", cores: 2, delayMs: 25,
 *   runs: 1, keystrokes: 1, megabytes: 50, echoWarmup: 0,
 *   reconnectPollMs: 10, throughputPollMs: 25,
 * };
 * const report = buildAttachReport(info, [
 *   { key: "echo-sessh", label: "sessh", samples: [55] },
 *   { key: "echo-ssh", label: "ssh", samples: [50] },
 * ]);
 * console.log(report.goals[0].name, report.goals[0].met); // "keystroke echo, sessh/ssh" true
 * ```
 */
export function buildAttachReport(
  info: AttachRunInfo,
  cases: Measured[],
): AttachReport {
  const results = cases.map((c): CaseResult => {
    const summary = summarize(c.samples);
    return c.megabytes === undefined ? { ...c, ...summary } : {
      ...c,
      ...summary,
      mbPerSecond: c.megabytes / (summary.median / 1000),
    };
  });
  const median = new Map(results.map((c) => [c.key, c.median]));
  const goals = GOALS.flatMap((goal): GoalResult[] => {
    const medians = goal.keys.map((key) => median.get(key));
    if (medians.some((m) => m === undefined)) return [];
    const value = goal.value(medians as number[]);
    const met = goal.atMost ? value <= goal.limit : value >= goal.limit;
    const { name, unit, limit, atMost } = goal;
    return [{ name, value, unit, limit, atMost, met }];
  });
  return { ...info, cases: results, goals };
}

/**
 * Renders the report as the text the team pastes: machine and method, a
 * table of median and p90 times (and MB/s), then the goals.
 *
 * @param report The report.
 * @returns The text, without a final newline.
 */
export function formatAttachReport(report: AttachReport): string {
  const width = Math.max(...report.cases.map((c) => c.label.length), 36);
  const row = (label: string, ...cells: string[]) =>
    [label.padEnd(width), ...cells.map((cell) => cell.padStart(10))].join("  ")
      .trimEnd();
  const goalValue = (goal: GoalResult) =>
    goal.unit === "ms" ? `${ms(goal.value)} ms` : `${goal.value.toFixed(2)}x`;
  const goalLimit = (goal: GoalResult) =>
    `${goal.atMost ? "<=" : ">="} ${
      goal.unit === "ms" ? `${goal.limit} ms` : `${goal.limit}x`
    }`;
  return [
    `${report.deno}; ${report.ssh}; ${report.tmux}`,
    `cores: ${report.cores}`,
    `relay: ${report.delayMs} ms added each way; ${report.runs} runs of each reconnect and throughput case, ` +
    `${report.keystrokes} keystrokes per client, ${report.megabytes} MB per throughput run`,
    `timing: reconnects polled the screen every ${report.reconnectPollMs} ms, output every ` +
    `${report.throughputPollMs} ms (plus one capture-pane, a few ms); keystrokes are ` +
    "timed by a tmux control-mode client, without polling",
    `warm-up, unmeasured: ${report.echoWarmup} keystrokes and a flood of a tenth ` +
    "of the size per client, one reconnect of each kind",
    "",
    row("case", "median ms", "p90 ms", "MB/s"),
    ...report.cases.map((c) =>
      row(
        c.label,
        ms(c.median),
        c.samples.length > 1 ? ms(c.p90) : "-",
        c.mbPerSecond === undefined ? "" : c.mbPerSecond.toFixed(1),
      )
    ),
    "",
    row("goal", "value", "goal", ""),
    ...report.goals.map((goal) =>
      row(
        goal.name,
        goalValue(goal),
        goalLimit(goal),
        goal.met ? "met" : "MISSED",
      )
    ),
  ].join("\n");
}

/**
 * Renders the report as one JSON object: machine and run shape, then
 * `cases` by key (label, `median_ms`, `p90_ms`, `samples_ms`, and
 * `mb_per_s` for throughput) and `goals`.
 *
 * @param report The report.
 * @returns The JSON text.
 */
export function attachReportJson(report: AttachReport): string {
  const { cases, goals, ...info } = report;
  return JSON.stringify(
    {
      ...Object.fromEntries(
        Object.entries(info).map(([key, value]) => [snakeCase(key), value]),
      ),
      cases: Object.fromEntries(cases.map((c) => [c.key, {
        label: c.label,
        median_ms: round(c.median, 2),
        p90_ms: round(c.p90, 2),
        samples_ms: c.samples.map((s) => round(s, 2)),
        ...(c.mbPerSecond === undefined
          ? {}
          : { mb_per_s: round(c.mbPerSecond, 2) }),
      }])),
      goals: goals.map((goal) => ({
        name: goal.name,
        value: round(goal.value, 3),
        unit: goal.unit,
        limit: goal.limit,
        at_most: goal.atMost,
        met: goal.met,
      })),
    },
    null,
    2,
  ) + "\n";
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (upper) => `_${upper.toLowerCase()}`);
}

function ms(value: number): string {
  return value.toFixed(1);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
