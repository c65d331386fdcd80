/**
 * Reading a command's stdout until a number of bytes came: how the benches
 * time `logs --follow`, which never ends by itself, and `ssh DEST cat` of
 * the same bytes beside it.
 *
 * @module
 */

/** How long one read-through may take before the command is killed. */
const DRAIN_TIMEOUT_MS = 600_000;

/**
 * Runs `argv`, reads `bytes` of its stdout and drops them, then kills it
 * (a follower never ends by itself) and waits for its end. A command that
 * ends first, or has not printed them within 10 minutes, is an error.
 *
 * @param argv The command and its arguments.
 * @param env Its environment.
 * @param bytes How many bytes to read.
 *
 * @example
 * ```ts ignore
 * import { drainBytes } from "./_drain.ts";
 * await drainBytes(["sh", "-c", "yes | head -c 4096"], {}, 4096);
 * ```
 */
export async function drainBytes(
  argv: string[],
  env: Record<string, string>,
  bytes: number,
): Promise<void> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const stop = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // It has ended already (`cat` does, once its file is out).
    }
  };
  const stuck = setTimeout(stop, DRAIN_TIMEOUT_MS);
  const reader = child.stdout.getReader();
  let got = 0;
  try {
    while (got < bytes) {
      const { value, done } = await reader.read();
      if (done) break;
      got += value.length;
    }
  } finally {
    clearTimeout(stuck);
    stop();
    reader.releaseLock();
    await child.stdout.cancel();
    await child.status;
  }
  if (got < bytes) {
    throw new Error(`${argv.join(" ")} ended after ${got} of ${bytes} bytes`);
  }
}
