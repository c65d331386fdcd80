/**
 * The local terminal of `sessh attach`: raw mode that is always restored,
 * its size and resizes, ordered writes, and one reader of keystrokes.
 *
 * @module
 */
import { SesshError } from "../errors.ts";

/** A terminal size. */
export interface Size {
  /** Columns. */
  cols: number;
  /** Rows. */
  rows: number;
}

const encoder = new TextEncoder();

/**
 * The terminal sessh attach runs in.
 *
 * @example
 * ```ts ignore
 * import { LocalTerminal } from "./terminal.ts";
 * const term = LocalTerminal.open();
 * term.enterRaw();
 * try { await term.write("hello\r\n"); } finally { term.restore(); }
 * ```
 */
export class LocalTerminal {
  #raw = false;
  #writing: Promise<void> = Promise.resolve();
  #restorers: (() => void)[] = [];
  /** Reads keystrokes; one reader for the whole attach. */
  readonly keys: ReadableStreamDefaultReader<Uint8Array> = Deno.stdin.readable
    .getReader();

  /**
   * Checks that stdin and stdout are a terminal.
   *
   * @param verb The verb that needs it, for the message.
   * @returns The terminal.
   * @throws {SesshError} When they are not.
   */
  static open(verb = "attach"): LocalTerminal {
    if (!Deno.stdin.isTerminal() || !Deno.stdout.isTerminal()) {
      throw new SesshError(
        "usage",
        `sessh ${verb} needs a terminal on stdin and stdout; agents use run, send, keys and logs instead`,
        2,
      );
    }
    return new LocalTerminal();
  }

  /** The current size. */
  size(): Size {
    const { columns, rows } = Deno.consoleSize();
    return { cols: columns, rows };
  }

  /**
   * Switches to raw mode and arranges for it to be undone on SIGTERM, SIGHUP
   * and SIGINT as well as by {@linkcode LocalTerminal.restore}.
   *
   * @param onSignal Called when one of those signals arrives.
   */
  enterRaw(onSignal: (signal: Deno.Signal) => void): void {
    Deno.stdin.setRaw(true, { cbreak: false });
    this.#raw = true;
    for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"] as const) {
      const handler = () => onSignal(signal);
      Deno.addSignalListener(signal, handler);
      this.#restorers.push(() => Deno.removeSignalListener(signal, handler));
    }
  }

  /**
   * Calls `onResize` with the new size whenever the window changes.
   *
   * @param onResize The callback.
   */
  watchResize(onResize: (size: Size) => void): void {
    const handler = () => onResize(this.size());
    Deno.addSignalListener("SIGWINCH", handler);
    this.#restorers.push(() => Deno.removeSignalListener("SIGWINCH", handler));
  }

  /**
   * Writes to the terminal, in order with earlier writes.
   *
   * @param data Bytes or text.
   * @returns When this write is done.
   */
  write(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    this.#writing = this.#writing.then(async () => {
      let done = 0;
      while (done < bytes.length) {
        done += await Deno.stdout.write(bytes.subarray(done));
      }
    });
    return this.#writing;
  }

  /**
   * Leaves raw mode (once) and removes the signal handlers.
   *
   * @param reset Sequences that undo the remote program's terminal modes.
   */
  async restore(reset = ""): Promise<void> {
    for (const undo of this.#restorers.splice(0)) undo();
    if (reset) await this.write(reset).catch(() => {});
    await this.#writing.catch(() => {});
    if (this.#raw) {
      this.#raw = false;
      try {
        Deno.stdin.setRaw(false);
      } catch { /* stdin went away */ }
    }
    try {
      this.keys.releaseLock();
    } catch { /* a read is still pending; the process is about to exit */ }
  }
}
