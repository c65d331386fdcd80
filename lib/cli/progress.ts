/**
 * The progress bar of a copy on a terminal: one line, redrawn in place.
 *
 * @module
 */

/**
 * One redraw of the bar: `\r`, the bar, percent, sizes, rate and time left,
 * cleared to the end of the line.
 *
 * @param copied Bytes at the destination.
 * @param total Bytes in all, or null when not known.
 * @param seconds Seconds since the copy began.
 * @param width Columns of the terminal.
 * @returns The text to write.
 *
 * @example
 * ```ts
 * import { progressLine } from "./progress.ts";
 * console.log(JSON.stringify(progressLine(50e6, 100e6, 2, 60)));
 * // "\r[#######-------]   50%  50.0/100.0 MB  25.0 MB/s  0:02 left\u001b[K"
 * ```
 */
export function progressLine(
  copied: number,
  total: number | null,
  seconds: number,
  width: number,
): string {
  const rate = seconds > 0 ? copied / seconds : 0;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  if (total === null) {
    return `\r${mb(copied)} MB  ${mb(rate)} MB/s\x1b[K`;
  }
  const fraction = total > 0 ? Math.min(1, copied / total) : 1;
  const left = rate > 0 ? Math.ceil((total - copied) / rate) : null;
  const tail = `${Math.floor(fraction * 100).toString().padStart(3)}%  ${
    mb(copied)
  }/${mb(total)} MB  ${mb(rate)} MB/s${
    left === null ? "" : `  ${clock(left)} left`
  }`;
  // The bar takes what the numbers leave, between 10 and 40 columns.
  const barWidth = Math.max(10, Math.min(40, width - tail.length - 5));
  const filled = Math.round(fraction * barWidth);
  return `\r[${"#".repeat(filled)}${
    "-".repeat(barWidth - filled)
  }]  ${tail}\x1b[K`;
}

/** Seconds as m:ss, or h:mm:ss from an hour on. */
function clock(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/**
 * Redraws the bar on `write` at most every 200 ms while a copy runs, and
 * clears it at the end.
 *
 * @param write Where the bar goes (stderr on a terminal).
 * @param columns The terminal's width; this process's console's (else 80)
 *   when not given. The agent drawing a thin client's bar is told it.
 * @returns `update(copied, total)` as parts arrive, and `done()`.
 */
export function progressBar(
  write: (text: string) => Promise<void>,
  columns?: number,
): {
  update(copied: number, total: number | null): void;
  done(): Promise<void>;
} {
  const started = performance.now();
  let last = 0;
  let writing: Promise<void> = Promise.resolve();
  const width = columns ?? consoleColumns();
  return {
    update(copied, total) {
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      const line = progressLine(copied, total, (now - started) / 1000, width);
      writing = writing.then(() => write(line));
    },
    async done() {
      await writing;
      await write("\r\x1b[K");
    },
  };
}

/**
 * The width of this process's console, as the progress bar takes it: 80
 * when there is none.
 *
 * @returns Columns.
 *
 * @example
 * ```ts
 * import { consoleColumns } from "./progress.ts";
 * console.log(consoleColumns() > 0); // true
 * ```
 */
export function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
}
