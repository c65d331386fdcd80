/**
 * The fan-out of a verb given a set of hosts (`--hosts`, `--hosts-file`):
 * each host's handler at most `--parallel` at a time, their results
 * printed as they come, then a summary. Loaded by `hosts.ts` only when a
 * set is given.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { foldHosts, parseHostsFile } from "../fleet/host_set.ts";
import { DEFAULT_PARALLEL, fanOut, type HostResult } from "../fleet/fan_out.ts";
import { summarize, summaryLine } from "../fleet/summary.ts";
import { fleetSummaryJson } from "../report/fleet_json.ts";
import { checkParallel } from "../fleet/limits.ts";
import { errorJson } from "./error_out.ts";
import { type Outcome, timeoutFlag } from "./call.ts";
import type { ProgramContext } from "./context.ts";
import type { FleetFlags } from "./hosts.ts";

/** The other flags a fan-out reads, of the verbs that have them. */
interface SeenFlags extends FleetFlags {
  /** The verb's `--timeout`: each host's own deadline. */
  timeout?: number;
  /** `--json`. */
  json?: boolean;
  /** `logs --follow`, which cannot fan out. */
  follow?: boolean;
}

/**
 * Time a host gets past the verb's own deadline: the verb ends itself by
 * then; this covers ssh's start and the last reply. As `cli.ts` gives a
 * single call.
 */
const GRACE_MS = 2000;

/** The hosts `--hosts` or `--hosts-file` names. */
async function hostsOf(flags: SeenFlags): Promise<string[]> {
  if (flags.hosts !== undefined && flags.hostsFile !== undefined) {
    throw new UsageError(
      "Both --hosts and --hosts-file given; give the set one way",
    );
  }
  if (flags.hosts !== undefined) return flags.hosts;
  const file = flags.hostsFile!;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new UsageError(
      `Cannot read hosts file "${file}": ${(error as Error).message}`,
    );
  }
  return parseHostsFile(text, file);
}

/** What one host's result came to, for the summary and the exit status. */
function endOf(r: HostResult<Outcome>) {
  return r.ok
    ? { host: r.host, exitCode: r.value.exitCode }
    : { host: r.host, exitCode: r.error.exitCode, error: r.error.code };
}

function textOf(text: string | Uint8Array): string {
  return typeof text === "string" ? text : new TextDecoder().decode(text);
}

/** Each line of `text` behind `prefix`; nothing for no text. */
function prefixed(prefix: string, text: string): string {
  if (text === "") return "";
  const lines = text.endsWith("\n") ? text.slice(0, -1) : text;
  return lines.split("\n").map((line) => `${prefix}${line}\n`).join("");
}

/** The hosts grouped by identical output, as `dshbak -c` prints them. */
function grouped(results: HostResult<Outcome>[]): string {
  const groups = new Map<string, string[]>();
  for (const r of results) {
    if (!r.ok) continue;
    const text = textOf(r.value.text);
    groups.set(text, [...groups.get(text) ?? [], r.host]);
  }
  let out = "";
  for (const [text, hosts] of groups) {
    const title = `${foldHosts(hosts)} (${hosts.length})`;
    const rule = "-".repeat(Math.min(Math.max(title.length, 16), 100));
    out += `${rule}\n${title}\n${rule}\n${text}${
      text === "" || text.endsWith("\n") ? "" : "\n"
    }`;
  }
  return out;
}

/** One table of every host's rows, a HOST column first (`list --hosts`). */
function oneTable(results: HostResult<Outcome>[]): string {
  const rows: string[][] = [];
  for (const r of results) {
    if (!r.ok || !r.value.table) continue;
    const [head, ...body] = r.value.table;
    if (rows.length === 0) rows.push(["HOST", ...head]);
    for (const row of body) rows.push([r.host, ...row]);
  }
  if (rows.length === 0) return "";
  const widths = rows[0].map((_, i) =>
    Math.max(...rows.map((r) => r[i].length))
  );
  return rows.map((r) =>
    r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  ")
      .trimEnd() + "\n"
  ).join("");
}

/**
 * Runs `one` for every host and prints as results come: in plain mode each
 * host's output behind `host: ` (or grouped at the end with `--group`),
 * its notices and errors on stderr; with `--json` one line per host. The
 * outcome is the summary, with the worst host's exit status.
 */
export async function overHosts(
  op: string,
  flags: SeenFlags,
  context: ProgramContext,
  one: (host: string, context: ProgramContext) => Promise<Outcome>,
): Promise<Outcome> {
  if (flags.follow) {
    throw new UsageError(
      "logs --follow streams one session; with --hosts, read each host's logs without --follow",
    );
  }
  const hosts = await hostsOf(flags);
  const parallel = Math.min(flags.parallel ?? DEFAULT_PARALLEL, hosts.length);
  checkParallel(parallel);
  const deadlineMs = timeoutFlag(flags, context.env) + GRACE_MS;
  context.endBy(Math.ceil(hosts.length / parallel) * deadlineMs + GRACE_MS);
  // Each host's deadline is the fan-out's; the handler's own endBy would
  // set the whole call's.
  const hostContext: ProgramContext = {
    ...context,
    endBy: () => {},
    // Each host's connection closes when its part is done, as --parallel
    // bounds the connections open at once.
    afterOutput: undefined,
  };
  const { sink } = context;
  const json = flags.json || sink.json;
  const results: HostResult<Outcome>[] = [];
  for await (
    const r of fanOut(hosts, (host) => one(host, hostContext), {
      parallel,
      deadlineMs,
    })
  ) {
    results.push(r);
    if (json) {
      await sink.write(
        JSON.stringify(
          r.ok
            ? { host: r.host, ok: true, op, ...r.value.fields }
            : { host: r.host, ok: false, op, error: errorJson(r.error) },
        ) + "\n",
      );
      continue;
    }
    if (!r.ok) {
      await sink.notice(`sessh: ${r.host}: ${errorJson(r.error).message}`);
      continue;
    }
    if (!flags.group && !r.value.table) {
      await sink.write(prefixed(`${r.host}: `, textOf(r.value.text)));
    }
    if (r.value.notice) {
      await sink.notice(prefixed(`${r.host}: `, r.value.notice).trimEnd());
    }
  }
  const summary = summarize(results.map(endOf));
  const text = json
    ? ""
    : results.some((r) => r.ok && r.value.table)
    ? oneTable(results)
    : flags.group
    ? grouped(results)
    : "";
  return {
    op,
    fields: fleetSummaryJson(op, summary),
    text,
    notice: `sessh: ${hosts.length} hosts: ${summaryLine(summary)}`,
    exitCode: summary.exitCode,
  };
}
