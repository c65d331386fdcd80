/**
 * Recordings: a session's output with its real timing, as an asciicast v2
 * file (the format of asciinema). The daemon keeps when each burst of output
 * came; secrets typed with `secret` were redacted before the output was
 * kept, so a recording never holds them.
 *
 * @module
 */
import { SesshError, UsageError } from "../errors.ts";

import { readRange } from "./output.ts";
import { commandResult } from "./history.ts";
import type { SessionLink } from "./link.ts";
import { CAPS, OPS } from "../contract/spec.ts";

/** What to record. */
export interface RecordOptions {
  /** Output from this cursor to now. */
  since?: number;
  /** The output of this command (an id `run` returned). */
  commandId?: number;
}

/**
 * The asciicast v2 text of part of a session's output: a header line, then
 * one `[seconds, "o", text]` line per burst of output.
 *
 * @param link The link to the daemon.
 * @param name The session.
 * @param options Since a cursor, or one command's output.
 * @returns The file's text.
 */
export async function recordCast(
  link: SessionLink,
  name: string,
  options: RecordOptions,
): Promise<string> {
  if ((options.since === undefined) === (options.commandId === undefined)) {
    throw new UsageError(
      "Record either from a cursor (since) or a command (commandId)",
    );
  }
  if (!link.daemon.caps.includes(CAPS.timeline)) {
    throw new SesshError(
      "remote",
      `The sessh daemon on ${link.destination.display} keeps no timing; close its sessions so that the next call starts a current one`,
    );
  }
  let since = options.since ?? 0;
  let until: number | undefined;
  if (options.commandId !== undefined) {
    const command = await commandResult(link, name, {
      commandId: options.commandId,
      maxOutput: 1024,
    });
    since = command.outputStart;
    until = command.outputEnd ?? undefined;
  }
  const fields: Record<string, unknown> = { name, since };
  if (until !== undefined) fields.until = until;
  const reply = await link.connection.request(OPS.timeline, fields);
  const start = Number(reply.since);
  const stop = Number(reply.until);
  const range = await readRange(link.connection, name, {
    since: start,
    until: stop,
  });
  const timeline = (reply.timeline as [number, number][])
    .map(([offset, ms]) => [Number(offset), Number(ms)] as const);
  return castText(
    range.data,
    Number(range.start),
    timeline,
    { cols: Number(reply.cols), rows: Number(reply.rows) },
  );
}

/**
 * Builds the asciicast v2 text from output bytes and when each burst came.
 *
 * @param data The output, from cursor `start` on.
 * @param start The cursor of `data`'s first byte.
 * @param timeline `[offset, milliseconds since the epoch]` per burst, in
 *   order; the first at or before `start`.
 * @param size The terminal size.
 * @returns The file's text.
 *
 * @example
 * ```ts
 * import { castText } from "./record.ts";
 * const data = new TextEncoder().encode("ab");
 * const cast = castText(data, 10, [[10, 1000], [11, 2500]], { cols: 80, rows: 24 });
 * console.log(cast.split("\n")[2]); // [1.5,"o","b"]
 * ```
 */
export function castText(
  data: Uint8Array,
  start: number,
  timeline: readonly (readonly [number, number])[],
  size: { cols: number; rows: number },
): string {
  const t0 = timeline[0]?.[1] ?? Date.now();
  const lines = [JSON.stringify({
    version: 2,
    width: size.cols,
    height: size.rows,
    timestamp: Math.floor(t0 / 1000),
    env: { TERM: "xterm-256color" },
  })];
  const decoder = new TextDecoder();
  const end = start + data.length;
  for (let i = 0; i < timeline.length; i++) {
    const from = Math.max(timeline[i][0], start);
    const to = Math.min(timeline[i + 1]?.[0] ?? end, end);
    if (to <= from) continue;
    const text = decoder.decode(data.subarray(from - start, to - start), {
      stream: true,
    });
    if (!text) continue;
    const seconds = Math.round(timeline[i][1] - t0) / 1000;
    lines.push(JSON.stringify([seconds, "o", text]));
  }
  const rest = decoder.decode();
  if (rest) {
    const last = timeline.at(-1)?.[1] ?? t0;
    lines.push(JSON.stringify([Math.round(last - t0) / 1000, "o", rest]));
  }
  return lines.join("\n") + "\n";
}
