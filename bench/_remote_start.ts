/**
 * The helper's start on a host new to it, without ssh: the bridge's remote
 * command run by `sh -c` on this machine, in an empty cache, runtime, state
 * and home directory, the helper pushed and the hello behind it, as a cold
 * call sends them; timed until the hello's reply. This is sessh's own part
 * of a cold call on the remote side (loader, unpacking, the bridge's and the
 * daemon's imports, the daemon's start), measured without the variance of
 * an ssh login around it. `python3 -S -c pass` run the same way is its
 * floor: the interpreter's own start.
 *
 * @module
 */
import { bridgeCommand, handshake } from "../lib/remote/bootstrap.ts";
import { encodeFrame, FrameDecoder } from "../lib/protocol/frame.ts";
import { OPS, PROTOCOL_VERSION } from "../lib/contract/spec.ts";

/** How long one start may take before the bench gives up. */
const START_TIMEOUT_MS = 20_000;

/** One start's times, milliseconds from the spawn. */
export interface RemoteStart {
  /** The bridge's greeting read: the daemon found or forked. */
  greeted: number;
  /** The hello's reply read: the daemon serves. */
  replied: number;
}

/**
 * Runs the helper's bridge once on this machine, as a first call runs it on
 * a host new to it, and stops the daemon it started.
 *
 * @returns When its greeting and the hello's reply came.
 * @throws {Error} When it ends, or takes over 20 s, before replying.
 */
export async function remoteStart(): Promise<RemoteStart> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "sessh-start-" });
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "" };
  for (const [key, sub] of Object.entries(DIRS)) {
    env[key] = `${dir}/${sub}`;
    await Deno.mkdir(env[key], { mode: 0o700 });
  }
  const started = performance.now();
  const child = new Deno.Command("sh", {
    args: ["-c", bridgeCommand({ pushHelper: true })],
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), START_TIMEOUT_MS);
  const reader = child.stdout.getReader();
  const writer = child.stdin.getWriter();
  let daemon = 0;
  try {
    const hello = encodeFrame({
      op: OPS.hello,
      id: 1,
      version: PROTOCOL_VERSION,
    });
    const { leftover } = await handshake(reader, writer, {
      pushHelper: true,
      behind: hello,
    });
    const greeted = performance.now() - started;
    const decoder = new FrameDecoder();
    let chunk = leftover;
    while (true) {
      const reply = decoder.push(chunk).find((m) => m.id === 1);
      if (reply) {
        daemon = Number(reply.pid);
        if (!reply.ok) throw new Error(`hello failed: ${reply.message}`);
        return { greeted, replied: performance.now() - started };
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("the bridge ended before the hello's reply");
      chunk = value;
    }
  } finally {
    clearTimeout(timer);
    // The daemon is detached from the bridge, which ends once it is gone.
    if (daemon > 0) {
      try {
        Deno.kill(daemon, "SIGKILL");
      } catch { /* gone */ }
    }
    await writer.close().catch(() => {});
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * The floor of {@linkcode remoteStart}: the same interpreter started the
 * same way, running nothing.
 *
 * @returns Milliseconds from the spawn to its end.
 * @throws {Error} When it exits other than 0.
 */
export async function pythonStart(): Promise<number> {
  const started = performance.now();
  const { code } = await new Deno.Command("sh", {
    args: ["-c", 'PATH="/usr/bin:/bin:$PATH" exec python3 -S -c pass'],
    stdout: "null",
    stderr: "null",
  }).output();
  if (code !== 0) throw new Error(`python3 -S -c pass exited ${code}`);
  return performance.now() - started;
}

/** The directories of a first start, each empty, by the variable naming it. */
const DIRS = {
  HOME: "home",
  XDG_CACHE_HOME: "cache",
  XDG_RUNTIME_DIR: "run",
  XDG_STATE_HOME: "state",
};
