/**
 * The grammar of `mcp`; what it does is in `mcp.ts`, loaded once it is
 * parsed.
 *
 * @module
 */
import { buildCommand } from "@stricli/core";
import type { ProgramContext } from "../context.ts";
import type { McpFlags } from "./mcp.ts";
import { wellFormed } from "../../well_formed.ts";
import { COMMON, switchFlag, textFlag, withUsage } from "../grammar.ts";

const repeatable = (brief: string, placeholder: string, field: string) => ({
  kind: "parsed" as const,
  parse: (v: string) => wellFormed(v, field),
  brief,
  optional: true as const,
  variadic: true as const,
  placeholder,
});

const command = buildCommand<McpFlags, [], ProgramContext>({
  loader: async () => (await import("./mcp.ts")).mcp,
  parameters: {
    flags: {
      allowHost: repeatable(
        "only hosts matching this pattern (* any text; user@host), repeatable",
        "pattern",
        "--allow-host",
      ),
      readOnly: switchFlag(
        "offer only the tools that observe (logs, screen, wait, status, …)",
      ),
      allowLocalDir: repeatable(
        "a local directory for upload and download (default: here), repeatable",
        "dir",
        "--allow-local-dir",
      ),
      allowSecretEnv: repeatable(
        "an environment variable type_secret may type, repeatable",
        "var",
        "--allow-secret-env",
      ),
      allowSecretFile: repeatable(
        "a file type_secret may type, repeatable",
        "path",
        "--allow-secret-file",
      ),
      confirm: repeatable(
        "ask the human (elicitation) before each call of this tool, repeatable",
        "tool",
        "--confirm",
      ),
      confirmCommand: repeatable(
        "ask before a run, send or keys that matches this regex, repeatable",
        "regex",
        "--confirm-command",
      ),
      profiles: textFlag(
        "JSON file of per-destination limits (allow, read_only, confirm)",
        "file",
        "--profiles",
      ),
      audit: textFlag(
        "append one JSON line per tool call to this file (made 0600)",
        "file",
        "--audit",
      ),
      config: COMMON.config,
    },
    aliases: { F: "config" },
  },
  docs: {
    brief: "serve the sessions as MCP tools on stdin and stdout",
    customUsage: ["[options]"],
    fullDescription: "For MCP clients: claude mcp add sessh -- sessh mcp\n" +
      "Tools: open, run, send, keys, logs, screen, wait, status, list, close,\n" +
      "result, history, upload, download, and type_secret when a secret is allowed.",
  },
});

/** `mcp`: the MCP server on stdin and stdout. */
export const mcp = withUsage(command, "[options]");
