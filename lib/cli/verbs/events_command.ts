/**
 * The grammar of `events`; what it does is in `events.ts`, loaded once it
 * is parsed.
 *
 * @module
 */
import type { EventsFlags } from "./events.ts";
import { SINCE, targetCommand } from "../grammar.ts";

/** `events NAME DEST [PORT]`. */
export const events = targetCommand<EventsFlags>(
  "output and events as JSON lines: commands started and done, prompts, exit",
  { since: SINCE },
  async () => (await import("./events.ts")).events,
);
