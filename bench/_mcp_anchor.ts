/**
 * The MCP section of `deno task bench`: sessh's MCP `run` of `true` beside
 * the same command through ssh-mcp's `run-command`, the MCP server a model
 * would otherwise use for ssh, both on the bench's host and through its
 * relay; and sessh's again from a bare JSON-RPC client (`_mcp_raw.ts`), to
 * tell the server's share from the SDK client's. Both servers are long-lived and connected before timing starts,
 * so each call times one tool call as a model makes it.
 *
 * @module
 */
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { TestSshd } from "../tests/_sshd.ts";
import { call, CLI, connectMcp, type McpClient } from "../tests/_mcp.ts";
import { startRawMcp } from "./_mcp_raw.ts";
import type { Goal } from "./_report.ts";

/** The anchor: ssh-mcp, pinned so that runs stay comparable. */
export const SSH_MCP = "npm:ssh-mcp@2.11.0";

/** A timed case, shaped as the bench's own. */
export interface McpCase {
  /** Stable key, used in JSON. */
  key: string;
  /** What is timed, for the table. */
  label: string;
  /** Untimed work before each run: the idle pause of the `-idle` cases. */
  prepare?(): Promise<void>;
  /** Does it once; rejects when it fails. */
  once(): Promise<void>;
  /** Key of the case it is compared with. */
  anchor?: string;
  /** Bound on its median over the anchor's. */
  goal?: Goal;
}

/** The MCP cases and the servers behind them; disposing stops the servers. */
export interface McpCases extends AsyncDisposable {
  /** sessh's `run`, then ssh-mcp's `run-command` when it could start. */
  cases: McpCase[];
  /**
   * The same after {@linkcode IDLE_MS} idle, to be measured in rounds of
   * their own: amid the others, each pause would leave the case after it
   * to start on a machine gone cold.
   */
  idleCases: McpCase[];
}

/** Where the servers reach the host. */
export interface McpHost {
  /** The fixture. */
  sshd: TestSshd;
  /** The port ssh connects to: the relay's, or the sshd's own. */
  port: number;
  /** Delay the relay adds each way, in milliseconds (0: none). */
  delayMs: number;
}

/** What ssh-mcp logs in with. */
export interface SshMcpTarget {
  /** Address of the host. */
  host: string;
  /** Its ssh port. */
  port: number;
  /** Login user. */
  user: string;
  /** Private key file. */
  identity: string;
}

const CALL_TIMEOUT_MS = 30_000;

/**
 * The pause before each call of the `-idle` cases: a model thinks for
 * seconds between its tool calls, and every process a call crosses has
 * gone idle meanwhile (on a virtual machine, a wake-up from idle costs far
 * more than one from a busy loop). Those cases time the call as a model
 * makes it; the others time it amid the bench's other cases.
 */
export const IDLE_MS = 1000;

/**
 * The same case, run after {@linkcode IDLE_MS} of the bench doing nothing.
 *
 * @param base The case.
 * @param anchor Key of the case it is compared with, if any.
 * @returns The idle case, its key `BASE-idle`.
 *
 * @example
 * ```ts
 * import { afterIdle } from "./_mcp_anchor.ts";
 * const idle = afterIdle({ key: "mcp-run", label: "run", once: async () => {} });
 * console.log(idle.key, idle.label); // "mcp-run-idle" "run, after 1 s idle"
 * ```
 */
export function afterIdle(base: McpCase, anchor?: string): McpCase {
  return {
    key: `${base.key}-idle`,
    label: `${base.label}, after ${IDLE_MS / 1000} s idle`,
    prepare: () => new Promise((resolve) => setTimeout(resolve, IDLE_MS)),
    once: base.once,
    anchor,
  };
}
const START_TIMEOUT_MS = 120_000;

/**
 * The goal of sessh's MCP `run` over ssh-mcp's `run-command` (issue 21):
 * ≤ 0.1× on loopback, where ssh-mcp's own work dominates, and ≤ 0.5× once
 * the round trip counts (stated for 50 ms RTT, `--delay 25`).
 *
 * @param delayMs Delay the relay adds each way.
 * @returns The goal.
 *
 * @example
 * ```ts
 * import { mcpGoal } from "./_mcp_anchor.ts";
 * console.log(mcpGoal(0).text, mcpGoal(25).text); // "≤ 0.1×" "≤ 0.5×"
 * ```
 */
export function mcpGoal(delayMs: number): Goal {
  return delayMs === 0
    ? { max: 0.1, text: "≤ 0.1×" }
    : { max: 0.5, text: "≤ 0.5×" };
}

/**
 * ssh-mcp's command line for one host: its quick-start flags, which make a
 * single profile without a config file, with approval off (a `true` needs
 * none; the profile's tier is `dev`, where nothing asks).
 *
 * @param target The host and login.
 * @returns Arguments after the package name.
 *
 * @example
 * ```ts
 * import { sshMcpArgs } from "./_mcp_anchor.ts";
 * const args = sshMcpArgs({
 *   host: "127.0.0.1", port: 2222, user: "me", identity: "/k/id",
 * });
 * console.log(args[0]); // "--host=127.0.0.1"
 * ```
 */
export function sshMcpArgs(target: SshMcpTarget): string[] {
  return [
    `--host=${target.host}`,
    `--port=${target.port}`,
    `--user=${target.user}`,
    `--key=${target.identity}`,
    "--group=dev",
    "--disableApproval",
  ];
}

/**
 * The fixture's ssh config with its port changed, so that a destination
 * named in a tool call goes through the relay.
 *
 * @param config The fixture's ssh config.
 * @param port The port to reach instead.
 * @returns The new config.
 *
 * @example
 * ```ts
 * import { withPort } from "./_mcp_anchor.ts";
 * console.log(withPort("Host a\n  Port 22\n", 2200)); // "Host a\n  Port 2200\n"
 * ```
 */
export function withPort(config: string, port: number): string {
  if (!/^\s*Port \d+$/m.test(config)) {
    throw new Error("The ssh config names no Port to replace");
  }
  return config.replace(/^(\s*)Port \d+$/m, `$1Port ${port}`);
}

/**
 * The text of a tool result, or an error when it is one.
 *
 * @param result What `callTool` returned.
 * @returns Its text.
 *
 * @example
 * ```ts
 * import { resultText } from "./_mcp_anchor.ts";
 * console.log(resultText({ content: [{ type: "text", text: "ok" }] })); // "ok"
 * ```
 */
export function resultText(
  result: { content?: unknown; isError?: unknown },
): string {
  const text = ((result.content ?? []) as { text?: string }[])
    .map((c) => c.text ?? "").join("");
  if (result.isError) throw new Error(`The tool failed: ${text}`);
  return text;
}

/**
 * Starts both MCP servers and returns a case for each: sessh's `run` of
 * `true` (the source form of `sessh mcp`), and ssh-mcp's `run-command` of
 * `true`, its anchor. When ssh-mcp cannot be fetched or started (offline,
 * say) its case is left out and the sessh case's label says why.
 *
 * @param host Where the servers reach the host.
 * @param progress Reports progress.
 * @returns The cases; dispose them to stop the servers.
 */
export async function mcpCases(
  host: McpHost,
  progress: (message: string) => void,
): Promise<McpCases> {
  const { sshd, port, delayMs } = host;
  const stack = new AsyncDisposableStack();
  try {
    const config = `${sshd.dir}/mcp_anchor_config`;
    await writeReachableConfig(sshd, config, port);
    const sessh = stack.use(await connectMcp(sshd, ["-F", config]));
    const at = { session: "mcp-bench", destination: sshd.dest };
    const opened = await call(sessh, "open", at);
    if (opened.error) throw new Error(`sessh mcp open: ${opened.error}`);
    const seeded: McpCase = {
      key: "mcp-run",
      label: 'sessh mcp: run "true"',
      async once() {
        const result = await call(sessh, "run", { ...at, command: "true" });
        if (result.error || result.exit_code !== 0) {
          throw new Error(`sessh mcp run: ${result.error ?? result.text}`);
        }
      },
    };
    // The same server's work without the SDK client's: what a call costs
    // sessh, apart from what the model's client spends on it.
    const raw = stack.use(
      await startRawMcp(
        [Deno.execPath(), "run", "-A", "--quiet", CLI, "mcp", "-F", config],
        { ...Deno.env.toObject(), ...sshd.env },
        CALL_TIMEOUT_MS,
      ),
    );
    const rawAt = { session: "mcp-bench-raw", destination: sshd.dest };
    await raw.call("open", rawAt);
    const bare: McpCase = {
      key: "mcp-run-raw",
      label: 'sessh mcp: run "true", a bare JSON-RPC client',
      async once() {
        const result = await raw.call("run", { ...rawAt, command: "true" });
        if (result.exit_code !== 0) {
          throw new Error(`sessh mcp run (bare client): ${result.exit_code}`);
        }
      },
    };
    progress(`starting ${SSH_MCP} (fetched through Deno's npm cache)`);
    const anchor = await startSshMcp(sshd, port).catch((error: Error) => {
      progress(`${SSH_MCP} could not start; no MCP anchor: ${error.message}`);
      return error;
    });
    if (anchor instanceof Error) {
      seeded.label += ` (no anchor: ${SSH_MCP} did not start)`;
      return {
        cases: [seeded, bare],
        idleCases: [afterIdle(seeded)],
        [Symbol.asyncDispose]: () => stack.disposeAsync(),
      };
    }
    stack.use(anchor);
    const sshMcp: McpCase = {
      key: "ssh-mcp-run-command",
      label: `${SSH_MCP.slice(4)}: run-command "true"`,
      async once() {
        resultText(
          await anchor.callTool(
            { name: "run-command", arguments: { command: "true" } },
            undefined,
            { timeout: CALL_TIMEOUT_MS },
          ),
        );
      },
    };
    return {
      cases: [
        { ...seeded, anchor: sshMcp.key, goal: mcpGoal(delayMs) },
        bare,
        sshMcp,
      ],
      idleCases: [afterIdle(seeded, `${sshMcp.key}-idle`), afterIdle(sshMcp)],
      [Symbol.asyncDispose]: () => stack.disposeAsync(),
    };
  } catch (error) {
    await stack.disposeAsync();
    throw error;
  }
}

/**
 * Writes a copy of the fixture's ssh config that reaches `port`, with a
 * known_hosts that holds the host's key under that port too.
 */
async function writeReachableConfig(
  sshd: TestSshd,
  file: string,
  port: number,
): Promise<void> {
  const knownHosts = `${file}_known_hosts`;
  const key = sshd.hostPublicKey.split(" ").slice(0, 2).join(" ");
  await Deno.writeTextFile(knownHosts, `[127.0.0.1]:${port} ${key}\n`);
  const config = withPort(await Deno.readTextFile(sshd.configFile), port)
    .replace(sshd.knownHosts, knownHosts);
  await Deno.writeTextFile(file, config);
}

/**
 * Starts ssh-mcp on the host with a config and audit directory of its own,
 * and makes one `run-command` so that its connection is up before timing.
 */
async function startSshMcp(sshd: TestSshd, port: number): Promise<McpClient> {
  const home = `${sshd.dir}/ssh-mcp`;
  await Deno.mkdir(home, { recursive: true, mode: 0o700 });
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: [
      "run",
      "-A",
      "--quiet",
      // The package is no dependency of sessh: keep it out of deno.json's
      // imports and lock file.
      "--no-config",
      "--no-lock",
      SSH_MCP,
      ...sshMcpArgs({
        host: "127.0.0.1",
        port,
        user: sshd.user,
        identity: sshd.identity,
      }),
    ],
    env: {
      ...Deno.env.toObject(),
      XDG_CONFIG_HOME: `${home}/config`,
      XDG_DATA_HOME: `${home}/data`,
      DENO_NO_UPDATE_CHECK: "1",
    },
    cwd: home,
    stderr: "pipe",
  });
  let stderr = "";
  const client = new Client({ name: "sessh-bench", version: "1.0.0" });
  const closed = Object.assign(client, {
    [Symbol.asyncDispose]: () => client.close(),
  });
  try {
    const started = client.connect(transport, { timeout: START_TIMEOUT_MS });
    transport.stderr?.on("data", (chunk: Uint8Array) => {
      stderr = (stderr + new TextDecoder().decode(chunk)).slice(-2000);
    });
    await started;
    resultText(
      await client.callTool(
        { name: "run-command", arguments: { command: "true" } },
        undefined,
        { timeout: START_TIMEOUT_MS },
      ),
    );
    return closed;
  } catch (error) {
    await client.close().catch(() => {});
    // Deno says why first (no such package, no network); a trace follows.
    const said = stderr.trim().split("\n")[0];
    throw new Error(`${(error as Error).message}${said ? ` (${said})` : ""}`);
  }
}
