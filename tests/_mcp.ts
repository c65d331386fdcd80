/**
 * One MCP `initialize` over a server's stdin, for the tests that check a
 * form of `sessh mcp` (source, bundle) answers and exits when its input ends.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runCommand } from "../lib/process.ts";

/**
 * Runs `argv`, writes one `initialize` request and closes its stdin.
 *
 * @param argv The server's argv, program first.
 * @param options Working directory and environment.
 * @returns The server's reply, once it exited 0.
 */
export async function initializeOverStdio(
  argv: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<
  Record<string, unknown> & {
    id: number;
    result: Record<string, { name: string }>;
  }
> {
  const result = await runCommand(argv, {
    ...options,
    timeoutMs: 60_000,
    stdin: new TextEncoder().encode(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "test", version: "1" },
        },
      }) + "\n",
    ),
  });
  assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
  return JSON.parse(new TextDecoder().decode(result.stdout).trim());
}
