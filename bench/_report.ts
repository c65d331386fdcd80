/**
 * The benchmark's results: the figures of each case, the ratios the team
 * reports, and their rendering as a text table or JSON.
 *
 * @module
 */
import { summarize, type Summary } from "./_stats.ts";

/** The ratios of medians the team reports, as `[numerator, denominator]` case keys. */
export const RATIOS: readonly (readonly [string, string])[] = [
  ["run", "ssh-true"],
  ["logs", "ssh-true"],
  ["status", "ssh-true"],
  ["run", "tmux-send-keys-and-wait"],
];

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
}

/** One measured case. */
export interface CaseResult extends Summary {
  /** Stable key, used in ratio names and JSON. */
  key: string;
  /** What was timed, for the table. */
  label: string;
  /** Every measured wall-clock time, in milliseconds, in order. */
  samples: number[];
}

/** Everything one run of the benchmark found. */
export interface Report extends RunInfo {
  /** The cases, in the order they were defined. */
  cases: CaseResult[];
  /** Ratio name (`run/ssh-true`) to the ratio of the two medians. */
  ratios: Record<string, number>;
}

/**
 * Summarizes the samples of each case and computes {@linkcode RATIOS}.
 *
 * @param info The machine and the run's shape.
 * @param cases Key, label and samples of each case.
 * @returns The report.
 *
 * @example
 * ```ts
 * import { buildReport } from "./_report.ts";
 * const info = { deno: "deno 2", cores: 2, runs: 1, warmupRounds: 0 };
 * const report = buildReport(info, [
 *   { key: "run", label: "run", samples: [30] },
 *   { key: "ssh-true", label: "ssh", samples: [10] },
 * ]);
 * console.log(report.ratios["run/ssh-true"]); // 3
 * ```
 */
export function buildReport(
  info: RunInfo,
  cases: Omit<CaseResult, keyof Summary>[],
): Report {
  const results = cases.map((c) => ({ ...c, ...summarize(c.samples) }));
  const median = new Map(results.map((c) => [c.key, c.median]));
  const ratios: Record<string, number> = {};
  for (const [top, bottom] of RATIOS) {
    const [a, b] = [median.get(top), median.get(bottom)];
    if (a !== undefined && b !== undefined) ratios[`${top}/${bottom}`] = a / b;
  }
  return { ...info, cases: results, ratios };
}

/**
 * Renders the report as the text the team pastes: machine, table of
 * median and p90 in milliseconds, then the ratios.
 *
 * @param report The report.
 * @returns The text, without a final newline.
 */
export function formatReport(report: Report): string {
  const width = Math.max(...report.cases.map((c) => c.label.length), 28);
  const row = (label: string, a: string, b: string) =>
    `${label.padEnd(width)}  ${a.padStart(10)}  ${b.padStart(10)}`;
  return [
    report.deno,
    `cores: ${report.cores}`,
    `runs: ${report.runs} per case, interleaved, after ${report.warmupRounds} warm-up rounds`,
    "",
    row("case", "median ms", "p90 ms"),
    ...report.cases.map((c) => row(c.label, ms(c.median), ms(c.p90))),
    "",
    "ratios of medians",
    ...Object.entries(report.ratios).map(([name, value]) =>
      `${name.padEnd(width)}  ${value.toFixed(2).padStart(10)}`
    ),
  ].join("\n");
}

/**
 * Renders the report as one JSON object: machine and run shape, then
 * `cases` by key (label, `median_ms`, `p90_ms`, `samples_ms`) and `ratios`.
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
  }]));
  const ratios = Object.fromEntries(
    Object.entries(report.ratios).map((
      [name, value],
    ) => [name, round(value, 3)]),
  );
  return JSON.stringify(
    {
      deno: report.deno,
      cores: report.cores,
      runs: report.runs,
      warmup_rounds: report.warmupRounds,
      cases,
      ratios,
    },
    null,
    2,
  ) + "\n";
}

function ms(value: number): string {
  return value.toFixed(1);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
