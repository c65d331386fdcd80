/**
 * The floor under any MCP server in Deno on stdio: a line written to a
 * second Deno process's stdin and the same line read back from its stdout,
 * with nothing done in between. `sessh mcp`'s `run` is this hop plus the
 * library's `session.run` plus the server's own work (the SDK's dispatch
 * and checks, the tool); timed in the same rounds, the three tell apart
 * what sessh could cut from what starting two processes' work costs.
 *
 * @module
 */

/** A started echo process; disposing it ends it. */
export interface StdioHop extends AsyncDisposable {
  /** Writes one line and waits until it has all come back. */
  once(): Promise<void>;
}

/**
 * The echo: reads stdin as `StdinTransport` does (one kept buffer) and
 * writes what it read with `writeSync`, as the transport writes a reply.
 */
const ECHO = `
const buffer = new Uint8Array(64 * 1024);
for (;;) {
  const n = await Deno.stdin.read(buffer);
  if (n === null) break;
  let rest = buffer.subarray(0, n);
  while (rest.length > 0) rest = rest.subarray(Deno.stdout.writeSync(rest));
}
`;

/**
 * A line the size of a `tools/call` of `run` (the reply is about as long).
 */
const LINE = new TextEncoder().encode(
  JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: {
      name: "run",
      arguments: { session: "s", destination: "host", command: "true" },
      padding: "x".repeat(120),
    },
  }) + "\n",
);

/**
 * Starts the echo process, read as the bench's bare MCP client reads
 * `sessh mcp` (a stream reader on the child's stdout).
 *
 * @param timeoutMs Deadline of each line's return.
 * @returns The hop.
 *
 * @example
 * ```ts ignore
 * import { startStdioHop } from "./_stdio_hop.ts";
 * await using hop = await startStdioHop(10_000);
 * await hop.once(); // well under a millisecond on an idle machine
 * ```
 */
export async function startStdioHop(timeoutMs: number): Promise<StdioHop> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", ECHO],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  const once = async () => {
    await writer.write(LINE);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("The stdio echo did not answer in time")),
        timeoutMs,
      );
    });
    try {
      for (let got = 0; got < LINE.length;) {
        const { value, done } = await Promise.race([reader.read(), late]);
        if (done) throw new Error("The stdio echo ended");
        got += value.length;
      }
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    await once(); // the process has started and answers
  } catch (error) {
    child.kill();
    await child.status;
    throw error;
  }
  return {
    once,
    async [Symbol.asyncDispose]() {
      await writer.close().catch(() => {});
      await child.status;
    },
  };
}
