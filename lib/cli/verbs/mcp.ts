/**
 * `mcp`: serve the sessions as MCP tools (`lib/mcp/server.ts`) on stdin
 * and stdout until the client hangs up.
 *
 * @module
 */
import { verb, VERSION } from "../context.ts";
import { useExitBoundTimers } from "../../timer.ts";

/** Options of `mcp`. */
export interface McpFlags {
  /** Only hosts matching one of these patterns. */
  allowHost?: readonly string[];
  /** Offer only the tools that observe. */
  readOnly?: boolean;
  /** Environment variables `type_secret` may type. */
  allowSecretEnv?: readonly string[];
  /** Files `type_secret` may type. */
  allowSecretFile?: readonly string[];
  /** Tools that ask the human first. */
  confirm?: readonly string[];
  /** Commands (regular expressions) that ask the human first. */
  confirmCommand?: readonly string[];
  /** The JSON file of per-destination profiles. */
  profiles?: string;
  /** The audit log. */
  audit?: string;
  /** Local directories upload and download may use. */
  allowLocalDir?: readonly string[];
  /** ssh -F. */
  config?: string;
}

/**
 * Where the MCP server's module is: beside this one in the sources (or a
 * compiled binary), `lib/mcp/server.js` in the bundle's directory. Not a
 * literal on purpose: Deno loads every literal dynamic import when a
 * program starts, and the MCP SDK would add 780 KB to every call of the
 * bundle.
 */
function mcpModule(): string {
  const bundled = !import.meta.url.endsWith(".ts");
  return new URL(
    bundled ? "./lib/mcp/server.js" : "../../mcp/server.ts",
    import.meta.url,
  )
    .href;
}

/** `mcp`, as its grammar in `mcp_command.ts` calls it. */
export const mcp = verb(async (context, flags: McpFlags) => {
  // A long-lived server cancels its timers, as the agent does.
  useExitBoundTimers(false);
  const { serveMcp } = await (import(mcpModule()) as Promise<
    typeof import("../../mcp/server.ts")
  >);
  await serveMcp({
    allowHosts: [...(flags.allowHost ?? [])],
    readOnly: flags.readOnly ?? false,
    secretEnv: [...(flags.allowSecretEnv ?? [])],
    secretFiles: [...(flags.allowSecretFile ?? [])],
    localDirs: [...(flags.allowLocalDir ?? [])],
    confirm: [...(flags.confirm ?? [])],
    confirmCommand: [...(flags.confirmCommand ?? [])],
    profilesFile: flags.profiles,
    auditFile: flags.audit,
    env: context.env,
    configFile: flags.config,
    version: VERSION,
  });
  return { op: "mcp", fields: {}, text: "", exitCode: 0 };
});
