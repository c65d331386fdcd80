/**
 * Sets of hosts as people write them for pdsh and ClusterShell: lists with
 * ranges in brackets (`gpu[01-08]`, `a[1-3,7],b`), and hosts files (one
 * entry per line, `#` comments). Pure functions: nothing here reaches a host.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/**
 * The most hosts one set may name. A typo such as `n[1-100000]` is refused
 * before anything is spawned; a fleet that large needs more than one machine.
 */
export const MAX_HOSTS = 4096;

/** Splits at commas outside brackets: `a[1,2],b` is `a[1,2]` and `b`. */
function splitTop(spec: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i];
    if (c === "[") depth++;
    else if (c === "]") depth--;
    else if (c === "," && depth === 0) {
      parts.push(spec.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(spec.slice(start));
  return parts;
}

/** The values of one bracket's body: `01-03,7` is `01`, `02`, `03`, `7`. */
function rangeValues(body: string, spec: string): string[] {
  const values: string[] = [];
  for (const piece of body.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(piece);
    if (!m) {
      throw new UsageError(
        `Bad range "[${body}]" in host set "${spec}": write numbers and ranges such as [01-08,12]`,
      );
    }
    const [, low, high = low] = m;
    const from = Number(low);
    const to = Number(high);
    if (from > to) {
      throw new UsageError(
        `Bad range "${piece}" in host set "${spec}": the first number must not exceed the second`,
      );
    }
    if (to - from + values.length >= MAX_HOSTS) {
      throw new UsageError(
        `Host set "${spec}" names more than ${MAX_HOSTS} hosts; split it`,
      );
    }
    // As pdsh does: a leading zero on the first number sets the width.
    const width = low.length > 1 && low.startsWith("0") ? low.length : 0;
    for (let n = from; n <= to; n++) {
      values.push(String(n).padStart(width, "0"));
    }
  }
  return values;
}

/** Expands one entry without top-level commas: `r[1-2]n[1-2]` → 4 hosts. */
function expandEntry(entry: string, spec: string): string[] {
  let hosts = [""];
  const pattern = /\[([^\[\]]*)\]|[^\[\]]+|[\[\]]/g;
  for (const m of entry.matchAll(pattern)) {
    if (m[0] === "[" || m[0] === "]") {
      throw new UsageError(
        `Unbalanced bracket in host set "${spec}": write ranges as name[01-08]`,
      );
    }
    const values = m[1] === undefined ? [m[0]] : rangeValues(m[1], spec);
    hosts = hosts.flatMap((h) => values.map((v) => h + v));
    if (hosts.length > MAX_HOSTS) {
      throw new UsageError(
        `Host set "${spec}" names more than ${MAX_HOSTS} hosts; split it`,
      );
    }
  }
  return hosts;
}

/**
 * Expands a pdsh-style host list: comma-separated entries, each with
 * optional ranges in brackets. Duplicates are dropped, the first kept.
 *
 * @param spec The list, e.g. `gpu[01-08]` or `a[1-3,7],b`.
 * @returns The hosts, in the order written.
 * @throws {UsageError} When the list is empty, malformed or too long.
 *
 * @example
 * ```ts
 * import { expandHosts } from "@sessh/cli";
 * console.log(expandHosts("gpu[01-03],login")); // ["gpu01", "gpu02", "gpu03", "login"]
 * ```
 */
export function expandHosts(spec: string): string[] {
  const hosts = new Set<string>();
  for (const raw of splitTop(spec)) {
    const entry = raw.trim();
    if (entry === "") {
      throw new UsageError(
        `Empty entry in host set "${spec}": separate hosts by single commas`,
      );
    }
    if (/[\s\0]/.test(entry)) {
      throw new UsageError(
        `Host "${entry}" in host set "${spec}" holds a space or control character`,
      );
    }
    for (const host of expandEntry(entry, spec)) hosts.add(host);
    if (hosts.size > MAX_HOSTS) {
      throw new UsageError(
        `Host set "${spec}" names more than ${MAX_HOSTS} hosts; split it`,
      );
    }
  }
  return [...hosts];
}

/**
 * Reads a hosts file's text: one entry per line (each may hold ranges and
 * commas), `#` to the end of a line is a comment, blank lines are skipped.
 *
 * @param text The file's content.
 * @param file The file's name, for errors.
 * @returns The hosts, in order, without duplicates.
 * @throws {UsageError} When an entry is malformed or no host is named.
 *
 * @example
 * ```ts
 * import { parseHostsFile } from "@sessh/cli";
 * const text = "# the rack\ngpu[01-02]\nlogin  # the front\n";
 * console.log(parseHostsFile(text, "hosts")); // ["gpu01", "gpu02", "login"]
 * ```
 */
export function parseHostsFile(text: string, file: string): string[] {
  const entries = text.split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "");
  if (entries.length === 0) {
    throw new UsageError(`Hosts file "${file}" names no host`);
  }
  return expandHosts(entries.join(","));
}

/**
 * Folds hosts back into the bracket notation, for summaries: hosts that
 * differ only in a trailing number of the same width share one entry.
 *
 * @param hosts Hosts, e.g. as {@linkcode expandHosts} gave them.
 * @returns One string, e.g. `fan[01-03,07],login`.
 *
 * @example
 * ```ts
 * import { foldHosts } from "./host_set.ts";
 * console.log(foldHosts(["n1", "n2", "n3", "n7", "login"])); // "n[1-3,7],login"
 * ```
 */
export function foldHosts(hosts: readonly string[]): string {
  const groups = new Map<string, { prefix: string; numbers: string[] }>();
  const order: string[] = [];
  for (const host of hosts) {
    const m = /^(.*?)(\d+)$/.exec(host);
    // Only hosts without brackets fold, so the result reads back the same.
    const key = m && !/[\[\],]/.test(m[1])
      ? `${m[1]}\0${m[2].length}`
      : `\0${host}`;
    if (!groups.has(key)) {
      groups.set(key, { prefix: m ? m[1] : host, numbers: [] });
      order.push(key);
    }
    if (m && !key.startsWith("\0")) groups.get(key)!.numbers.push(m[2]);
  }
  return order.map((key) => {
    const { prefix, numbers } = groups.get(key)!;
    if (numbers.length === 0) return prefix;
    if (numbers.length === 1) return prefix + numbers[0];
    const sorted = [...new Set(numbers)].sort((a, b) => Number(a) - Number(b));
    const runs: string[] = [];
    let first = sorted[0];
    let last = sorted[0];
    for (const n of [...sorted.slice(1), null]) {
      if (n !== null && Number(n) === Number(last) + 1) {
        last = n;
        continue;
      }
      runs.push(first === last ? first : `${first}-${last}`);
      if (n !== null) first = last = n;
    }
    return `${prefix}[${runs.join(",")}]`;
  }).join(",");
}
