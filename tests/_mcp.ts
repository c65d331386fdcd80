/**
 * The MCP side of the tests: `sessh mcp` driven through the MCP SDK's own
 * client over stdio (optionally one that can put questions to a human, MCP
 * elicitation), and one raw `initialize` for the tests that check a form of
 * `sessh mcp` (source, bundle) answers and exits when its input ends.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { runCommand } from "../lib/process.ts";
import type { TestSshd } from "./_sshd.ts";

/** The CLI's source entry. */
export const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** A connected client; disposing it closes the server. */
export type McpClient = Client & AsyncDisposable;

/** Options of {@linkcode connectMcp}. */
export interface ConnectOptions {
  /**
   * Declare elicitation and answer each question with this (the message
   * is passed); absent: the client cannot elicit.
   */
  elicit?: (message: string) => "accept" | "decline" | "cancel";
}

/**
 * An MCP client connected to `sessh mcp FLAGS…` for the fixture.
 *
 * @param sshd The fixture (its ssh config, unless the flags name `-F`).
 * @param flags Flags of `sessh mcp`.
 * @param env More environment for the server.
 * @param options Whether and how the client answers elicitation.
 * @returns The client.
 */
export async function connectMcp(
  sshd: TestSshd,
  flags: string[] = [],
  env: Record<string, string> = {},
  options: ConnectOptions = {},
): Promise<McpClient> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: [
      "run",
      "-A",
      "--quiet",
      CLI,
      "mcp",
      ...(flags.includes("-F") ? [] : ["-F", sshd.configFile]),
      ...flags,
    ],
    env: { ...Deno.env.toObject(), ...sshd.env, ...env },
    stderr: "pipe",
  });
  const elicit = options.elicit;
  const client = new Client(
    { name: "sessh-test", version: "1.0.0" },
    elicit ? { capabilities: { elicitation: {} } } : {},
  );
  if (elicit) {
    client.setRequestHandler(
      ElicitRequestSchema,
      (request: { params: { message: string } }) => {
        const action = elicit(request.params.message);
        return action === "accept" ? { action, content: {} } : { action };
      },
    );
  }
  await client.connect(transport);
  return Object.assign(client, {
    [Symbol.asyncDispose]: () => client.close(),
  });
}

/**
 * Calls a tool.
 *
 * @param client The client.
 * @param name The tool.
 * @param args Its arguments.
 * @param options Progress callback.
 * @returns Its structured result and text, or its error text as `error`.
 */
export async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  options: {
    onprogress?: (p: { progress: number; message?: string }) => void;
  } = {},
): Promise<Record<string, unknown> & { error?: string; text: string }> {
  const result = await client.callTool(
    { name, arguments: args },
    undefined,
    { onprogress: options.onprogress, timeout: 120_000 },
  );
  const text = (result.content as { type: string; text: string }[])
    .map((c) => c.text).join("");
  if (result.isError) return { error: text, text };
  return { ...(result.structuredContent as Record<string, unknown>), text };
}

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
