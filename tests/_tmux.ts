/**
 * Drives a program inside a real terminal, as a person would: tmux runs it
 * in a detached pane of a private server; tests type with send-keys and read
 * the screen with capture-pane.
 *
 * @module
 */
import { runCommand } from "../lib/process.ts";

let counter = 0;

/** A pane running one program. */
export interface TmuxPane extends AsyncDisposable {
  /** The private tmux server's socket name (`tmux -L NAME`). */
  readonly socket: string;
  /** Types text literally (no key names). */
  type(text: string): Promise<void>;
  /** Presses keys by tmux name (`Enter`, `C-b`, …). */
  keys(...keys: string[]): Promise<void>;
  /** The visible screen, one string per line, trailing blanks trimmed. */
  screen(): Promise<string>;
  /**
   * Captures the screen every `pollMs` until it matches; throws with the
   * screen shown after `timeoutMs`.
   */
  waitFor(
    pattern: RegExp,
    timeoutMs?: number,
    pollMs?: number,
  ): Promise<string>;
  /** Waits until the program exits and returns its exit status (shown on the screen). */
  exitStatus(timeoutMs?: number): Promise<number>;
  /** Resizes the window (the program gets SIGWINCH). */
  resize(cols: number, rows: number): Promise<void>;
  /** Process id of the program. */
  pid(): Promise<number>;
  /** Whether the program switched the terminal to its alternate screen. */
  altScreen(): Promise<boolean>;
}

async function tmux(socket: string, args: string[]): Promise<string> {
  const out = await runCommand(["tmux", "-L", socket, ...args], {
    timeoutMs: 10_000,
  });
  const decoder = new TextDecoder();
  if (out.code !== 0) {
    throw new Error(
      `tmux ${args[0]} exited ${out.code}: ${
        decoder.decode(out.stderr).trim()
      }`,
    );
  }
  return decoder.decode(out.stdout);
}

/**
 * Starts `argv` in a fresh tmux server with a `cols`×`rows` window.
 *
 * @param argv The program and its arguments.
 * @param options Size and environment.
 * @returns The pane.
 */
export async function startPane(
  argv: string[],
  options: { cols?: number; rows?: number; env?: Record<string, string> } = {},
): Promise<TmuxPane> {
  const socket = `sessh-test-${Deno.pid}-${counter++}`;
  const env = Object.entries({ TERM: "xterm-256color", ...options.env })
    .flatMap((
      [k, v],
    ) => ["-e", `${k}=${v}`]);
  await tmux(socket, [
    "-f",
    "/dev/null",
    "new-session",
    "-d",
    "-x",
    String(options.cols ?? 100),
    "-y",
    String(options.rows ?? 30),
    ...env,
    "--",
    // The exit status is printed by a wrapper shell: tmux does not always
    // report it for a dead pane.
    "sh",
    "-c",
    '"$@"; echo "[exit status $?]"; exec sleep 86400',
    "sh",
    // tmux gives a new pane its client's PATH, whatever -e says.
    ...(options.env?.PATH === undefined
      ? []
      : ["env", `PATH=${options.env.PATH}`]),
    ...argv,
  ]);
  // Control-mode clients (the attach benchmark's) must not resize the window.
  await tmux(socket, ["set-option", "-g", "window-size", "manual"]);
  const socketPath =
    (await tmux(socket, ["display-message", "-p", "#{socket_path}"])).trim();
  const pane: TmuxPane = {
    async type(text) {
      await tmux(socket, ["send-keys", "-l", "--", text]);
    },
    async keys(...keys) {
      await tmux(socket, ["send-keys", "--", ...keys]);
    },
    async screen() {
      const text = await tmux(socket, ["capture-pane", "-p"]);
      return text.split("\n").map((l) => l.trimEnd()).join("\n").trimEnd();
    },
    socket,
    async waitFor(pattern, timeoutMs = 15_000, pollMs = 50) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      while (Date.now() < deadline) {
        last = await pane.screen();
        if (pattern.test(last)) return last;
        await new Promise((r) => setTimeout(r, pollMs));
      }
      throw new Error(`screen never matched ${pattern}; it shows:\n${last}`);
    },
    async exitStatus(timeoutMs = 15_000) {
      const screen = await pane.waitFor(/^\[exit status \d+\]$/m, timeoutMs);
      return Number(/^\[exit status (\d+)\]$/m.exec(screen)![1]);
    },
    async resize(cols, rows) {
      await tmux(socket, [
        "resize-window",
        "-x",
        String(cols),
        "-y",
        String(rows),
      ]);
    },
    async pid() {
      // The wrapper shell's child: the program itself.
      const shell =
        (await tmux(socket, ["display-message", "-p", "#{pane_pid}"])).trim();
      const children = await Deno.readTextFile(
        `/proc/${shell}/task/${shell}/children`,
      );
      return Number(children.trim().split(" ")[0]);
    },
    async altScreen() {
      return (await tmux(socket, ["display-message", "-p", "#{alternate_on}"]))
        .trim() === "1";
    },
    async [Symbol.asyncDispose]() {
      await tmux(socket, ["kill-server"]).catch(() => {});
      // tmux leaves its socket file behind.
      await Deno.remove(socketPath).catch(() => {});
    },
  };
  return pane;
}
