/**
 * The benchmark's results: each case beside its anchor (what the same work
 * costs without sessh), the ratio of their medians, the goal and whether
 * it is met; then figures that are no timings (memory, wake-ups). Rendered
 * as a text table or JSON.
 *
 * @module
 */
import { summarize, type Summary } from "./_stats.ts";

/** A bound on a ratio or a figure. */
export interface Goal {
  /** The largest value that meets it. */
  max?: number;
  /** The smallest value that meets it (a throughput ratio). */
  min?: number;
  /** How the team states it, e.g. `≤ 3.5×`. */
  text: string;
}

/** The machine and the run's shape. */
export interface RunInfo {
  /** First line of `deno --version`. */
  deno: string;
  /** Logical CPU cores. */
  cores: number;
  /** Measured repetitions of each case. */
  runs: number;
  /** Unmeasured rounds before them. */
  warmupRounds: number;
  /** Delay the relay added each way, in milliseconds (0: straight to sshd). */
  delayMs: number;
}

/** One case as measured. */
export interface CaseSamples {
  /** Stable key, used in JSON. */
  key: string;
  /** What was timed, for the table. */
  label: string;
  /** Every measured wall-clock time, in milliseconds, in order. */
  samples: number[];
  /** Key of the case it is compared with. */
  anchor?: string;
  /** Bound on median / anchor median. */
  goal?: Goal;
}

/** One case with its figures. */
export interface CaseResult extends CaseSamples, Summary {
  /** Median over the anchor's median, when it has an anchor. */
  ratio: number | null;
  /** Whether the ratio meets the goal, when it has one. */
  met: boolean | null;
}

/** A figure that is no timing (memory, wake-ups), with its goal. */
export interface Figure {
  /** Stable key, used in JSON. */
  key: string;
  /** What it is, for the table. */
  label: string;
  /** The value. */
  value: number;
  /** Its unit, e.g. `MB`. */
  unit: string;
  /** Bound on the value. */
  goal?: Goal;
}

/** Where a call's time goes: median milliseconds of each phase, per form. */
export interface PhaseTable {
  /** The forms measured, e.g. "empty deno run", "source", "bundle". */
  columns: string[];
  /** One row a phase, its median in each column (null: not in that form). */
  rows: { key: string; label: string; values: (number | null)[] }[];
}

/** Everything one run of the benchmark found. */
export interface Report extends RunInfo {
  /** The cases, in the order they were defined. */
  cases: CaseResult[];
  /** Figures that are no timings. */
  figures: (Figure & { met: boolean | null })[];
  /** The phases of a warm call, when they were measured. */
  phases?: PhaseTable;
}

/**
 * A figure's value as the table prints it: a ratio to two places, as a
 * case's ratio is, so that a goal missed by a hair does not read as met
 * (0.79× against "≥ 0.8×" printed as 0.8).
 */
function figureValue(figure: Figure): string {
  return figure.value.toFixed(RATIO_UNITS.has(figure.unit) ? 2 : 1);
}

/** The units of figures that are ratios of two measurements. */
const RATIO_UNITS = new Set(["×", "x"]);

/**
 * Summarizes each case, divides it by its anchor and checks the goals.
 *
 * @param info The machine and the run's shape.
 * @param cases The measured cases.
 * @param figures Other figures.
 * @returns The report.
 *
 * @example
 * ```ts
 * import { buildReport } from "./_report.ts";
 * const info = { deno: "deno 2", cores: 2, runs: 1, warmupRounds: 0, delayMs: 0 };
 * const report = buildReport(info, [
 *   { key: "run", label: "run", samples: [30], anchor: "ssh", goal: { max: 3.5, text: "≤ 3.5×" } },
 *   { key: "ssh", label: "ssh", samples: [10] },
 * ]);
 * console.log(report.cases[0].ratio, report.cases[0].met); // 3 true
 * ```
 */
export function buildReport(
  info: RunInfo,
  cases: CaseSamples[],
  figures: Figure[] = [],
  phases?: PhaseTable,
): Report {
  const summaries = new Map(cases.map((c) => [c.key, summarize(c.samples)]));
  const results = cases.map((c): CaseResult => {
    const summary = summaries.get(c.key)!;
    const anchor = c.anchor ? summaries.get(c.anchor) : undefined;
    const ratio = anchor ? summary.median / anchor.median : null;
    const met = ratio !== null && c.goal ? meets(ratio, c.goal) : null;
    return { ...c, ...summary, ratio, met };
  });
  return {
    ...info,
    cases: results,
    figures: figures.map((f) => ({
      ...f,
      met: f.goal ? meets(f.value, f.goal) : null,
    })),
    ...(phases ? { phases } : {}),
  };
}

/**
 * Renders the report as the text the team pastes: machine, then one row a
 * case (median, p90, anchor, ratio, goal, met), then the other figures.
 *
 * @param report The report.
 * @returns The text, without a final newline.
 */
export function formatReport(report: Report): string {
  const labels = new Map(report.cases.map((c) => [c.key, c.label]));
  const rows = [
    ["case", "median ms", "p90 ms", "anchor", "ratio", "goal", "met"],
    ...report.cases.map((c) => [
      c.label,
      c.median.toFixed(1),
      c.p90.toFixed(1),
      c.anchor ? labels.get(c.anchor) ?? c.anchor : "",
      c.ratio === null ? "" : `${c.ratio.toFixed(2)}×`,
      c.goal?.text ?? "",
      yesNo(c.met),
    ]),
  ];
  const figureRows = [
    ["figure", "value", "goal", "met"],
    ...report.figures.map((f) => [
      f.label,
      `${figureValue(f)} ${f.unit}`,
      f.goal?.text ?? "",
      yesNo(f.met),
    ]),
  ];
  return [
    report.deno,
    `cores: ${report.cores}; ${
      report.delayMs
        ? `through a relay adding ${report.delayMs} ms each way`
        : "loopback"
    }`,
    `runs: ${report.runs} per case, interleaved, after ${report.warmupRounds} warm-up rounds`,
    "",
    ...table(rows),
    ...(report.figures.length ? ["", ...table(figureRows)] : []),
    ...(report.phases ? ["", ...table(phaseRows(report.phases))] : []),
  ].join("\n");
}

/**
 * Renders the report as one JSON object: machine and run shape, `cases`
 * by key (label, `median_ms`, `p90_ms`, `samples_ms`, `anchor`, `ratio`,
 * `goal`, `met`) and `figures` by key (`value`, `unit`, `goal`, `met`).
 *
 * @param report The report.
 * @returns The JSON text.
 */
export function reportJson(report: Report): string {
  const cases = Object.fromEntries(report.cases.map((c) => [c.key, {
    label: c.label,
    median_ms: round(c.median, 2),
    p90_ms: round(c.p90, 2),
    samples_ms: c.samples.map((s) => round(s, 2)),
    anchor: c.anchor ?? null,
    ratio: c.ratio === null ? null : round(c.ratio, 3),
    goal: c.goal?.text ?? null,
    met: c.met,
  }]));
  const figures = Object.fromEntries(report.figures.map((f) => [f.key, {
    label: f.label,
    value: round(f.value, 2),
    unit: f.unit,
    goal: f.goal?.text ?? null,
    met: f.met,
  }]));
  return JSON.stringify(
    {
      deno: report.deno,
      cores: report.cores,
      runs: report.runs,
      warmup_rounds: report.warmupRounds,
      delay_ms: report.delayMs,
      cases,
      figures,
      ...(report.phases ? { phases: report.phases } : {}),
    },
    null,
    2,
  ) + "\n";
}

function phaseRows(phases: PhaseTable): string[][] {
  return [
    ["phase of a warm run -- true (median ms)", ...phases.columns],
    ...phases.rows.map((row) => [
      row.label,
      ...row.values.map((v) => v === null ? "" : v.toFixed(1)),
    ]),
  ];
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) =>
    Math.max(...rows.map((r) => r[i].length))
  );
  return rows.map((row) =>
    row.map((cell, i) =>
      i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])
    )
      .join("  ").trimEnd()
  );
}

function meets(value: number, goal: Goal): boolean {
  return (goal.max === undefined || value <= goal.max) &&
    (goal.min === undefined || value >= goal.min);
}

function yesNo(met: boolean | null): string {
  return met === null ? "" : met ? "yes" : "NO";
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
