/**
 * A file's bytes as a raw stream over an exec channel of the master
 * (`ssh -S CTL DEST -- cat`), each way: the ceiling of any copy through the
 * master that does without sftp's protocol, beside `scp` in `bench:bulk`.
 * Two ways to feed it: the shell's redirection, where ssh reads or writes
 * the file itself, and a Deno pipe, where the bytes pass through this
 * process as they would through the command line's (issue 21: a raw path
 * for `cp` pays only if the second beats `scp`).
 *
 * @module
 */

/** How long one copy may take before it is an error. */
const RAW_TIMEOUT_MS = 600_000;

/** The remote path and the mux client's argv, for both ways. */
export interface RawChannel {
  /** `ssh` with the mux options and the destination, no command. */
  ssh: string[];
  /** The environment ssh runs in. */
  env: Record<string, string>;
}

/**
 * Sends `local` to `remote` with `cat` on the host, the file on ssh's stdin
 * by the shell's redirection (`via: "shell"`) or through a pipe of this
 * process (`via: "pipe"`).
 *
 * @param channel The mux client and its environment.
 * @param local The local file.
 * @param remote The path on the host (the fixture's own: a word of the
 *   remote command line).
 * @param via Who reads the file.
 *
 * @example
 * ```ts ignore
 * import { rawUp } from "./_raw_channel.ts";
 * await rawUp({ ssh: ["ssh", "-S", "/tmp/ctl", "box"], env: {} }, "a.bin", "/tmp/a.bin", "pipe");
 * ```
 */
export async function rawUp(
  channel: RawChannel,
  local: string,
  remote: string,
  via: "shell" | "pipe",
): Promise<void> {
  const argv = [...channel.ssh, "--", "cat", ">", remote];
  if (via === "shell") {
    await finished(shellRedirected(argv, "<", local), channel.env, argv);
    return;
  }
  const child = spawned(argv, channel.env, { stdin: "piped" });
  // The file's readable closes it once read.
  const file = await Deno.open(local);
  await file.readable.pipeTo(child.stdin);
  await ended(child, argv);
}

/**
 * Fetches `remote` into `local` with `cat` on the host, ssh's stdout the
 * file by the shell's redirection (`via: "shell"`) or a pipe this process
 * writes the file from (`via: "pipe"`).
 *
 * @param channel The mux client and its environment.
 * @param remote The path on the host.
 * @param local The local file, replaced in place.
 * @param via Who writes the file.
 *
 * @example
 * ```ts ignore
 * import { rawDown } from "./_raw_channel.ts";
 * await rawDown({ ssh: ["ssh", "-S", "/tmp/ctl", "box"], env: {} }, "/tmp/a.bin", "a.bin", "pipe");
 * ```
 */
export async function rawDown(
  channel: RawChannel,
  remote: string,
  local: string,
  via: "shell" | "pipe",
): Promise<void> {
  const argv = [...channel.ssh, "--", "cat", remote];
  if (via === "shell") {
    await finished(shellRedirected(argv, ">", local), channel.env, argv);
    return;
  }
  const child = spawned(argv, channel.env, { stdout: "piped" });
  const file = await Deno.open(local, {
    write: true,
    create: true,
    truncate: true,
  });
  // pipeTo closes the file once the stream ends.
  await child.stdout.pipeTo(file.writable);
  await ended(child, argv);
}

/** `sh -c 'exec "$@" < FILE'`, the file a word of its own. */
function shellRedirected(
  argv: string[],
  redirect: "<" | ">",
  file: string,
): string[] {
  return [
    "sh",
    "-c",
    `f=$1; shift; exec "$@" ${redirect} "$f"`,
    "sh",
    file,
    ...argv,
  ];
}

function spawned(
  argv: string[],
  env: Record<string, string>,
  pipes: { stdin?: "piped"; stdout?: "piped" },
): Deno.ChildProcess {
  return new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdin: pipes.stdin ?? "null",
    stdout: pipes.stdout ?? "null",
    stderr: "piped",
    signal: AbortSignal.timeout(RAW_TIMEOUT_MS),
  }).spawn();
}

async function finished(
  argv: string[],
  env: Record<string, string>,
  shown: string[],
): Promise<void> {
  await ended(spawned(argv, env, {}), shown);
}

async function ended(child: Deno.ChildProcess, argv: string[]): Promise<void> {
  const [{ code }, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).bytes(),
  ]);
  if (code !== 0) {
    throw new Error(
      `${argv.join(" ")} exited ${code}: ${new TextDecoder().decode(stderr)}`,
    );
  }
}
