/**
 * Times keystroke echo for the attach benchmark without polling the screen:
 * a tmux control-mode client types a letter and reports the pane's output
 * the moment tmux reads it from the program.
 *
 * @module
 */
import { spawnPiped } from "../lib/process.ts";
import type { TmuxPane } from "../tests/_tmux.ts";

/** A tmux control-mode client on a pane; disposing it detaches. */
export interface EchoTimer extends AsyncDisposable {
  /**
   * Types one letter and measures until the program writes it back.
   *
   * @param letter A single ASCII letter, which the program must not print
   *   otherwise meanwhile.
   * @param timeoutMs When to give up.
   * @returns Milliseconds from sending the key to tmux reading the echo.
   */
  echoMs(letter: string, timeoutMs: number): Promise<number>;
}

const TMUX_TIMEOUT_MS = 10_000;

/**
 * Attaches a tmux control-mode client to the pane, which types single
 * letters and reports the pane's output the moment tmux reads it.
 *
 * @param pane The pane (its tmux server has one session).
 * @returns The timer; disposing it detaches.
 *
 * @example
 * ```ts ignore
 * import { startPane } from "../tests/_tmux.ts";
 * import { startEchoTimer } from "./_echo_timer.ts";
 * await using pane = await startPane(["bash", "--norc"]);
 * await using timer = await startEchoTimer(pane);
 * console.log(await timer.echoMs("x", 5000));
 * ```
 */
export async function startEchoTimer(pane: TmuxPane): Promise<EchoTimer> {
  const child = spawnPiped([
    "tmux",
    "-L",
    pane.socket,
    "-C",
    "attach",
  ], {
    stderr: "null",
  });
  const writer = child.stdin.getWriter();
  const lines = new LineQueue(child.stdout);
  const encoder = new TextEncoder();
  if (!(await attached(lines, performance.now() + TMUX_TIMEOUT_MS))) {
    child.kill("SIGKILL");
    await Promise.all([child.status, lines.ended]);
    throw new Error(
      `tmux -C attach did not attach within ${TMUX_TIMEOUT_MS} ms`,
    );
  }
  return {
    async echoMs(letter, timeoutMs) {
      if (!/^[A-Za-z]$/.test(letter)) {
        throw new RangeError(`Expected one ASCII letter, got "${letter}"`);
      }
      lines.clear();
      const deadline = performance.now() + timeoutMs;
      const started = performance.now();
      await writer.write(encoder.encode(`send-keys -l ${letter}\n`));
      while (true) {
        const line = await lines.next(deadline);
        if (line === null) {
          throw new Error(
            `tmux did not report the echo of "${letter}" within ${timeoutMs} ms`,
          );
        }
        // `%output %PANE DATA`; DATA escapes only control bytes and `\`.
        if (line.startsWith("%output ") && line.includes(letter, 8)) {
          return performance.now() - started;
        }
      }
    },
    async [Symbol.asyncDispose]() {
      await writer.write(encoder.encode("detach-client\n")).catch(() => {});
      await writer.close().catch(() => {});
      const timer = setTimeout(() => child.kill("SIGKILL"), TMUX_TIMEOUT_MS);
      await Promise.all([child.status, lines.ended]);
      clearTimeout(timer);
    },
  };
}

/** Whether the control client reports its session before `deadline`. */
async function attached(lines: LineQueue, deadline: number): Promise<boolean> {
  while (true) {
    const line = await lines.next(deadline);
    if (line === null) return false;
    if (line.startsWith("%session-changed ")) return true;
  }
}

/** The lines of a stream, read in the background as they arrive. */
class LineQueue {
  #queue: string[] = [];
  #wake: (() => void) | null = null;
  #done = false;
  /** Resolves when the stream has ended. */
  readonly ended: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.ended = this.#pump(stream);
  }

  /** Forgets the lines read so far. */
  clear(): void {
    this.#queue.length = 0;
  }

  /** The next line, or null at the end of the stream or after `deadline`. */
  async next(deadline: number): Promise<string | null> {
    while (this.#queue.length === 0) {
      const left = deadline - performance.now();
      if (this.#done || left <= 0) return null;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = null;
    }
    return this.#queue.shift()!;
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let partial = "";
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (partial + text).split("\n");
        partial = parts.pop()!;
        this.#queue.push(...parts);
        this.#wake?.();
      }
    } finally {
      this.#done = true;
      this.#wake?.();
    }
  }
}
