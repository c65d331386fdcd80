import assert from "node:assert/strict";
import {
  MAX_CONTROL_DIR_BYTES,
  MAX_SOCKET_PATH_BYTES,
} from "../ssh/control_dir.ts";
import { agentFiles } from "./agent_protocol.ts";

Deno.test("agentFiles() keeps the agent's socket within 104 bytes in the longest control directory", () => {
  const longest = `/${"d".repeat(MAX_CONTROL_DIR_BYTES - 1)}`;
  const { socket, token, lock, log } = agentFiles(longest);
  assert.ok(socket.startsWith(`${longest}/agent-`));
  assert.ok(
    new TextEncoder().encode(socket).length <= MAX_SOCKET_PATH_BYTES,
    `${socket} fits a socket path on macOS and the BSDs`,
  );
  for (const file of [token, lock, log]) {
    assert.equal(file.slice(0, file.lastIndexOf(".")), socket.slice(0, -5));
  }
});
