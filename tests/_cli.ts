/**
 * Runs the real sessh command line against a test sshd, as an agent would.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { TestSshd } from "./_sshd.ts";
import { concatBytes } from "../lib/bytes.ts";

/** What one CLI call produced. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** stdout as text. */
  stdout: string;
  /** stdout bytes. */
  bytes: Uint8Array;
  /** stderr as text. */
  stderr: string;
}

const CLI = new URL("../cli.ts", import.meta.url).pathname;

/**
 * `deno run` of the CLI with ARGS, the fixture's `-F` before any `--` (also
 * for a test that reads stdout its own way).
 */
export function cliArgv(
  sshd: TestSshd,
  args: string[],
  config: boolean,
  entry = CLI,
): string[] {
  const flags = config ? ["-F", sshd.configFile] : [];
  const dashdash = args.indexOf("--");
  const full = dashdash < 0
    ? [...args, ...flags]
    : [...args.slice(0, dashdash), ...flags, ...args.slice(dashdash)];
  return ["run", "-A", "--quiet", entry, ...full];
}

const TIMER_TRAP = new URL("./_timer_trap.ts", import.meta.url).pathname;

/**
 * Runs `sessh ARGS…` (the fixture's `-F` given as `cliArgv` gives it) with
 * `tests/_timer_trap.ts` preloaded, and asserts that it succeeded, that the
 * trap was set, and that it never touched Deno's global timers, whose first
 * use costs 10 ms or more (`lib/timer.ts`).
 */
export async function assertTouchesNoTimers(
  sshd: TestSshd,
  args: string[],
): Promise<void> {
  const [run, ...rest] = cliArgv(sshd, args, true);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [run, "--preload", TIMER_TRAP, ...rest],
    env: sshd.env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stderr);
  assert.equal(code, 0, text);
  assert.match(text, /^sessh-timer-trap armed$/m);
  assert.doesNotMatch(text, /^sessh-timer-trap (?!armed)/m, text);
}

/**
 * Runs `sessh ARGS…` with the fixture's environment and ssh config. Killed
 * after `timeoutMs` so that a hang fails the test instead of stalling CI.
 *
 * @param sshd The fixture (its `-F` config is appended unless `noConfig`).
 * @param args Arguments after `sessh`.
 * @param options Extra environment, timeout.
 * @returns Exit code and output.
 */
export async function sessh(
  sshd: TestSshd,
  args: string[],
  options: {
    env?: Record<string, string>;
    timeoutMs?: number;
    noConfig?: boolean;
    /** The module run instead of cli.ts: the package's `mod.ts`. */
    entry?: string;
    /** The directory it runs in. */
    cwd?: string;
  } = {},
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgv(sshd, args, !options.noConfig, options.entry),
    env: { ...sshd.env, ...options.env },
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, options.timeoutMs ?? 90_000);
  const out = await child.output();
  clearTimeout(timer);
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    bytes: out.stdout,
    stderr: decoder.decode(out.stderr),
  };
}

/**
 * Runs `sessh` with `--json` and parses the single JSON object it prints.
 *
 * @param sshd The fixture.
 * @param args Arguments after `sessh`.
 * @param options Extra environment, timeout.
 * @returns The exit code and the parsed object.
 */
export async function sesshJson(
  sshd: TestSshd,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  const result = await sessh(sshd, ["--json", ...args], options);
  const lines = result.stdout.trim().split("\n");
  if (lines.length !== 1 || lines[0] === "") {
    throw new Error(
      `expected one JSON line, got ${
        JSON.stringify(result.stdout)
      } (exit ${result.code}; stderr: ${result.stderr})`,
    );
  }
  return {
    code: result.code,
    json: JSON.parse(lines[0]),
    stderr: result.stderr,
  };
}

/**
 * Opens session `name` in bash with an output buffer of `size`
 * (`--buffer-size`, large enough to keep a flood), and asserts that it
 * opened.
 */
export async function openBuffered(
  sshd: TestSshd,
  name: string,
  size: string,
): Promise<void> {
  const opened = await sesshJson(sshd, [
    "open",
    name,
    sshd.dest,
    "--shell",
    "bash",
    "--buffer-size",
    size,
  ]);
  assert.equal(opened.code, 0, opened.stderr);
}

/**
 * Runs `command` in session `name`, opened in bash by this call if it is
 * not yet, and asserts that it succeeded: the session a test's steps share.
 */
export async function runInBash(
  sshd: TestSshd,
  name: string,
  command: string,
): Promise<void> {
  const args = ["run", name, sshd.dest, "--shell", "bash", "--", command];
  const setup = await sessh(sshd, args);
  assert.equal(setup.code, 0, setup.stderr);
}

/**
 * Runs `true` in session `name` and returns the cursor it ended at: where
 * what the session prints next begins, for a later `--since`.
 */
export async function cursorNow(sshd: TestSshd, name: string): Promise<string> {
  const before = await sesshJson(sshd, ["run", name, sshd.dest, "--", "true"]);
  assert.equal(before.code, 0, before.stderr);
  return String(before.json.cursor);
}

/**
 * Starts `logs NAME --follow --raw --since SINCE`: the session's bytes from
 * `since` on, as they come, with nothing reading them until the test does.
 *
 * @param sshd The fixture.
 * @param name The session.
 * @param since The cursor to follow from (`cursorNow`).
 * @param options As `startUnread` takes them.
 * @returns The call, to read and kill.
 */
export function startFollowRaw(
  sshd: TestSshd,
  name: string,
  since: string,
  options: UnreadOptions = {},
): UnreadSessh {
  const args = ["logs", name, sshd.dest, "--follow", "--raw", "--since", since];
  return startUnread(sshd, args, options);
}

/** A `sessh` call left running (`logs --follow`), read as it prints. */
export interface RunningSessh {
  /** The process, for signals. */
  child: Deno.ChildProcess;
  /**
   * Reads stdout until `pattern` matches what came (the last 64 KiB of it);
   * fails when stdout ends first or nothing matches within 60 s.
   */
  until(pattern: RegExp): Promise<void>;
  /** Stops reading, waits for the exit, and returns its code and stderr. */
  finish(): Promise<{ code: number; stderr: string }>;
  /** What stdout printed so far (its last 64 KiB). */
  printed(): string;
}

/**
 * Starts `sessh ARGS…` (with the fixture's config and environment) and
 * leaves it running.
 *
 * @param sshd The fixture.
 * @param args Arguments after `sessh`.
 * @param env More of its environment.
 * @returns The running call.
 */
export function startSessh(
  sshd: TestSshd,
  args: string[],
  env: Record<string, string> = {},
): RunningSessh {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgv(sshd, args, true),
    env: { ...sshd.env, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  return {
    child,
    async until(pattern: RegExp) {
      while (!pattern.test(seen)) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(`no ${pattern} within 60 s: ${seen.slice(-200)}`),
              ),
            60_000,
          );
        });
        const { value, done } = await Promise.race([reader.read(), late])
          .finally(() => clearTimeout(timer));
        if (done) throw new Error(`stdout ended before ${pattern}: ${seen}`);
        seen = (seen + decoder.decode(value, { stream: true })).slice(-65536);
      }
    },
    printed: () => seen,
    async finish() {
      reader.releaseLock();
      const [status, stderr] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
      ]);
      await child.stdout.cancel();
      return { code: status.code, stderr };
    },
  };
}

/**
 * A `sessh` call whose stdout the test reads at its own pace (a flood held
 * back by a reader that stops), killed at its deadline so that no read
 * waits past it. `await using` kills what is left of it.
 */
export interface UnreadSessh extends AsyncDisposable {
  /** Its process id. */
  pid: number;
  /** Its first bytes: it has its output, and the reader stops there. */
  first(): Promise<Uint8Array>;
  /**
   * Reads until a line that begins with `end` has been printed (or stdout
   * ends) and returns all that this read.
   */
  until(end: string): Promise<string>;
  /**
   * Reads until `bytes` bytes have come (or stdout ends), and returns how
   * many came; stdout stays open, so the call is not ended by its reader.
   */
  count(bytes: number): Promise<number>;
  /** Reads the rest, and how it ended. */
  rest(): Promise<CliResult>;
  /**
   * Sends `signal` (SIGKILL unless named), unless it has exited; its
   * deadline still holds for what is read after.
   */
  kill(signal?: Deno.Signal): void;
}

/** How an unread call runs. */
export interface UnreadOptions {
  /** More of its environment. */
  env?: Record<string, string>;
  /** When it is killed, in ms from its start: 120 s unless given. */
  timeoutMs?: number;
}

/**
 * Starts `sessh ARGS…` (with the fixture's config and environment) with
 * nothing reading its stdout until the test does.
 *
 * @param sshd The fixture.
 * @param args Arguments after `sessh`.
 * @param options More of its environment; its deadline.
 * @returns The call, to read and kill.
 */
export function startUnread(
  sshd: TestSshd,
  args: string[],
  options: UnreadOptions = {},
): UnreadSessh {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgv(sshd, args, true),
    env: { ...sshd.env, ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const kill = (signal: Deno.Signal = "SIGKILL") => {
    try {
      child.kill(signal);
    } catch { /* exited */ }
  };
  const killer = setTimeout(kill, options.timeoutMs ?? 120_000);
  const reader = child.stdout.getReader();
  // Read from the start: a stderr nobody reads would hold the call up.
  const stderr = new Response(child.stderr).text();
  const read = async () => (await reader.read()).value;
  return {
    pid: child.pid,
    async first() {
      const value = await read();
      assert.ok(value, "no output");
      return value;
    },
    async until(end: string) {
      const parts: Uint8Array[] = [];
      let tail = "";
      const decoder = new TextDecoder();
      for (let chunk = await read(); chunk; chunk = await read()) {
        parts.push(chunk);
        tail = (tail + decoder.decode(chunk, { stream: true })).slice(-100);
        if (tail.replaceAll("\r", "").includes(`\n${end}`)) break;
      }
      return new TextDecoder().decode(concatBytes(parts));
    },
    async count(bytes: number) {
      let got = 0;
      for (let chunk; got < bytes && (chunk = await read());) {
        got += chunk.length;
      }
      return got;
    },
    async rest() {
      const parts: Uint8Array[] = [];
      for (let chunk = await read(); chunk; chunk = await read()) {
        parts.push(chunk);
      }
      const { code } = await child.status;
      clearTimeout(killer);
      const bytes = concatBytes(parts);
      return {
        code,
        stdout: new TextDecoder().decode(bytes),
        bytes,
        stderr: await stderr,
      };
    },
    kill,
    async [Symbol.asyncDispose]() {
      clearTimeout(killer);
      kill();
      await child.status;
      await reader.cancel();
      await stderr;
    },
  };
}

/**
 * Checks that `--json` printed exactly one failure object and nothing else,
 * and returns its `error`.
 */
export function jsonFailure(
  result: CliResult,
  op: string,
): { code: string; message: string } {
  assert.match(
    result.stdout,
    /^[^\n]+\n$/,
    `one line on stdout: ${JSON.stringify(result.stdout)}`,
  );
  const value = JSON.parse(result.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(value).sort(), ["error", "ok", "op"]);
  assert.equal(value.ok, false);
  assert.equal(value.op, op);
  const error = value.error as { code: string; message: string };
  // Besides code and message, only the documented facts for scripts.
  const facts = ["code", "message", "sent", "name", "command_id", "cursor"];
  for (const key of Object.keys(error)) assert.ok(facts.includes(key), key);
  assert.equal(typeof error.message, "string");
  return error;
}
