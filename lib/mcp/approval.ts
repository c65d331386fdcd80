/**
 * `sessh mcp --confirm` and `--confirm-command`: before a call the operator
 * named, the server asks the human through MCP elicitation, showing what
 * the model asked for exactly (the command, the destination, the session).
 * The model is not trusted to write the question: what it sent is shown
 * quoted, with every control, invisible and bidirectional character
 * escaped, so a command cannot pass itself off as another.
 *
 * A client without elicitation gets a refusal, never a silent allow; so
 * does a human who declines, cancels or does not answer in time.
 *
 * @module
 */
import type { ToolName } from "./annotations.ts";

/** A call that may need the human's yes. */
export interface PendingCall {
  tool: ToolName;
  destination: string;
  session?: string;
  /** The tool's arguments, as the model sent them. */
  args: Record<string, unknown>;
}

/** The human's answer: yes, no, or no way to ask. */
export type Approval = "confirmed" | "declined" | "unable";

/** How long a human has to answer. */
export const APPROVAL_TIMEOUT_MS = 10 * 60_000;

/**
 * The text a tool would type or run, which `--confirm-command` judges:
 * `run`'s command, `send`'s text, `keys`' names joined by spaces.
 *
 * @param call The call.
 * @returns The text, or undefined for a tool that types none.
 *
 * @example
 * ```ts
 * import { commandOf } from "./approval.ts";
 * const args = { command: "sudo reboot" };
 * console.log(commandOf({ tool: "run", destination: "h", args })); // sudo reboot
 * ```
 */
export function commandOf(call: PendingCall): string | undefined {
  const { args } = call;
  switch (call.tool) {
    case "run":
      return typeof args.command === "string" ? args.command : undefined;
    case "send":
      return typeof args.text === "string" ? args.text : undefined;
    case "keys":
      return Array.isArray(args.keys) ? args.keys.join(" ") : undefined;
    default:
      return undefined;
  }
}

/**
 * Whether the operator wants this call confirmed.
 *
 * @param call The call.
 * @param rules The tools and command expressions that ask.
 * @returns True when the tool is named or its command matches.
 */
export function needsApproval(
  call: PendingCall,
  rules: { confirm: ReadonlySet<ToolName>; confirmCommand: readonly RegExp[] },
): boolean {
  if (rules.confirm.has(call.tool)) return true;
  const command = commandOf(call);
  return command !== undefined &&
    rules.confirmCommand.some((pattern) => pattern.test(command));
}

/**
 * Text from the model, quoted, with what a terminal or a dialog would hide
 * or reorder escaped as `\u{…}`.
 *
 * @param text Untrusted text.
 * @returns A one-line, quoted form of it.
 *
 * @example
 * ```ts
 * import { shown } from "./approval.ts";
 * console.log(shown("ls\u202Emr")); // "ls\u{202e}mr"
 * ```
 */
export function shown(text: string): string {
  return visible(JSON.stringify(text));
}

/** JSON text with every invisible or reordering character escaped. */
function visible(json: string): string {
  return json.replace(
    /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
}

/**
 * The question put to the human.
 *
 * @param call The call.
 * @returns The message of the elicitation.
 *
 * @example
 * ```ts
 * import { approvalMessage } from "./approval.ts";
 * console.log(approvalMessage({
 *   tool: "run",
 *   destination: "prod-1",
 *   session: "ops",
 *   args: { command: "systemctl restart web" },
 * }));
 * ```
 */
export function approvalMessage(call: PendingCall): string {
  const command = commandOf(call);
  const what = command !== undefined
    ? `${call.tool === "run" ? "Command" : "Text"}: ${shown(command)}`
    : `Arguments: ${
      visible(JSON.stringify(without(call.args, ["destination", "session"])))
    }`;
  return [
    `The model asks to call ${call.tool} on ${shown(call.destination)}` +
    (call.session === undefined ? "" : `, session ${shown(call.session)}`) +
    ".",
    what,
    "Accept to let it run; decline to refuse it.",
  ].join("\n");
}

/**
 * Asks the human through the client, when it can ask.
 *
 * @param call The call to approve.
 * @param client How to reach the client: whether it can elicit, and the
 * elicitation request itself.
 * @returns The answer; `unable` when the client has no elicitation.
 */
export async function askApproval(
  call: PendingCall,
  client: {
    canElicit: boolean;
    elicit: (message: string) => Promise<{ action: string }>;
  },
): Promise<Approval> {
  if (!client.canElicit) return "unable";
  const answer = await client.elicit(approvalMessage(call));
  return answer.action === "accept" ? "confirmed" : "declined";
}

function without(
  args: Record<string, unknown>,
  keys: string[],
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(args).filter(([key]) => !keys.includes(key)),
  );
}
