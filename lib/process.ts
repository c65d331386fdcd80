/**
 * The one place sessh starts local processes. Every spawn goes through here
 * so that timeouts, output collection and "program not found" are handled
 * the same way everywhere.
 *
 * @module
 */

import { ConnectError } from "./errors.ts";
import { concatBytes } from "./bytes.ts";
import { arm } from "./interrupt.ts";
import { startTimer } from "./timer.ts";

/** Options for {@linkcode runCommand}. */
export interface RunOptions {
  /** Bytes written to the child's stdin, which is then closed. Without it stdin is `/dev/null`. */
  stdin?: Uint8Array;
  /**
   * Kill the child with SIGKILL after this many milliseconds and report
   * `timedOut: true` with code 124.
   * @default {undefined} no timeout
   */
  timeoutMs?: number;
  /** Variables added to (not replacing) the current environment. */
  env?: Record<string, string>;
  /** Working directory of the child. */
  cwd?: string;
  /** Kills the child with SIGKILL when aborted; reported like a timeout (124). */
  signal?: AbortSignal;
}

/** What {@linkcode runCommand} reports once the child has exited. */
export interface RunResult {
  /** Exit code; 124 on timeout; 128 + signal number when killed by a signal (as Deno reports it). */
  code: number;
  /** Everything the child wrote to stdout. */
  stdout: Uint8Array;
  /** Everything the child wrote to stderr. */
  stderr: Uint8Array;
  /** Whether the child was killed because `timeoutMs` ran out. */
  timedOut: boolean;
}

/** Options for {@linkcode spawnPiped}. */
export interface SpawnPipedOptions {
  /** Variables added to (not replacing) the current environment. */
  env?: Record<string, string>;
  /**
   * Where the child's stderr goes. A `"piped"` stderr must be read or
   * cancelled by the caller, or the child blocks once the pipe is full.
   * @default {"inherit"}
   */
  stderr?: "piped" | "null" | "inherit";
}

/** Options for {@linkcode spawnBackground}. */
export interface SpawnBackgroundOptions {
  /** Variables added to (not replacing) the current environment. */
  env?: Record<string, string>;
  /** Working directory of the child. */
  cwd?: string;
}

/**
 * How long output is still read after the child exited. A descendant that
 * inherited the pipes (a daemon, `ssh -f` when it does not null its stdio)
 * would otherwise keep the read open forever; what the child itself wrote
 * is already in the pipe buffer and is read well within this time.
 */
const DRAIN_AFTER_EXIT_MS = 250;

/**
 * Runs a program to completion and collects its output. Never hangs on
 * pipes held open by background descendants, and with `timeoutMs` never
 * waits longer than that for the child itself. Does not throw on a
 * non-zero exit; check `code`.
 *
 * @param argv Program and arguments; the program is looked up on `PATH`.
 * @param options Input, timeout, environment and working directory.
 * @returns Exit code, output, and whether the timeout fired.
 * @throws {ConnectError} `ssh_failed` when the program does not exist.
 *
 * @example
 * ```ts
 * import { runCommand } from "./process.ts";
 * const result = await runCommand(["echo", "hi"], { timeoutMs: 5000 });
 * console.log(result.code, new TextDecoder().decode(result.stdout)); // 0 "hi\n"
 * ```
 */
export async function runCommand(
  argv: string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const child = spawn(argv, {
    args: argv.slice(1),
    env: options.env,
    cwd: options.cwd,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
  const stdout = new Collector(child.stdout);
  const stderr = new Collector(child.stderr);
  const input = options.stdin ? feed(child.stdin, options.stdin) : undefined;

  let timedOut = false;
  const stop = () => {
    try {
      child.kill("SIGKILL");
      timedOut = true;
    } catch {
      // It exited on its own just now; report its real status.
    }
  };
  // startTimer: the global setTimeout costs 10 ms or more to touch first.
  const cancel = options.timeoutMs === undefined
    ? undefined
    : startTimer(options.timeoutMs, stop);
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener("abort", stop);

  const status = await child.status;
  cancel?.();
  options.signal?.removeEventListener("abort", stop);
  const [out, err] = await Promise.all([
    stdout.finish(DRAIN_AFTER_EXIT_MS),
    stderr.finish(DRAIN_AFTER_EXIT_MS),
    input,
  ]);
  return {
    code: timedOut ? 124 : status.code,
    stdout: out,
    stderr: err,
    timedOut,
  };
}

/**
 * Starts a long-lived child with stdin and stdout piped, for streaming
 * protocols. The caller owns the child: it must close stdin, consume or
 * cancel stdout, and await `status`.
 *
 * @param argv Program and arguments; the program is looked up on `PATH`.
 * @param options Environment and where stderr goes.
 * @returns The running child.
 * @throws {ConnectError} `ssh_failed` when the program does not exist.
 *
 * @example
 * ```ts
 * import { spawnPiped } from "./process.ts";
 * const child = spawnPiped(["cat"], { stderr: "null" });
 * const writer = child.stdin.getWriter();
 * await writer.write(new TextEncoder().encode("ping"));
 * await writer.close();
 * console.log(new TextDecoder().decode((await child.output()).stdout)); // "ping"
 * ```
 */
export function spawnPiped(
  argv: string[],
  options: SpawnPipedOptions = {},
): Deno.ChildProcess {
  return spawn(argv, {
    args: argv.slice(1),
    env: options.env,
    stdin: "piped",
    stdout: "piped",
    stderr: options.stderr ?? "inherit",
  });
}

/**
 * Starts a long-lived child with all three standard streams on `/dev/null`,
 * for servers that log to files (test fixtures). Nothing it or its
 * descendants do can hold a pipe of ours open.
 *
 * @param argv Program and arguments; the program is looked up on `PATH`.
 * @param options Environment and working directory.
 * @returns The running child; the caller kills it and awaits `status`.
 * @throws {ConnectError} `ssh_failed` when the program does not exist.
 *
 * @example
 * ```ts
 * import { spawnBackground } from "./process.ts";
 * const child = spawnBackground(["sleep", "30"]);
 * child.kill("SIGKILL");
 * await child.status;
 * ```
 */
export function spawnBackground(
  argv: string[],
  options: SpawnBackgroundOptions = {},
): Deno.ChildProcess {
  return spawn(argv, {
    args: argv.slice(1),
    env: options.env,
    cwd: options.cwd,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  });
}

/** Every child started here that has not exited yet. */
const liveChildren = new Set<Deno.ChildProcess>();

/**
 * Kills every child process sessh started that is still running, for a
 * caller that must end now (a call past its deadline): nothing it spawned
 * outlives it or is waited on.
 *
 * @returns How many children were signalled.
 *
 * @example
 * ```ts
 * import { killChildren, spawnBackground } from "./process.ts";
 * const child = spawnBackground(["sleep", "30"]);
 * console.log(killChildren()); // 1
 * await child.status;
 * ```
 */
export function killChildren(): number {
  let killed = 0;
  for (const child of liveChildren) {
    try {
      child.kill("SIGKILL");
      killed++;
    } catch {
      // It exited just now.
    }
  }
  return killed;
}

/**
 * The process ids of the children sessh started that are still running,
 * for a report of what a stop ended.
 *
 * @returns Their pids.
 *
 * @example
 * ```ts
 * import { liveChildPids } from "./process.ts";
 * console.log(liveChildPids()); // []
 * ```
 */
export function liveChildPids(): number[] {
  return [...liveChildren].map((child) => child.pid);
}

function spawn(
  argv: string[],
  options: Deno.CommandOptions,
): Deno.ChildProcess {
  const program = argv[0];
  if (!program) throw new TypeError("Cannot run an empty command line");
  // A signal must end this child too (lib/interrupt.ts).
  arm();
  try {
    const child = new Deno.Command(program, options).spawn();
    liveChildren.add(child);
    child.status.finally(() => liveChildren.delete(child));
    return child;
  } catch (error) {
    const missingCwd = /No such cwd/.test((error as Error).message);
    if (error instanceof Deno.errors.NotFound && !missingCwd) {
      // Every program sessh runs itself is ssh or one of its helpers.
      throw new ConnectError(
        "ssh_failed",
        `Cannot run "${program}": it is not installed or not on PATH; install it or fix PATH`,
      );
    }
    throw error;
  }
}

async function feed(stream: WritableStream<Uint8Array>, bytes: Uint8Array) {
  const writer = stream.getWriter();
  try {
    await writer.write(bytes);
    await writer.close();
  } catch {
    // The child closed its stdin early or was killed; its status says why.
  }
}

/** Reads a stream to the end, or until told to stop after a grace period. */
class Collector {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
    this.#done = this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      while (true) {
        const { done, value } = await this.#reader.read();
        if (done) return;
        this.#chunks.push(value);
      }
    } catch {
      // Cancelled by finish(); keep what was read.
    }
  }

  /** Waits up to `graceMs` for the end of the stream, then gives up on it. */
  async finish(graceMs: number): Promise<Uint8Array> {
    let cancel = () => {};
    const expired = new Promise<boolean>((resolve) => {
      cancel = startTimer(graceMs, () => resolve(true));
    });
    const gaveUp = await Promise.race([this.#done.then(() => false), expired]);
    cancel();
    if (gaveUp) {
      await this.#reader.cancel().catch(() => {});
      await this.#done;
    }
    this.#reader.releaseLock();
    return concatBytes(this.#chunks);
  }
}
