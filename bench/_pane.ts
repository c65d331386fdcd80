/**
 * Terminals for the attach benchmark: a program runs in a detached pane of
 * a private tmux server, is typed into with send-keys and read with
 * capture-pane. For single keystrokes, a tmux control-mode client types and
 * reports the pane's output the moment tmux reads it from the program, so
 * that echo latency is timed without polling the screen.
 *
 * @module
 */
import { runCommand, spawnPiped } from "../lib/process.ts";

/** Options of {@linkcode startPane}. */
export interface PaneOptions {
  /**
   * Window width.
   * @default {100}
   */
  cols?: number;
  /**
   * Window height.
   * @default {30}
   */
  rows?: number;
  /** Environment of the program, on top of `TERM=xterm-256color`. */
  env?: Record<string, string>;
}

/** Options of {@linkcode BenchPane.waitFor}. */
export interface WaitOptions {
  /** Interval between two captures of the screen, in milliseconds. */
  pollMs: number;
  /** When to give up, in milliseconds. */
  timeoutMs: number;
}

/** A pane running one program. */
export interface BenchPane extends AsyncDisposable {
  /** Types text literally (no key names). */
  type(text: string): Promise<void>;
  /** Presses keys by tmux name (`Enter`, `C-u`, …). */
  keys(...keys: string[]): Promise<void>;
  /** The visible screen, trailing blanks of each line and of the screen trimmed. */
  screen(): Promise<string>;
  /** Captures the screen until it matches; throws with the screen shown on timeout. */
  waitFor(pattern: RegExp, options: WaitOptions): Promise<string>;
  /** Attaches a control-mode client, for {@linkcode EchoTimer.echoMs}. */
  echoTimer(): Promise<EchoTimer>;
}

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
const SESSION = "bench";
let counter = 0;

/**
 * Starts `argv` in a pane of a fresh tmux server (no config file), in a
 * window of a fixed size. When the program exits, the pane shows
 * `[exit status N]` and stays, so that a failed wait shows why.
 *
 * @param argv The program and its arguments.
 * @param options Size and environment.
 * @returns The pane; disposing it kills the tmux server and the program
 *   and removes the server's socket.
 *
 * @example
 * ```ts ignore
 * import { startPane } from "./_pane.ts";
 * await using pane = await startPane(["bash", "--norc"]);
 * await pane.type("echo hi");
 * await pane.keys("Enter");
 * await pane.waitFor(/^hi$/m, { pollMs: 10, timeoutMs: 5000 });
 * ```
 */
export async function startPane(
  argv: string[],
  options: PaneOptions = {},
): Promise<BenchPane> {
  const socket = `sessh-bench-${Deno.pid}-${counter++}`;
  const tmux = (...args: string[]) => runTmux(socket, args);
  const env = Object.entries({ TERM: "xterm-256color", ...options.env })
    .flatMap(([key, value]) => ["-e", `${key}=${value}`]);
  await tmux(
    "-f",
    "/dev/null",
    "new-session",
    "-d",
    "-s",
    SESSION,
    "-x",
    String(options.cols ?? 100),
    "-y",
    String(options.rows ?? 30),
    ...env,
    "--",
    "sh",
    "-c",
    '"$@"; echo "[exit status $?]"; exec sleep 86400',
    "sh",
    ...argv,
  );
  let socketPath: string;
  try {
    // kill-server leaves the socket file behind; dispose removes it.
    socketPath = (await tmux("display-message", "-p", "#{socket_path}"))
      .trim();
    // Control-mode clients must not resize the window.
    await tmux("set-option", "-g", "window-size", "manual");
  } catch (error) {
    await tmux("kill-server").catch(() => {});
    throw error;
  }
  const pane: BenchPane = {
    async type(text) {
      await tmux("send-keys", "-t", SESSION, "-l", "--", text);
    },
    async keys(...keys) {
      await tmux("send-keys", "-t", SESSION, "--", ...keys);
    },
    async screen() {
      const text = await tmux("capture-pane", "-p", "-t", SESSION);
      return text.split("\n").map((line) => line.trimEnd()).join("\n")
        .trimEnd();
    },
    async waitFor(pattern, { pollMs, timeoutMs }) {
      const deadline = performance.now() + timeoutMs;
      let last = "";
      while (performance.now() < deadline) {
        last = await pane.screen();
        if (pattern.test(last)) return last;
        await delay(pollMs);
      }
      throw new Error(
        `The screen never matched ${pattern} within ${timeoutMs} ms; it shows:\n${last}`,
      );
    },
    echoTimer: () => startEchoTimer(socket),
    async [Symbol.asyncDispose]() {
      await tmux("kill-server").catch(() => {});
      await Deno.remove(socketPath).catch(() => {});
    },
  };
  return pane;
}

async function startEchoTimer(socket: string): Promise<EchoTimer> {
  const child = spawnPiped([
    "tmux",
    "-L",
    socket,
    "-C",
    "attach",
    "-t",
    SESSION,
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

async function runTmux(socket: string, args: string[]): Promise<string> {
  const result = await runCommand(["tmux", "-L", socket, ...args], {
    timeoutMs: TMUX_TIMEOUT_MS,
  });
  const decoder = new TextDecoder();
  if (result.code !== 0) {
    throw new Error(
      `tmux ${args[0]} exited ${result.code}: ${
        decoder.decode(result.stderr).trim() || "no message"
      }`,
    );
  }
  return decoder.decode(result.stdout);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
