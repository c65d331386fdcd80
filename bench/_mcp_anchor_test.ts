import assert from "node:assert/strict";
import { mcpGoal, resultText, sshMcpArgs, withPort } from "./_mcp_anchor.ts";

Deno.test("mcpGoal() asks 0.1× on loopback and 0.5× through a delay", () => {
  assert.deepEqual(mcpGoal(0), { max: 0.1, text: "≤ 0.1×" });
  assert.deepEqual(mcpGoal(25), { max: 0.5, text: "≤ 0.5×" });
});

Deno.test("sshMcpArgs() names the host, login and key, approval off", () => {
  assert.deepEqual(
    sshMcpArgs({ host: "127.0.0.1", port: 2200, user: "u", identity: "/k" }),
    [
      "--host=127.0.0.1",
      "--port=2200",
      "--user=u",
      "--key=/k",
      "--group=dev",
      "--disableApproval",
    ],
  );
});

Deno.test("withPort() replaces the config's port and refuses a config without one", () => {
  assert.equal(
    withPort("Host a\n  HostName 127.0.0.1\n  Port 40001\n  User me\n", 5),
    "Host a\n  HostName 127.0.0.1\n  Port 5\n  User me\n",
  );
  assert.throws(() => withPort("Host a\n", 5), /names no Port/);
});

Deno.test("resultText() joins a result's text and throws on an error result", () => {
  assert.equal(
    resultText({ content: [{ type: "text", text: "a" }, { text: "b" }] }),
    "ab",
  );
  assert.throws(
    () => resultText({ isError: true, content: [{ text: "denied" }] }),
    /The tool failed: denied/,
  );
});
