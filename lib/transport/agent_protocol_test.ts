import assert from "node:assert/strict";
import {
  agentFiles,
  agentListen,
  newAgentKeys,
  parseAgentKeys,
  parsePort,
  sameKey,
} from "./agent_protocol.ts";
import { UsageError } from "../errors.ts";

Deno.test("agentListen() takes TCP on Windows or when asked, else a Unix socket", () => {
  assert.equal(agentListen({}, "linux"), "unix");
  assert.equal(agentListen({ SESSH_AGENT_LISTEN: "" }, "darwin"), "unix");
  assert.equal(agentListen({}, "windows"), "tcp");
  assert.equal(agentListen({ SESSH_AGENT_LISTEN: "tcp" }, "linux"), "tcp");
  assert.equal(agentListen({ SESSH_AGENT_LISTEN: "unix" }, "linux"), "unix");
});

Deno.test("agentListen() refuses a value it does not know, and unix on Windows", () => {
  assert.throws(
    () => agentListen({ SESSH_AGENT_LISTEN: "pipe" }, "linux"),
    (error: Error) =>
      error instanceof UsageError &&
      error.message ===
        'SESSH_AGENT_LISTEN "pipe" is not a transport; set it to "tcp" or "unix", or unset it',
  );
  assert.throws(
    () => agentListen({ SESSH_AGENT_LISTEN: "unix" }, "windows"),
    /not available on Windows/,
  );
});

Deno.test("agentFiles() keeps the files of an agent on TCP apart from one on a socket", () => {
  const unix = agentFiles("/c", "unix");
  const tcp = agentFiles("/c", "tcp");
  assert.notEqual(unix.lock, tcp.lock);
  assert.notEqual(unix.token, tcp.token);
  assert.match(tcp.port, /-tcp\.port$/);
});

Deno.test("parseAgentKeys() reads what newAgentKeys() writes, and nothing else", () => {
  const { keys, text } = newAgentKeys();
  assert.deepEqual(parseAgentKeys(text), keys);
  assert.notEqual(keys.call, keys.agent);
  assert.equal(parseAgentKeys("garbage"), null);
  assert.equal(parseAgentKeys(keys.call), null);
  assert.equal(parseAgentKeys(`${text}${text}`), null);
});

Deno.test("sameKey() compares whole keys", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  assert.equal(sameKey(bytes("abcd"), bytes("abcd")), true);
  assert.equal(sameKey(bytes("abcd"), bytes("abce")), false);
  assert.equal(sameKey(bytes("abcd"), bytes("abc")), false);
  assert.equal(sameKey(bytes(""), bytes("")), true);
});

Deno.test("parsePort() accepts a port number only", () => {
  assert.equal(parsePort("40123\n"), 40123);
  assert.equal(parsePort("0"), null);
  assert.equal(parsePort("65536"), null);
  assert.equal(parsePort("80 "), null);
  assert.equal(parsePort("-1"), null);
});
