/**
 * Tells from the end of a session's output whether its foreground program
 * seems to wait for input: a pager, or a prompt on the last line.
 *
 * @module
 */

/** What {@link waitingForInput} looks at, as the daemon reports it. */
export interface ForegroundState {
  /** Whether a command is running. */
  running: boolean;
  /** Command line of the foreground process when it is not the shell. */
  command: string | null;
  /** The last bytes of the session's output buffer. */
  tail: Uint8Array;
}

const PAGERS = new Set(["less", "more", "most", "man", "pg"]);

// CSI sequences, OSC strings (ended by BEL or ST, or cut off) and other
// two-byte escapes, matched on bytes read as Latin-1.
const ESCAPE =
  // deno-lint-ignore no-control-regex
  /\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])/g;

const PROMPT =
  /(pass(word|phrase)[^\n]*:\s*$|\[y\/n\]\s*:?\s*$|\(y\/n\)\s*:?\s*$|\(yes\/no[^)]*\)\??\s*$|continue\?\s*$|\(END\)\s*$|--More--|^:\s*$|>>>\s*$|\?\s*$)/i;

const decoder = new TextDecoder();

/**
 * Whether a running command seems to wait for input: it is a pager, or the
 * last non-empty line of its output, escape sequences left out, looks like a
 * prompt (a password, a yes/no question, a pager's "(END)" or ":", ">>>", a
 * line ending in "?").
 *
 * @param state Whether a command runs, which, and the end of the output.
 * @returns `true` when the session seems to wait for input.
 *
 * @example
 * ```ts
 * import { waitingForInput } from "./waiting_input.ts";
 * const tail = new TextEncoder().encode("$ sudo true\r\n[sudo] password for me: ");
 * console.log(waitingForInput({ running: true, command: "sudo true", tail })); // true
 * ```
 */
export function waitingForInput(state: ForegroundState): boolean {
  if (!state.running) return false;
  const program = (state.command ?? "").split(" ")[0].split("/").pop();
  if (PAGERS.has(program ?? "")) return true;
  const latin1 = String.fromCharCode(...state.tail).replace(ESCAPE, "");
  const text = decoder.decode(
    Uint8Array.from(latin1, (c) => c.charCodeAt(0)),
  );
  const lines = text.replaceAll("\r", "\n").split("\n").filter((line) =>
    line.trim() !== ""
  );
  return lines.length > 0 && PROMPT.test(lines[lines.length - 1]);
}
