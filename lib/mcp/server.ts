/**
 * `sessh mcp`: the sessions as a stdio MCP server, a thin skin over the
 * library like the command line. Each tool takes the destination and the
 * session, returns a structured result (with an output schema) and readable
 * text, and bounds its output. The operator limits the hosts
 * (`--allow-host`, see `allow_host.ts`), offers only the tools that observe
 * (`--read-only`, see `annotations.ts`), keeps the file tools inside local
 * directories (`--allow-local-dir`), and names the environment variables and
 * files `type_secret` may read (`--allow-secret-env`, `--allow-secret-file`;
 * without one, `type_secret` is not offered): the model gives a name, never
 * a secret. Profiles (`--profiles`, see `profiles.ts` and `policy.ts`) set
 * these limits per destination; `--confirm` and `--confirm-command` have a
 * human approve a call first (`approval.ts`); `--audit` logs every call
 * (`audit.ts`). The model is not trusted: every name, destination and path
 * it sends is checked before anything runs.
 *
 * @module
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { SesshClient } from "../session/client.ts";
import type { Session } from "../session/session.ts";
import { SesshError } from "../errors.ts";
import { wellFormed } from "../well_formed.ts";
import { TOOL_HINTS, type ToolName } from "./annotations.ts";
import {
  confirmFlags,
  everywhereReadOnly,
  type OperatorPolicy,
  rulesFor,
} from "./policy.ts";
import { readProfiles } from "./profiles.ts";
import { APPROVAL_TIMEOUT_MS, askApproval, needsApproval } from "./approval.ts";
import { AuditLog, type Decision } from "./audit.ts";
import { confinedPath, realRoots } from "./local_paths.ts";
import { baseName } from "../session/files.ts";
import { callPathJson, statusJson } from "../report/format.ts";
import {
  commandJson,
  commandResultJson,
  logsJson,
  openJson,
  runJson,
  screenJson,
  transferJson,
  waitJson,
} from "../report/result_json.ts";
import { fanOut } from "../fleet/fan_out.ts";
import { checkParallel } from "../fleet/limits.ts";
import { summarize } from "../fleet/summary.ts";
import { MAX_HOSTS } from "../fleet/host_set.ts";
import { fleetSummaryJson } from "../report/fleet_json.ts";
import {
  CALL_PATH,
  CLOSE_RESULT,
  COMMAND_RECORD,
  COMMAND_RESULT,
  FILE_TRANSFER,
  FLEET_HOST,
  FLEET_SUMMARY,
  KEYS_RESULT,
  LOGS_RESULT,
  OPEN_RESULT,
  RUN_RESULT,
  SCREEN_RESULT,
  SECRET_RESULT,
  SEND_RESULT,
  SESSION_INFO,
  WAIT_RESULT,
} from "../report/shapes.ts";
import { zodShape } from "./output_schema.ts";
import { StdinTransport } from "./stdio.ts";

/** What the operator allows, from `sessh mcp`'s flags. */
export interface McpPolicy {
  /**
   * Host patterns (`*` any run of characters), or `user@host` patterns;
   * empty: any host. See {@linkcode hostAllowed}.
   */
  allowHosts: string[];
  /** Offer only the tools that observe (`readOnlyHint` in `annotations.ts`). */
  readOnly: boolean;
  /** Tools that ask the human before they act (`--confirm`). */
  confirm?: string[];
  /**
   * Regular expressions; a `run`, `send` or `keys` call whose command
   * matches one asks the human first (`--confirm-command`).
   */
  confirmCommand?: string[];
  /** The JSON file of per-destination profiles (`--profiles`). */
  profilesFile?: string;
  /** The file every call is logged to, one JSON line each (`--audit`). */
  auditFile?: string;
  /** Environment variables `type_secret` may read. */
  secretEnv: string[];
  /** Files `type_secret` may read. */
  secretFiles: string[];
  /**
   * Local directories `upload` reads from and `download` writes into; empty:
   * the server's working directory.
   */
  localDirs: string[];
  /** The environment (ssh settings, and the allowed secrets). */
  env: Record<string, string | undefined>;
  /** ssh config file, as `-F`. */
  configFile?: string;
  /** The version the server reports. */
  version: string;
}

/** A tool's outcome: readable text and the structured result. */
interface ToolOutcome {
  text: string;
  structured: Record<string, unknown>;
}

/**
 * The arguments that name something (a host, a session, a shell, a file):
 * NUL or invalid UTF-8 in them is refused before the tool runs.
 */
const CHECKED_FIELDS = [
  "destination",
  "session",
  "shell",
  "local_path",
  "remote_path",
  "env_var",
  "file",
] as const;

/** The workflow, said once for every tool. */
export const INSTRUCTIONS = [
  "sessh keeps shells alive on remote hosts. Every tool takes a destination",
  "(user@host, ssh://user@host:port or an ssh config alias) and most a session",
  "name; a session keeps its directory, variables and background jobs between",
  "calls, and run opens it when it is missing. run returns a command's output",
  "and exit code; one that outlasts timeout_seconds keeps running: poll it with",
  "result, or wait with done: true. Drive a REPL or answer a prompt with send,",
  "then read the reply with wait and for. Type passwords with type_secret,",
  "never with send. logs, screen, status, list, result and history only read.",
  "The operator may limit the hosts, make some read-only, or have a human",
  "approve some calls; a refused call says why, and retrying will not help.",
].join(" ");

const where = {
  destination: z.string().describe(
    "ssh destination: user@host, ssh://user@host:port or an ssh config alias",
  ),
  session: z.string().describe(
    "session name: 1 to 64 letters, digits, ., _ or -",
  ),
};
/**
 * The hosts a call names: `destinations` (the `run` tool's many) or the
 * one `destination`, never both.
 */
function destinationsOf(
  args: { destination?: unknown; destinations?: unknown },
): string[] {
  if (args.destinations === undefined) {
    if (typeof args.destination !== "string") {
      throw new SesshError("usage", "Give a destination");
    }
    return [args.destination];
  }
  if (args.destination !== undefined) {
    throw new SesshError(
      "usage",
      "Give destination or destinations, not both",
    );
  }
  return [...new Set(args.destinations as string[])];
}

/**
 * The model's copies go through the daemon, never sftp: a download's bytes
 * are written through the descriptor of the part sessh made (exclusively,
 * in a directory judged as it is made), where sftp would open the part
 * again by name and follow a link put there meanwhile; an upload's file is
 * opened right after it is judged, not seconds later by another program.
 * The model is untrusted, and with a destination that is this machine its
 * `run` can put such a link in place.
 */
const THROUGH_DAEMON = "helper";

const maxOutput = z.number().int().min(1024).max(10 << 20).optional()
  .describe(
    "largest output text to return in bytes (default 102400); head and tail are kept",
  );

/**
 * Serves the MCP protocol on stdin and stdout until stdin ends.
 *
 * @param policy What the operator allows.
 */
export async function serveMcp(policy: McpPolicy): Promise<void> {
  const { server, disconnect } = buildMcpServer(policy);
  // It closes when its input ends: the client hung up.
  const transport = new StdinTransport();
  const closed = new Promise<void>((resolve) => transport.onclose = resolve);
  await server.connect(transport);
  await closed;
  await disconnect();
}

/**
 * The MCP server with sessh's tools, not yet connected.
 *
 * @param policy What the operator allows.
 * @returns The server, and how to close the connections its tools opened.
 */
export function buildMcpServer(
  policy: McpPolicy,
): { server: McpServer; disconnect: () => Promise<void> } {
  // Every flag and file is judged before the server answers anything.
  const operator: OperatorPolicy = {
    allowHosts: policy.allowHosts,
    readOnly: policy.readOnly,
    ...confirmFlags(policy.confirm ?? [], policy.confirmCommand ?? []),
    profiles: policy.profilesFile === undefined
      ? undefined
      : readProfiles(policy.profilesFile),
  };
  const audit = policy.auditFile === undefined
    ? undefined
    : AuditLog.open(policy.auditFile);
  for (const name of policy.secretEnv) audit?.redact(policy.env[name] ?? "");
  const server = new McpServer(
    { name: "sessh", version: policy.version },
    { instructions: INSTRUCTIONS },
  );
  const clients = new Map<string, Promise<SesshClient>>();

  /** A connection to a destination the gate below has let through. */
  const client = (destination: string): Promise<SesshClient> => {
    let connecting = clients.get(destination);
    if (!connecting) {
      connecting = SesshClient.connect({
        destination,
        env: policy.env,
        ssh: policy.configFile ? { configFile: policy.configFile } : {},
      });
      clients.set(destination, connecting);
      connecting.catch(() => clients.delete(destination));
    }
    return connecting;
  };
  /** The session handle, on a connection that works (a lost one is replaced). */
  const session = async (args: { destination: string; session: string }) => {
    let c = await client(args.destination);
    if (c.connection.lostError) {
      clients.delete(args.destination);
      c = await client(args.destination);
    }
    return c.session(args.session);
  };

  const secretsAllowed = policy.secretEnv.length > 0 ||
    policy.secretFiles.length > 0;
  const readOnlyEverywhere = everywhereReadOnly(operator);
  /** The client can put a form to its human (MCP elicitation). */
  const canElicit = () => {
    const elicitation = server.server.getClientCapabilities()?.elicitation;
    return elicitation !== undefined &&
      (elicitation.form !== undefined || elicitation.url === undefined);
  };
  /**
   * The operator's limits on one call, before it runs: well-formed names,
   * an allowed destination, read-only destinations, and the human's
   * approval. Returns the decision; throws a refusal, with the decision
   * set in `decided`.
   */
  const gate = async (
    name: ToolName,
    // deno-lint-ignore no-explicit-any
    args: any,
    signal: AbortSignal,
    decided: { decision: Decision },
  ): Promise<void> => {
    decided.decision = "refused";
    for (const field of CHECKED_FIELDS) {
      if (typeof args[field] === "string") wellFormed(args[field], field);
    }
    const destinations = destinationsOf(args);
    let asks = false;
    // Every destination passes the same checks as one alone would.
    for (const destination of destinations) {
      wellFormed(destination, "destination");
      const rules = rulesFor(operator, destination);
      if (!rules.allowed) throw new SesshError("usage", rules.reason);
      if (rules.readOnly && !TOOL_HINTS[name].readOnlyHint) {
        throw new SesshError(
          "usage",
          `The destination ${JSON.stringify(destination)} is read-only here (${
            rules.readOnlyBy.join(", ")
          }): only logs, screen, wait, status, list, result and history may be used on it`,
        );
      }
      const one = { tool: name, destination, session: args.session, args };
      asks ||= needsApproval(one, rules);
    }
    // One question for the whole set, naming every host in it.
    const call = {
      tool: name,
      destination: destinations.join(","),
      session: args.session,
      args,
    };
    if (!asks) {
      decided.decision = "allowed";
      return;
    }
    const answer = await askApproval(call, {
      canElicit: canElicit(),
      elicit: (message) =>
        server.server.elicitInput(
          { message, requestedSchema: { type: "object", properties: {} } },
          { signal, timeout: APPROVAL_TIMEOUT_MS },
        ),
    }).catch((error) => {
      // No answer in time, a cancelled call, a client that failed: no yes.
      throw new SesshError(
        "usage",
        `The operator requires a human to approve this ${name} call, and no answer came (${
          (error as Error).message
        }); it was not run`,
      );
    });
    if (answer === "unable") {
      throw new SesshError(
        "usage",
        `The operator requires a human to approve this ${name} call, and this MCP client cannot ask one (it does not support elicitation); it was not run`,
      );
    }
    decided.decision = answer;
    if (answer === "declined") {
      throw new SesshError(
        "usage",
        `The human declined this ${name} call; it was not run`,
      );
    }
  };
  /**
   * Registers a tool with its hints, unless `--read-only` leaves it out (or
   * it is `type_secret` and no secret was allowed). Each call passes the
   * gate first and is logged to the audit file before its reply. Its input
   * is a strict object: a misspelt argument (`timeout_second`) is refused
   * with its name rather than dropped, and the schema says so
   * (`additionalProperties: false`).
   */
  const tool = <Shape extends Record<string, z.ZodType>>(
    name: ToolName,
    description: string,
    input: Shape,
    output: Record<string, z.ZodType>,
    run: (
      args: z.output<z.ZodObject<Shape>>,
      extra: ToolExtra,
    ) => Promise<ToolOutcome>,
  ) => {
    const annotations = TOOL_HINTS[name];
    if (readOnlyEverywhere && !annotations.readOnlyHint) return;
    if (name === "type_secret" && !secretsAllowed) return;
    server.registerTool(
      name,
      {
        description,
        inputSchema: z.strictObject(input),
        outputSchema: output,
        annotations,
      },
      // deno-lint-ignore no-explicit-any
      (async (args: any, extra: ToolExtra) => {
        const time = new Date().toISOString();
        const started = performance.now();
        const decided: { decision: Decision } = { decision: "refused" };
        let reply;
        let exitCode: number | undefined;
        let failure: string | undefined;
        try {
          await gate(name, args, extra.signal, decided);
          const outcome = await run(args, extra);
          const code = outcome.structured.exit_code;
          if (typeof code === "number") exitCode = code;
          reply = {
            content: [{ type: "text" as const, text: outcome.text }],
            structuredContent: outcome.structured,
          };
        } catch (error) {
          const code = error instanceof SesshError ? error.code : "internal";
          failure = `${code}: ${(error as Error).message}`;
          reply = {
            isError: true,
            content: [{ type: "text" as const, text: failure }],
          };
        }
        audit?.write({
          time,
          tool: name,
          destination: args.destination,
          session: args.session,
          arguments: args,
          decision: decided.decision,
          exit_code: exitCode,
          duration_ms: Math.round(performance.now() - started),
          error: failure,
        });
        return reply;
        // deno-lint-ignore no-explicit-any
      }) as any,
    );
  };

  tool(
    "open",
    "Create the session, or reuse it; shell picks its shell. run opens a missing session itself.",
    {
      ...where,
      shell: z.string().optional().describe(
        "shell to start, e.g. bash or zsh: one the host lists in /etc/shells (default: the login shell)",
      ),
    },
    zodShape(OPEN_RESULT),
    async (args) => {
      const opened = await (await session(args)).open({ shell: args.shell });
      const structured = openJson(opened);
      return {
        text: `${
          opened.created ? "created" : "reused"
        } session ${args.session} (${opened.session.shell})`,
        structured,
      };
    },
  );

  // The shapes of lib/report/shapes.ts, which `--json` prints too. With
  // destinations, run's fields are absent and `results` and `summary` say
  // it per host. Fresh zod types for each place: shared ones become $refs.
  const optionalRun = () =>
    Object.fromEntries(
      Object.entries(zodShape(RUN_RESULT)).map(([k, v]) => [k, v.optional()]),
    );
  /** One host's `run` result, or its error, in `results` of a fan-out. */
  const hostRun = z.object({
    ...zodShape(FLEET_HOST),
    ...optionalRun(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
  });
  tool(
    "run",
    "Run a shell command in the session; returns its output and exit code. One that outlasts timeout_seconds keeps running: the result gives command_id for result, or wait with done: true. Sends progress when asked. With destinations instead of destination, runs it on every host at once and returns results, one per host, and a summary.",
    {
      ...where,
      destination: where.destination.optional(),
      destinations: z.array(z.string()).min(1).max(MAX_HOSTS).optional()
        .describe(
          "many ssh destinations: run on each (same session name), in place of destination",
        ),
      command: z.string().min(1).describe("the shell command, typed as is"),
      timeout_seconds: z.number().positive().max(86_400).optional()
        .describe("how long to wait (default 60)"),
      max_output: maxOutput,
    },
    {
      ...optionalRun(),
      results: z.array(hostRun).optional(),
      summary: z.object(zodShape(FLEET_SUMMARY)).optional(),
    },
    async (args, extra) => {
      if (args.destinations !== undefined) {
        return await runOnMany(
          destinationsOf(args),
          args as typeof args & { command: string },
          extra,
        );
      }
      const s = await session(args as typeof args & { destination: string });
      const stop = progress(s, extra);
      try {
        const result = await s.run(args.command, {
          timeoutMs: (args.timeout_seconds ?? 60) * 1000,
          maxOutput: args.max_output,
          signal: extra.signal,
        });
        const structured = runJson(result);
        const status = result.running
          ? `[still running as command ${result.commandId}: poll with result, or wait with done: true]`
          : `[exit ${result.exitCode}]`;
        return {
          text: `${result.output}${truncatedNote(result.truncated)}${status}`,
          structured,
        };
      } finally {
        stop();
      }
    },
  );
  /** The `run` tool on many hosts: each its own deadline, results as they end. */
  const runOnMany = async (
    destinations: string[],
    args: {
      session: string;
      command: string;
      timeout_seconds?: number;
      max_output?: number;
    },
    extra: ToolExtra,
  ): Promise<ToolOutcome> => {
    const timeoutMs = (args.timeout_seconds ?? 60) * 1000;
    checkParallel(Math.min(destinations.length, 32));
    const results: Record<string, unknown>[] = [];
    const ends = [];
    for await (
      const r of fanOut(destinations, async (destination, signal) => {
        const s = await session({ destination, session: args.session });
        return await s.run(args.command, {
          timeoutMs,
          maxOutput: args.max_output,
          signal,
        });
      }, { deadlineMs: timeoutMs + 2000, signal: extra.signal })
    ) {
      if (r.ok) {
        const json = runJson(r.value);
        results.push({ host: r.host, ok: true, op: "run", ...json });
        ends.push({
          host: r.host,
          exitCode: r.value.running ? 124 : r.value.exitCode ?? 1,
        });
      } else {
        results.push({
          host: r.host,
          ok: false,
          op: "run",
          error: { code: r.error.code, message: r.error.message },
        });
        ends.push({
          host: r.host,
          exitCode: r.error.exitCode,
          error: r.error.code,
        });
      }
    }
    const summary = fleetSummaryJson("run", summarize(ends));
    const text =
      results.map((r) =>
        r.ok
          ? `${r.host}: [exit ${r.exit_code}]\n${r.output}`
          : `${r.host}: ${(r.error as { message: string }).message}\n`
      ).join("") +
      `${summary.succeeded.length} succeeded, ${summary.failed.length} failed, ${summary.timed_out.length} timed out`;
    return { text, structured: { results, summary } };
  };
  tool(
    "send",
    "Type text into the session (a REPL line, an answer to a prompt); enter: true presses Enter. Read the reply with wait. Never passwords: use type_secret.",
    {
      ...where,
      text: z.string().describe("the text, typed as is"),
      enter: z.boolean().optional().describe("press Enter after the text"),
    },
    zodShape(SEND_RESULT),
    async (args) => {
      const bytes = await (await session(args)).send(args.text, {
        enter: args.enter,
      });
      return { text: `typed ${bytes} bytes`, structured: { bytes } };
    },
  );
  tool(
    "keys",
    "Press keys by tmux name: Enter, C-c (interrupt), C-d, Up, Down, Tab, Escape, F5, M-x; other words are typed as text.",
    {
      ...where,
      keys: z.array(z.string()).min(1).describe("key names, in order"),
    },
    zodShape(KEYS_RESULT),
    async (args) => {
      await (await session(args)).keys(args.keys);
      return {
        text: `pressed ${args.keys.join(" ")}`,
        structured: { keys: args.keys },
      };
    },
  );
  tool(
    "type_secret",
    'Type a secret the operator allowed, named by env_var or file, and Enter, only at a prompt that does not echo; you never see its value. Wait for the prompt first (wait with for: "assword").',
    {
      ...where,
      env_var: z.string().optional().describe(
        "an environment variable of the server that holds the secret",
      ),
      file: z.string().optional().describe(
        "a file on the server's machine that holds the secret",
      ),
    },
    zodShape(SECRET_RESULT),
    async (args) => {
      const secret = readAllowedSecret(policy, args.env_var, args.file);
      audit?.redact(secret);
      await (await session(args)).typeSecret(secret);
      return {
        text: "typed the secret and Enter",
        structured: { typed: true },
      };
    },
  );

  tool(
    "logs",
    "Recent output as plain text: the last lines, or everything after a cursor an earlier call returned.",
    {
      ...where,
      lines: z.number().int().min(1).max(100_000).optional().describe(
        "how many lines (default 300)",
      ),
      since: z.number().int().min(0).optional().describe(
        "only output after this cursor",
      ),
      max_output: maxOutput,
    },
    zodShape(LOGS_RESULT),
    async (args) => {
      const logs = await (await session(args)).logs({
        lines: args.lines,
        since: args.since,
        maxOutput: args.max_output,
      });
      return {
        text: logs.output + truncatedNote(logs.truncated),
        structured: logsJson(logs),
      };
    },
  );
  tool(
    "screen",
    "The visible screen with the cursor: for full-screen programs (editors, top, pagers).",
    { ...where },
    zodShape(SCREEN_RESULT),
    async (args) => {
      const screen = await (await session(args)).screen();
      return {
        text: screen.lines.join("\n"),
        structured: screenJson(screen),
      };
    },
  );
  tool(
    "wait",
    "Wait until new output matches for (a JavaScript regular expression), output is quiet for idle_ms, or, with done: true, the running command ends (its output and command_id).",
    {
      ...where,
      for: z.string().optional().describe("regular expression to wait for"),
      idle_ms: z.number().int().positive().optional().describe(
        "wait until no output came for this long",
      ),
      done: z.boolean().optional().describe(
        "wait until the running command finishes",
      ),
      since: z.number().int().min(0).optional().describe(
        "consider output from this cursor on",
      ),
      timeout_seconds: z.number().positive().max(86_400).optional().describe(
        "how long to wait (default 60)",
      ),
      max_output: maxOutput,
    },
    zodShape(WAIT_RESULT),
    async (args, extra) => {
      let pattern: RegExp | undefined;
      if (args.for !== undefined) {
        try {
          pattern = new RegExp(args.for, "m");
        } catch (error) {
          throw new SesshError(
            "usage",
            `Invalid for pattern: ${(error as Error).message}`,
          );
        }
      }
      const result = await (await session(args)).wait({
        pattern,
        idleMs: args.idle_ms,
        done: args.done || undefined,
        since: args.since,
        timeoutMs: (args.timeout_seconds ?? 60) * 1000,
        maxOutput: args.max_output,
        signal: extra.signal,
      });
      return {
        text: result.output +
          (result.met
            ? ""
            : `[timed out; wait again with since ${result.cursor}]`),
        structured: waitJson(result),
      };
    },
  );
  tool(
    "status",
    "The session's state: shell, running command, whether it waits for input (a password prompt, a pager, [y/N]), cwd, last exit code.",
    { ...where },
    {
      session: z.object(zodShape(SESSION_INFO)),
      path: z.object(zodShape(CALL_PATH)),
    },
    async (args) => {
      const info = statusJson(await (await session(args)).status());
      const path = callPathJson((await client(args.destination)).path);
      return {
        text: JSON.stringify(info, null, 2),
        structured: { session: info, path },
      };
    },
  );
  tool(
    "list",
    "The sessions on the host.",
    { destination: where.destination },
    { sessions: z.array(z.object(zodShape(SESSION_INFO))) },
    async (args) => {
      const sessions = (await (await client(args.destination)).list()).map(
        statusJson,
      );
      return {
        text:
          sessions.map((s) =>
            `${s.name} ${s.running ? "busy" : "idle"} ${s.cwd ?? ""}`
          ).join("\n") ||
          "no sessions",
        structured: { sessions },
      };
    },
  );
  tool(
    "close",
    "End the session, its shell and everything it runs.",
    { ...where },
    zodShape(CLOSE_RESULT),
    async (args) => {
      const status = await (await session(args)).close();
      return { text: `closed session ${args.session}`, structured: { status } };
    },
  );
  const commandShape = zodShape(COMMAND_RECORD);
  tool(
    "result",
    "A command run started, by command_id (default: the latest): its exit code and output, or its output so far while it runs.",
    {
      ...where,
      command_id: z.number().int().min(1).optional().describe(
        "the id run returned",
      ),
      max_output: maxOutput,
    },
    zodShape(COMMAND_RESULT),
    async (args) => {
      const result = await (await session(args)).result({
        commandId: args.command_id,
        maxOutput: args.max_output,
      });
      return {
        text: result.output + truncatedNote(result.truncated) +
          (result.running ? "[still running]" : `[exit ${result.exitCode}]`),
        structured: commandResultJson(result),
      };
    },
  );
  tool(
    "history",
    "The last commands run typed into the session, with their ids and exit codes.",
    { ...where },
    { commands: z.array(z.object(commandShape)) },
    async (args) => {
      const commands = (await (await session(args)).history()).map(
        commandJson,
      );
      return {
        text:
          commands.map((c) =>
            `${c.command_id} ${
              c.running ? "running" : `exit ${c.exit_code}`
            } ${c.command}`
          ).join("\n") || "no commands yet",
        structured: { commands },
      };
    },
  );
  const fileResult = zodShape(FILE_TRANSFER);
  const fileArgs = {
    destination: where.destination,
    session: where.session.optional().describe(
      "a session whose current directory a relative remote_path is taken in (default: the home directory)",
    ),
    resume: z.boolean().optional().describe(
      "continue a copy cut short, when the destination holds the source's start (default false: copy anew)",
    ),
  };
  const localDirs = policy.localDirs.length > 0
    ? policy.localDirs
    : [Deno.cwd()];
  /** A remote path, relative ones taken in the session's directory. */
  const remotePath = async (
    c: SesshClient,
    path: string,
    name: string | undefined,
  ) => {
    if (name === undefined || /^[/~]/.test(path)) return path;
    const cwd = (await c.session(name).status()).cwd;
    return cwd ? `${cwd}/${path}` : path;
  };
  const copyResult = (
    verb: string,
    copied: Awaited<ReturnType<SesshClient["upload"]>>,
  ): ToolOutcome => ({
    text: `${verb} ${copied.bytes} bytes: ${copied.localPath} ${
      verb === "uploaded" ? "->" : "<-"
    } ${copied.remotePath}${
      copied.resumedFrom > 0 ? ` (resumed at byte ${copied.resumedFrom})` : ""
    }`,
    structured: transferJson(copied),
  });
  if (!policy.readOnly) {
    tool(
      "upload",
      "Copy a local file to the host, byte for byte; local_path must be in a directory the operator allowed. A remote directory takes the file under its name.",
      {
        ...fileArgs,
        local_path: z.string().min(1).describe("the file to send"),
        remote_path: z.string().min(1).describe(
          "where to put it on the host",
        ),
      },
      fileResult,
      async (args, extra) => {
        const local = await confinedPath(args.local_path, localDirs, "read");
        const c = await client(args.destination);
        const progress = fileProgress(extra);
        const copied = await c.upload(
          local,
          await remotePath(c, args.remote_path, args.session),
          {
            resume: args.resume,
            signal: extra.signal,
            onProgress: progress.update,
            via: THROUGH_DAEMON,
          },
        ).finally(progress.flush);
        return copyResult("uploaded", copied);
      },
    );
  }
  tool(
    "download",
    "Copy a file from the host here, byte for byte; local_path must be in a directory the operator allowed, and a directory there takes the file under its remote name.",
    {
      ...fileArgs,
      remote_path: z.string().min(1).describe("the file on the host"),
      local_path: z.string().min(1).describe("where to put it here"),
    },
    fileResult,
    async (args, extra) => {
      const c = await client(args.destination);
      const source = await remotePath(c, args.remote_path, args.session);
      const local = await confinedPath(args.local_path, localDirs, "write", {
        nameInDirectory: baseName(source),
      });
      const progress = fileProgress(extra);
      // Judged again on the directory the file is made in, as it is made.
      const copied = await c.download(source, local, {
        resume: args.resume,
        within: await realRoots(localDirs),
        signal: extra.signal,
        onProgress: progress.update,
        via: THROUGH_DAEMON,
      }).finally(progress.flush);
      return copyResult("downloaded", copied);
    },
  );
  const disconnect = async () => {
    await Promise.all(
      [...clients.values()].map((connecting) =>
        connecting.then((c) => c.disconnect()).catch(() => {})
      ),
    );
    audit?.[Symbol.dispose]();
  };
  return { server, disconnect };
}

/** What a tool's callback receives besides its arguments (the parts used). */
interface ToolExtra {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification: (notification: {
    method: "notifications/progress";
    params: {
      progressToken: string | number;
      progress: number;
      total?: number;
      message?: string;
    };
  }) => Promise<void>;
}

/** Sends progress every second (elapsed seconds, the last line) while a run waits, when the client asked. */
function progress(session: Session, extra: ToolExtra): () => void {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => {};
  const started = performance.now();
  const timer = setInterval(async () => {
    const seconds = Math.round((performance.now() - started) / 1000);
    const last = await session.logs({ lines: 1, maxOutput: 400 })
      .then((logs) => logs.output.trim().split("\n").at(-1) ?? "")
      .catch(() => "");
    await extra.sendNotification({
      method: "notifications/progress",
      params: {
        progressToken: token,
        progress: seconds,
        message: `${seconds} s: ${last}`,
      },
    }).catch(() => {});
  }, 1000);
  return () => clearInterval(timer);
}

/**
 * Progress in bytes, at most every 500 ms, when the client asked for it.
 * `flush` waits for the notifications sent: the client drops those that
 * come after the tool's result.
 */
function fileProgress(extra: ToolExtra): {
  update?: (copied: number, total: number) => void;
  flush: () => Promise<void>;
} {
  const token = extra._meta?.progressToken;
  let sent = Promise.resolve();
  if (token === undefined) return { flush: () => sent };
  let last = 0;
  return {
    update: (copied, total) => {
      const now = performance.now();
      if (now - last < 500 && copied < total) return;
      last = now;
      sent = sent.then(() =>
        extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, progress: copied, total },
        })
      ).catch(() => {});
    },
    flush: () => sent,
  };
}

function truncatedNote(truncated: boolean): string {
  return truncated
    ? `\n[output truncated in the middle; read it in parts with logs since]\n`
    : "";
}

function readAllowedSecret(
  policy: McpPolicy,
  envVar: string | undefined,
  file: string | undefined,
): string {
  if ((envVar === undefined) === (file === undefined)) {
    throw new SesshError("usage", "Give exactly one of env_var or file");
  }
  if (envVar !== undefined) {
    if (!policy.secretEnv.includes(envVar)) {
      throw new SesshError(
        "usage",
        `The environment variable ${envVar} is not one the operator allowed (sessh mcp --allow-secret-env VAR)`,
      );
    }
    const value = policy.env[envVar];
    if (!value) {
      throw new SesshError("usage", `${envVar} is not set on the server`);
    }
    return value;
  }
  if (!policy.secretFiles.includes(file!)) {
    throw new SesshError(
      "usage",
      `The file ${file} is not one the operator allowed (sessh mcp --allow-secret-file PATH)`,
    );
  }
  return Deno.readTextFileSync(file!).replace(/\r?\n$/, "");
}
