/**
 * Runs bytes through a headless xterm.js terminal. Shared by
 * `terminal_text.ts` and `screen.ts`; not part of the public API.
 *
 * @module
 */

import type xterm from "@xterm/headless";

/** The parts of a headless terminal the renderers read. */
export type HeadlessTerminal = InstanceType<typeof xterm.Terminal>;

let loading: Promise<typeof xterm> | null = null;
let alone = false;

/**
 * Tells the loader that this process runs only sessh's own code (the
 * command line), so that loading xterm.js may hide the global `process`
 * for the time of its import.
 *
 * xterm.js reads `typeof process` once, at load, to tell Node from a
 * browser, and Deno builds its whole Node `process` on that first touch:
 * 15 to 30 ms of a warm `sessh screen` (measured with Deno 2.9), for a
 * test whose answer (not a browser) xterm.js gets from a stand-in as well.
 * A library user's code may read `process` while the import is pending,
 * so only the command line, which calls this, gets the stand-in.
 *
 * @example
 * ```ts ignore
 * import { loadXtermAlone } from "./_terminal.ts";
 * loadXtermAlone();
 * ```
 */
export function loadXtermAlone(): void {
  alone = true;
}

/**
 * Starts loading xterm.js, once. Loading costs about 10 ms (50 ms with the
 * Node `process` it would otherwise touch; see {@linkcode loadXtermAlone}),
 * so commands that never render (status, list, send) skip it, and commands
 * that will render call this early so the load overlaps their network wait.
 *
 * @returns The module's default export.
 */
export function loadXterm(): Promise<typeof xterm> {
  if (loading) return loading;
  const restore = alone ? standInProcess() : () => {};
  // The ES module build by its path: the package's "module" field names a
  // file it does not ship, which stops bundlers.
  loading = (import(
    "@xterm/headless/lib-headless/xterm-headless.mjs"
  ) as Promise<typeof xterm>).finally(restore);
  return loading;
}

/**
 * Puts a stand-in in place of the global `process` with what xterm.js
 * reads of it (a `title`, as Node's and Deno's have), and returns the
 * function that puts the real one back.
 */
function standInProcess(): () => void {
  const real = Object.getOwnPropertyDescriptor(globalThis, "process");
  if (real === undefined || !real.configurable) return () => {};
  Object.defineProperty(globalThis, "process", {
    value: { title: "sessh" },
    configurable: true,
    writable: true,
  });
  return () => Object.defineProperty(globalThis, "process", real);
}

/** Size and history of the terminal to emulate. */
export interface EmulateOptions {
  /** Terminal width in columns. */
  cols: number;
  /** Terminal height in rows. */
  rows: number;
  /** Lines kept above the viewport. */
  scrollback: number;
}

/**
 * Feeds `data` into a fresh headless terminal, waits until xterm.js has parsed
 * all of it, hands the terminal to `read` and disposes it afterwards.
 *
 * @param data Raw terminal output.
 * @param options Terminal size and scrollback.
 * @param read Reads what it needs from the terminal; must not keep it.
 * @returns What `read` returned.
 */
export async function emulate<T>(
  data: Uint8Array,
  options: EmulateOptions,
  read: (terminal: HeadlessTerminal) => T,
): Promise<T> {
  checkSize("cols", options.cols);
  checkSize("rows", options.rows);
  const { Terminal } = await loadXterm();
  const terminal = new Terminal({
    cols: options.cols,
    rows: options.rows,
    scrollback: options.scrollback,
    // `terminal.buffer` counts as proposed API in @xterm/headless.
    allowProposedApi: true,
    // Its log goes to the console: a DEL byte in the output would print a
    // parsing error per byte on the user's stderr (and the MCP server's).
    logLevel: "off",
  });
  try {
    // xterm.js parses large writes in time slices; the callback fires once the
    // last slice is done, so no parser timer is left behind.
    // Decoded here, not by xterm.js: its decoder drops invalid UTF-8, where
    // a terminal shows U+FFFD so that a reader sees something was there.
    const text = new TextDecoder().decode(data);
    // Marked as following the user's input, a write is parsed at once
    // rather than from a `setTimeout`, whose first use costs a process
    // about 10 ms (see `lib/timer.ts`); nothing listens for the input,
    // which is empty.
    terminal.input("", true);
    await new Promise<void>((resolve) => terminal.write(text, resolve));
    return read(terminal);
  } finally {
    terminal.dispose();
  }
}

function checkSize(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Terminal ${name} must be a positive integer, got ${value}`,
    );
  }
}
