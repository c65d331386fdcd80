/**
 * What sessh is compared against, over the same ControlMaster sessh uses:
 * a bare `ssh DEST true`, and the tmux round trip of the original bash
 * sessh (one ssh call that types a command and polls the pane for its
 * output).
 *
 * @module
 */
import { runCommand } from "../lib/process.ts";

/** An existing ControlMaster and how to address it. */
export interface MasterTarget {
  /** ssh config file, passed as `-F`. */
  configFile: string;
  /** The master's control socket. */
  controlPath: string;
  /** Destination as named in the config file. */
  dest: string;
}

/** Runs one command on the remote host; rejects unless it exits 0. */
export type RemoteRunner = (command: string) => Promise<void>;

/**
 * Fails unless a master answers on the target's socket, so that the
 * baselines can never silently open connections of their own.
 *
 * @param target The master.
 * @param timeoutMs How long `ssh -O check` may take.
 */
export async function checkMaster(
  target: MasterTarget,
  timeoutMs: number,
): Promise<void> {
  const argv = [...sshPrefix(target), "-O", "check", target.dest];
  const result = await runCommand(argv, { timeoutMs });
  if (result.code !== 0) {
    throw new Error(
      `No ControlMaster answers on "${target.controlPath}": ${
        stderrOf(result)
      }`,
    );
  }
}

/**
 * A runner that makes one `ssh -S SOCKET DEST COMMAND` call per command,
 * multiplexed over the target's master.
 *
 * @param target The master.
 * @param timeoutMs How long each call may take before it is killed.
 * @returns The runner.
 *
 * @example
 * ```ts ignore
 * import { muxSsh } from "./_baselines.ts";
 * const remote = muxSsh({ configFile, controlPath, dest: "box" }, 30_000);
 * await remote("true");
 * ```
 */
export function muxSsh(target: MasterTarget, timeoutMs: number): RemoteRunner {
  const prefix = [...sshPrefix(target), "-o", "ControlMaster=no", target.dest];
  return async (command) => {
    const result = await runCommand([...prefix, command], { timeoutMs });
    if (result.code !== 0) {
      throw new Error(
        `ssh ${target.dest} ${JSON.stringify(command)} exited ${result.code}: ${
          stderrOf(result)
        }`,
      );
    }
  };
}

/** A tmux session on the remote host, driven as the bash sessh drove it. */
export interface TmuxBaseline extends AsyncDisposable {
  /** Types a command that prints a fresh marker, and waits until the pane shows it. */
  roundTrip(): Promise<void>;
}

/**
 * Starts a detached tmux session on the remote host, on a tmux server of
 * its own (`tmux -L sessh-bench-PID`, no config file) so that nothing of
 * the user's is touched. Disposing it kills that server and removes its
 * socket.
 *
 * @param remote Runs commands on the host.
 * @returns The baseline.
 *
 * @example
 * ```ts ignore
 * import { muxSsh, startTmuxBaseline } from "./_baselines.ts";
 * await using tmux = await startTmuxBaseline(muxSsh(target, 30_000));
 * await tmux.roundTrip();
 * ```
 */
export async function startTmuxBaseline(
  remote: RemoteRunner,
): Promise<TmuxBaseline> {
  const tmux = `tmux -L sessh-bench-${Deno.pid}`;
  await remote(`${tmux} -f /dev/null new-session -d -s bench -x 160 -y 48`);
  let count = 0;
  return {
    roundTrip: () => remote(roundTripScript(tmux, ++count)),
    async [Symbol.asyncDispose]() {
      // tmux leaves its socket file behind. Best effort: should ssh fail,
      // the sshd fixture's sweep still kills the server, which inherited
      // the fixture's remote environment.
      await remote(
        `socket=$(${tmux} display-message -p '#{socket_path}') && ` +
          `${tmux} kill-server && rm -f "$socket"`,
      ).catch(() => {});
    },
  };
}

/**
 * The remote script of one tmux round trip. The typed line reads
 * `echo BENCH-$((7))-done`, so only the shell's output contains the marker
 * `BENCH-7-done` that the loop waits for.
 *
 * @param tmux The tmux command with its socket option.
 * @param n A number not used before on this server.
 * @returns A POSIX shell script.
 *
 * @example
 * ```ts
 * import { roundTripScript } from "./_baselines.ts";
 * console.log(roundTripScript("tmux", 7).includes("grep -qx BENCH-7-done")); // true
 * ```
 */
export function roundTripScript(tmux: string, n: number): string {
  return `${tmux} send-keys -t bench 'echo BENCH-$((${n}))-done' Enter; ` +
    `while ! ${tmux} capture-pane -p -t bench | grep -qx BENCH-${n}-done; ` +
    "do sleep 0.01; done";
}

function sshPrefix(target: MasterTarget): string[] {
  return ["ssh", "-F", target.configFile, "-S", target.controlPath];
}

function stderrOf(result: { stderr: Uint8Array }): string {
  return new TextDecoder().decode(result.stderr).trim() || "no message";
}
