/**
 * `sessh mcp --profiles FILE`: named groups of destinations, each with its
 * own limits, so that one server can give a model a build box to work on
 * and a read-only view of production. The file is JSON:
 *
 * ```json
 * {
 *   "profiles": {
 *     "build": { "allow": ["me@build*"] },
 *     "production": {
 *       "allow": ["prod-*"],
 *       "read_only": true,
 *       "confirm": ["close"],
 *       "confirm_command": ["^sudo "]
 *     }
 *   }
 * }
 * ```
 *
 * `allow` takes `--allow-host`'s patterns; `confirm` tool names and
 * `confirm_command` regular expressions mean what `--confirm` and
 * `--confirm-command` mean. How profiles and flags combine is in
 * `policy.ts`.
 *
 * @module
 */
// zod's v3 API, which zod 4 still ships: its messages say what a key
// expected and what it got ("Required", "Expected boolean, received
// string", "received 'rn'"), and they reach the operator as they are.
import { z } from "zod/v3";
import { UsageError } from "../errors.ts";
import { TOOL_HINTS, type ToolName } from "./annotations.ts";

/** One profile, as the server applies it. */
export interface Profile {
  /** Its name in the file. */
  name: string;
  /** Host patterns, as `--allow-host` takes them. */
  allow: string[];
  /** Only the tools that observe, for these destinations. */
  readOnly: boolean;
  /** Tools that ask the human first. */
  confirm: ToolName[];
  /** Commands that ask the human first. */
  confirmCommand: RegExp[];
}

const TOOL_NAMES = Object.keys(TOOL_HINTS) as [ToolName, ...ToolName[]];

const regex = z.string().transform((source, context) => {
  try {
    return new RegExp(source);
  } catch (error) {
    context.addIssue({
      code: z.ZodIssueCode.custom,
      message: `not a regular expression (${(error as Error).message})`,
    });
    return z.NEVER;
  }
});

const PROFILE = z.object({
  allow: z.array(z.string().min(1)).min(1, "name at least one host pattern"),
  read_only: z.boolean().default(false),
  confirm: z.array(z.enum(TOOL_NAMES)).default([]),
  confirm_command: z.array(regex).default([]),
}).strict();

const FILE = z.object({
  profiles: z.record(
    z.string().regex(
      /^[A-Za-z0-9_.-]{1,64}$/,
      "a profile name is 1 to 64 letters, digits, ., _ or -",
    ),
    PROFILE,
  ).refine(
    (profiles) => Object.keys(profiles).length > 0,
    "name at least one profile",
  ),
}).strict();

/**
 * Reads the profiles from their JSON text.
 *
 * @param text The file's content.
 * @param path The file's name, for messages.
 * @returns The profiles, in the file's order.
 * @throws {UsageError} Naming the key that is wrong and why.
 *
 * @example
 * ```ts
 * import { parseProfiles } from "./profiles.ts";
 * const [prod] = parseProfiles(
 *   '{"profiles": {"prod": {"allow": ["prod-*"], "read_only": true}}}',
 *   "profiles.json",
 * );
 * console.log(prod.name, prod.readOnly); // prod true
 * ```
 */
export function parseProfiles(text: string, path: string): Profile[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(path, `not JSON (${(error as Error).message})`);
  }
  const parsed = FILE.safeParse(json);
  if (!parsed.success) {
    throw invalid(
      path,
      parsed.error.issues.map((issue) =>
        `${
          issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""
        }${issue.message}`
      ).join("; "),
    );
  }
  return Object.entries(parsed.data.profiles).map(([name, profile]) => ({
    name,
    allow: profile.allow,
    readOnly: profile.read_only,
    confirm: profile.confirm,
    confirmCommand: profile.confirm_command,
  }));
}

/**
 * Reads the profiles from a file.
 *
 * @param path The `--profiles` file.
 * @returns The profiles.
 * @throws {UsageError} When the file cannot be read or is wrong.
 */
export function readProfiles(path: string): Profile[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw invalid(path, (error as Error).message);
  }
  return parseProfiles(text, path);
}

function invalid(path: string, why: string): UsageError {
  return new UsageError(
    `Invalid --profiles file ${JSON.stringify(path)}: ${why}`,
  );
}
