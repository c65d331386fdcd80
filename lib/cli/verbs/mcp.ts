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

/** `mcp`, as its grammar in `mcp_command.ts` calls it. */
export const mcp = verb(async (context, flags: McpFlags) => {
  // A long-lived server cancels its timers, as the agent does.
  useExitBoundTimers(false);
  // A literal, so that `deno publish`, `deno compile` and the bundler see
  // the server; the MCP SDK still loads only here, because deno.json turns
  // on "lazy-dynamic-imports" (see the README's "Installing").
  const { serveMcp } = await import("../../mcp/server.ts");
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
