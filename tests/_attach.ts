/**
 * Runs `sessh attach` in a real terminal for the attach tests.
 *
 * @module
 */
import type { TestSshd } from "./_sshd.ts";
import { startPane, type TmuxPane } from "./_tmux.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** A shell prompt at the end of a screen line (bash and dash as root: `# `). */
export const PROMPT = /[#$]$/m;

/**
 * `sessh attach ARGS…` in a fresh terminal of `cols`×`rows`, with the
 * fixture's ssh config and environment.
 *
 * @param sshd The fixture.
 * @param args Arguments after `attach`.
 * @param options Terminal size and extra environment.
 * @returns The pane running it.
 */
export function attach(
  sshd: TestSshd,
  args: string[],
  options: {
    cols?: number;
    rows?: number;
    env?: Record<string, string>;
    /** The verb run instead of `attach`: `watch`. */
    verb?: string;
  } = {},
): Promise<TmuxPane> {
  return startPane(
    [
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      CLI,
      options.verb ?? "attach",
      ...args,
      "-F",
      sshd.configFile,
    ],
    { ...options, env: { ...sshd.env, ...options.env } },
  );
}

/**
 * Types a command line and presses Enter.
 *
 * @param pane The pane.
 * @param line The text to type.
 */
export async function enter(pane: TmuxPane, line: string): Promise<void> {
  await pane.type(line);
  await pane.keys("Enter");
}
