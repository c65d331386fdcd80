import assert from "node:assert/strict";
import {
  agentFiles,
  agentListen,
  LEASE_ENV,
  newAgentKeys,
  parseAgentKeys,
  parsePort,
  sameKey,
} from "./agent_protocol.ts";
import { UsageError } from "../errors.ts";
import { settingsFromEnv } from "../ssh/settings.ts";
import { pickControlDir } from "../ssh/control_dir_rule.ts";
import { listenOf } from "./agent_files.ts";

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

/** The variables `read` looks at, through an environment that records them. */
function variablesRead(read: (env: Record<string, string>) => unknown) {
  const names = new Set<string>();
  const env = new Proxy({} as Record<string, string>, {
    get(_, name) {
      if (typeof name === "string") names.add(name);
      return undefined;
    },
  });
  read(env);
  return [...names];
}

Deno.test("LEASE_ENV keys the pools on every variable that shapes ssh or its control directory, and no other", () => {
  const shaping = [
    ...variablesRead((env) => settingsFromEnv(env)),
    ...(["linux", "darwin", "windows"] as const).flatMap((os) =>
      variablesRead((env) => pickControlDir({ os, env, uid: 1000 }))
    ),
    ...variablesRead((env) => listenOf(env, "linux")),
  ];
  assert.ok(shaping.includes("SESSH_KEEPALIVE"), shaping.join(" "));
  assert.ok(shaping.includes("LOCALAPPDATA"), shaping.join(" "));
  for (const name of shaping) assert.match(name, LEASE_ENV);
  for (
    const name of [
      "SESSH_TIMEOUT",
      "SESSH_JSON",
      "SESSH_TRACE_PHASES",
      "SESSH_AGENT_THIN",
      "SESSH_LOG_LINES_DEFAULT",
      "PATH",
    ]
  ) {
    assert.doesNotMatch(name, LEASE_ENV);
  }
});
