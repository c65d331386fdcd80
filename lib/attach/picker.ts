/**
 * Choosing which session `sessh attach DEST` attaches to: the rules, and
 * the table the picker shows.
 *
 * @module
 */
import type { SessionInfo } from "../types.ts";
import { UsageError } from "../errors.ts";

/** What to attach to. */
export type Choice =
  | { kind: "attach"; name: string }
  | { kind: "new" }
  | { kind: "pick"; free: SessionInfo[] };

/**
 * Applies the attach rules: `--new` always creates; `--session ID` picks
 * that one; otherwise no free session creates one, exactly one free session
 * is attached, and several free sessions mean asking.
 *
 * @param sessions Every live session.
 * @param options `--new` and `--session`.
 * @returns The choice.
 *
 * @example
 * ```ts
 * import { chooseSession } from "./picker.ts";
 * console.log(chooseSession([], {})); // { kind: "new" }
 * ```
 */
export function chooseSession(
  sessions: SessionInfo[],
  options: { newSession?: boolean; session?: string },
): Choice {
  if (options.newSession) return { kind: "new" };
  if (options.session !== undefined) {
    return { kind: "attach", name: options.session };
  }
  const free = sessions.filter((s) => !s.attached);
  if (free.length === 0) return { kind: "new" };
  if (free.length === 1) return { kind: "attach", name: free[0].name };
  return { kind: "pick", free };
}

/**
 * The smallest positive number not yet used as a session name.
 *
 * @param sessions Every live session.
 * @returns The name for a new session.
 *
 * @example
 * ```ts
 * import { nextSessionName } from "./picker.ts";
 * console.log(nextSessionName([])); // "1"
 * ```
 */
export function nextSessionName(sessions: SessionInfo[]): string {
  const used = new Set(sessions.map((s) => s.name));
  let n = 1;
  while (used.has(String(n))) n++;
  return String(n);
}

/**
 * The picker's table: `#`, `INIT`, `DETACH`, `WHAT`; attached sessions are
 * marked busy.
 *
 * @param sessions Every live session.
 * @param now The current time (for tests).
 * @returns The table text, one line each, ending in a newline.
 *
 * @example
 * ```ts ignore
 * import { formatPicker } from "./picker.ts";
 * console.log(formatPicker(sessions));
 * ```
 */
export function formatPicker(
  sessions: SessionInfo[],
  now = Date.now(),
): string {
  const rows = [["#", "INIT", "DETACH", "WHAT"]];
  for (const s of sessions) {
    const detach = s.attached
      ? "busy"
      : s.detachedAt
      ? clock(s.detachedAt, now)
      : "never";
    const what = s.command ?? s.shell.split("/").pop() ?? "";
    rows.push([s.name, clock(s.created, now), detach, what]);
  }
  const widths = rows[0].map((_, i) =>
    Math.max(...rows.map((r) => r[i].length))
  );
  return rows.map((r) =>
    r.map((c, i) => i === 3 ? c : c.padEnd(widths[i])).join("  ").trimEnd()
  )
    .join("\n") + "\n";
}

/**
 * Reads the user's answer to the picker.
 *
 * @param answer The line typed.
 * @param sessions Every live session.
 * @returns The choice, or an error message to show before asking again.
 *
 * @example
 * ```ts
 * import { parsePick } from "./picker.ts";
 * console.log(parsePick("n", [])); // { kind: "new" }
 * ```
 */
export function parsePick(
  answer: string,
  sessions: SessionInfo[],
): { kind: "attach"; name: string } | { kind: "new" } | { kind: "quit" } | {
  error: string;
} {
  const text = answer.trim();
  if (text === "n" || text === "N") return { kind: "new" };
  if (text === "q" || text === "") return { kind: "quit" };
  const session = sessions.find((s) => s.name === text);
  if (!session) return { error: `No session ${JSON.stringify(text)}` };
  if (session.attached) {
    return { error: `Session ${text} is busy: another client is attached` };
  }
  return { kind: "attach", name: session.name };
}

/**
 * Parses `--retries`: a count, or `forever`.
 *
 * @param text The option value.
 * @returns The number of attempts (Infinity for forever).
 *
 * @example
 * ```ts
 * import { parseRetries } from "./picker.ts";
 * console.log(parseRetries("forever")); // Infinity
 * ```
 */
export function parseRetries(text: string): number {
  if (text === "forever") return Infinity;
  if (!/^\d+$/.test(text)) {
    throw new UsageError(
      `Invalid --retries ${JSON.stringify(text)}; give a number or "forever"`,
    );
  }
  return Number(text);
}

function clock(date: Date, now: number): string {
  const ms = date.getTime();
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return now - ms < 86_400_000
    ? time
    : `${date.getMonth() + 1}/${date.getDate()} ${time}`;
}
