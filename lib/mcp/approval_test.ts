import assert from "node:assert/strict";
import {
  approvalMessage,
  askApproval,
  commandOf,
  needsApproval,
  type PendingCall,
  shown,
} from "./approval.ts";
import type { ToolName } from "./annotations.ts";

const call = (
  tool: ToolName,
  args: Record<string, unknown>,
): PendingCall => ({
  tool,
  destination: "prod-1",
  session: "ops",
  args: { destination: "prod-1", session: "ops", ...args },
});

Deno.test("commandOf() is the text run, send or keys would type", () => {
  assert.equal(commandOf(call("run", { command: "make" })), "make");
  assert.equal(commandOf(call("send", { text: "y" })), "y");
  assert.equal(commandOf(call("keys", { keys: ["C-c", "Up"] })), "C-c Up");
  assert.equal(commandOf(call("close", {})), undefined);
  assert.equal(commandOf(call("type_secret", { env_var: "PW" })), undefined);
});

Deno.test("needsApproval() asks for a named tool or a matching command", async (t) => {
  const rules = {
    confirm: new Set<ToolName>(["close"]),
    confirmCommand: [/^sudo\b/, /rm -rf/],
  };
  const table: [PendingCall, boolean][] = [
    [call("close", {}), true],
    [call("run", { command: "sudo reboot" }), true],
    [call("run", { command: "ls; rm -rf /" }), true],
    [call("send", { text: "sudo -i" }), true],
    [call("keys", { keys: ["sudo", "Enter"] }), true],
    [call("run", { command: "make test" }), false],
    [call("logs", {}), false],
  ];
  for (const [pending, expected] of table) {
    await t.step(`${pending.tool} ${JSON.stringify(pending.args)}`, () => {
      assert.equal(needsApproval(pending, rules), expected);
    });
  }
});

Deno.test("shown() escapes what would hide or reorder text", () => {
  assert.equal(shown("ls -la"), '"ls -la"');
  assert.equal(shown("a\nb\rc\u001b[2K"), '"a\\nb\\rc\\u001b[2K"');
  assert.equal(shown("echo safe\u202E;fr- mr"), '"echo safe\\u{202e};fr- mr"');
  assert.equal(shown("x\u200By\u2066"), '"x\\u{200b}y\\u{2066}"');
});

Deno.test("approvalMessage() shows the command, destination and session exactly", () => {
  assert.equal(
    approvalMessage(call("run", { command: "rm -rf build\nreboot" })),
    [
      'The model asks to call run on "prod-1", session "ops".',
      'Command: "rm -rf build\\nreboot"',
      "Accept to let it run; decline to refuse it.",
    ].join("\n"),
  );
  assert.equal(
    approvalMessage({
      tool: "upload",
      destination: "b",
      args: {
        destination: "b",
        local_path: "x",
        remote_path: "/etc/y\u202E",
      },
    }),
    [
      'The model asks to call upload on "b".',
      'Arguments: {"local_path":"x","remote_path":"/etc/y\\u{202e}"}',
      "Accept to let it run; decline to refuse it.",
    ].join("\n"),
  );
});

Deno.test("askApproval() turns the answer into a decision, refusing when it cannot ask", async () => {
  const pending = call("close", {});
  const asked: string[] = [];
  const client = (action: string, canElicit = true) => ({
    canElicit,
    elicit: (message: string) => {
      asked.push(message);
      return Promise.resolve({ action });
    },
  });
  assert.equal(await askApproval(pending, client("accept")), "confirmed");
  assert.equal(await askApproval(pending, client("decline")), "declined");
  assert.equal(await askApproval(pending, client("cancel")), "declined");
  assert.equal(await askApproval(pending, client("accept", false)), "unable");
  assert.equal(asked.length, 3);
});
