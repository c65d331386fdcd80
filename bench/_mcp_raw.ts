/**
 * A bare MCP client for the bench: JSON-RPC lines written to `sessh mcp`'s
 * stdin and read from its stdout, with none of the SDK client's own work
 * (its schema checks of every message, and of each result against the
 * tool's output schema). Timed beside the SDK client, it tells the
 * server's share of a call from the client's.
 *
 * @module
 */
/** A started `sessh mcp` and a way to call its tools; disposing stops it. */
export interface RawMcp extends AsyncDisposable {
  /**
   * Calls a tool and returns its structured result; rejects on an error
   * result or when no reply comes within the deadline.
   */
  call(
    name: string,
    args: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
}

/**
 * Starts `sessh mcp` with `argv` and initializes it.
 *
 * @param argv The server's command line, program first.
 * @param env Its environment.
 * @param timeoutMs Deadline of each reply.
 * @returns The client.
 */
export async function startRawMcp(
  argv: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<RawMcp> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  const bytes = child.stdout.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  /** The next line of output, or null at its end. */
  const nextLine = async (): Promise<string | null> => {
    for (;;) {
      const end = buffered.indexOf("\n");
      if (end !== -1) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        return line;
      }
      const { value, done } = await bytes.read();
      if (done) return null;
      buffered += decoder.decode(value, { stream: true });
    }
  };
  const encoder = new TextEncoder();
  let lastId = 0;
  const send = (message: Record<string, unknown>) =>
    writer.write(
      encoder.encode(JSON.stringify({ jsonrpc: "2.0", ...message }) + "\n"),
    );
  const request = async (method: string, params: unknown) => {
    const id = ++lastId;
    await send({ id, method, params });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`sessh mcp: no reply to ${method} in time`)),
        timeoutMs,
      );
    });
    try {
      for (;;) {
        const line = await Promise.race([nextLine(), late]);
        if (line === null) {
          throw new Error(`sessh mcp ended before its ${method} reply`);
        }
        const reply = JSON.parse(line);
        if (reply.id !== id) continue; // a notification
        if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
        return reply.result;
      }
    } finally {
      clearTimeout(timer);
    }
  };
  const stop = async () => {
    await writer.close().catch(() => {});
    await child.status;
  };
  try {
    await request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "sessh-bench-raw", version: "1.0.0" },
    });
    await send({ method: "notifications/initialized" });
  } catch (error) {
    child.kill();
    await child.status;
    throw error;
  }
  return {
    async call(name, args) {
      const result = await request("tools/call", { name, arguments: args });
      if (result.isError) {
        throw new Error(
          `${name}: ${result.content?.map((c: { text: string }) => c.text)}`,
        );
      }
      return result.structuredContent;
    },
    [Symbol.asyncDispose]: stop,
  };
}
