import assert from "node:assert/strict";
import {
  CAPS,
  DAEMON_ERRORS,
  ERROR_CODES,
  EVENTS,
  EXIT_CODES,
  MATCH_OVERLAP,
  MAX_BUFFER,
  MAX_FRAME,
  OPS,
  PAGER_ENV,
  PROTOCOL_VERSION,
  REMOTE_EXITS,
  SESSION_NAME,
  SPEC,
  TRACKED_MODES,
} from "./spec.ts";
import { generatedRegion, generatePythonProtocol } from "../remote/embed.ts";
import { ERROR_CODES as PUBLIC_CODES, exitCodeOf } from "../errors.ts";
import { remoteError } from "../transport/connection.ts";

const helperDir = new URL("../remote/helper/", import.meta.url).pathname;
const protocolSource = () => Deno.readTextFile(`${helperDir}protocol.py`);

// The helper's modules (not its tests, nor protocol.py that defines the
// codes), joined: where it raises and sends.
async function helperSource(): Promise<string> {
  const texts: string[] = [];
  for await (const entry of Deno.readDir(helperDir)) {
    if (!entry.name.endsWith(".py") || entry.name.endsWith("_test.py")) {
      continue;
    }
    if (entry.name === "testing.py" || entry.name === "protocol.py") continue;
    texts.push(await Deno.readTextFile(`${helperDir}${entry.name}`));
  }
  return texts.join("\n");
}

// Names a session may and may not have, for both ends' rule.
const NAMES = [
  "",
  "a",
  "build-1.2_x",
  "a".repeat(64),
  "a".repeat(65),
  "a/b",
  "a b",
  "a\n",
  "é",
  "-x",
  "..",
];

// What the helper holds, as Python sees it once imported: its constants,
// its op_ methods, what its hello says, and which names its rule takes.
const PROBE = `
import json, re, sys, types
sys.path.insert(0, sys.argv[1])
import protocol as h
import daemon, session_ops
fake = types.SimpleNamespace(hash="h", rt="/run")
hello = session_ops.op_hello(fake, None, {"version": h.PROTOCOL})
name_re = re.compile(h.NAME_PATTERN + r"\\Z")
print(json.dumps({
    "version": h.PROTOCOL, "max_frame": h.MAX_FRAME, "max_buffer": h.MAX_BUFFER,
    "match_overlap": h.MATCH_OVERLAP, "input_stall_s": h.INPUT_STALL_S,
    "magic": h.MAGIC.decode(), "socket": h.SOCKET_NAME, "registry": h.REGISTRY_NAME,
    "caps": h.CAPS, "methods": sorted(daemon.OPS),
    "error_codes": {k: v for k, v in vars(h).items() if k.startswith("ERR_")},
    "hello": {k: hello[k] for k in ("version", "max_frame", "caps")},
    "exits": {k: v for k, v in vars(h).items() if k.startswith("EXIT_")},
    "modes": sorted(int(m) for m in h.TRACKED_MODES), "pager_env": h.AGENT_ENV,
    "names": [bool(name_re.match(n)) for n in json.loads(sys.argv[2])],
}))
`;

async function probeHelper() {
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: ["-c", PROBE, helperDir, JSON.stringify(NAMES)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.equal(code, 0, dec.decode(stderr));
  return JSON.parse(dec.decode(stdout));
}

Deno.test("the helper's generated constants are those of spec.json (else run `deno task embed`)", async () => {
  assert.equal(
    generatedRegion(await protocolSource()),
    generatePythonProtocol(SPEC),
    "the generated region of helper/protocol.py is stale: run `deno task embed`",
  );
});

Deno.test("the helper, imported, holds every value of the contract", async () => {
  const helper = await probeHelper();
  assert.equal(helper.version, PROTOCOL_VERSION);
  assert.equal(helper.max_frame, MAX_FRAME);
  assert.equal(helper.max_buffer, MAX_BUFFER);
  assert.equal(helper.match_overlap, MATCH_OVERLAP);
  assert.equal(helper.input_stall_s, SPEC.limits.input_stall_s);
  assert.deepEqual(helper.caps, Object.values(CAPS));
  assert.deepEqual(helper.hello, {
    version: PROTOCOL_VERSION,
    max_frame: MAX_FRAME,
    caps: Object.values(CAPS),
  });
  assert.equal(helper.magic, `SESSH-HELPER ${PROTOCOL_VERSION}\n`);
  assert.equal(helper.socket, `daemon-${PROTOCOL_VERSION}.sock`);
  assert.equal(helper.registry, `sessions-${PROTOCOL_VERSION}.json`);
  assert.deepEqual(
    helper.error_codes,
    Object.fromEntries(
      Object.keys(DAEMON_ERRORS).map((
        code,
      ) => [`ERR_${code.toUpperCase()}`, code]),
    ),
  );
  assert.deepEqual(
    helper.exits,
    Object.fromEntries(
      Object.entries(REMOTE_EXITS).filter(([, exit]) => exit.by === "helper")
        .map((
          [code, exit],
        ) => [`EXIT_${exit.name.toUpperCase()}`, Number(code)]),
    ),
  );
  assert.deepEqual(helper.modes, [...TRACKED_MODES].sort((a, b) => a - b));
  assert.deepEqual(helper.pager_env, PAGER_ENV);
  assert.deepEqual(helper.names, NAMES.map((name) => SESSION_NAME.test(name)));
  assert.deepEqual(
    NAMES.map((name) => SESSION_NAME.test(name)),
    [false, true, true, true, false, false, false, false, false, true, true],
  );
});

Deno.test("every op the daemon answers is in the contract, and every op of the contract is answered", async () => {
  const helper = await probeHelper();
  assert.deepEqual(helper.methods, Object.keys(OPS).sort());
});

Deno.test("every code the helper refuses with is in the contract, and each is raised", async () => {
  const source = await helperSource();
  // The helper names its codes by their ERR_ constants, never as strings.
  assert.doesNotMatch(
    source,
    /(?:HelperError\(|\.fail\([^,\n]*, |fail_input\([^,\n]*, )"[a-z_]+"/,
  );
  const raised = new Set(
    [...source.matchAll(/\bERR_([A-Z_]+)\b/g)].map((m) => m[1].toLowerCase()),
  );
  assert.deepEqual([...raised].sort(), Object.keys(DAEMON_ERRORS).sort());
});

Deno.test("every event the daemon sends is in the contract", async () => {
  const source = await helperSource();
  const sent = new Set(
    [...source.matchAll(/"ev": "([a-z_]+)"|\bev="([a-z_]+)"/g)].map((m) =>
      m[1] ?? m[2]
    ),
  );
  // `lost` is the local agent's, about a bridge it lent.
  assert.deepEqual(
    [...sent].sort(),
    Object.keys(EVENTS).filter((ev) => ev !== EVENTS.lost).sort(),
  );
});

Deno.test("each code the daemon refuses with becomes the error the contract says, with its exit code", () => {
  for (const [code, reported] of Object.entries(DAEMON_ERRORS)) {
    const error = remoteError({ ok: false, code, message: "m", name: "s" });
    assert.equal(error.code, reported, code);
    assert.equal(error.exitCode, EXIT_CODES[reported], code);
  }
});

Deno.test("the error codes sessh reports are the contract's, each with one exit code", () => {
  assert.deepEqual(PUBLIC_CODES, Object.keys(SPEC.errors));
  assert.deepEqual(ERROR_CODES, PUBLIC_CODES);
  for (const code of ERROR_CODES) {
    assert.equal(exitCodeOf(code), SPEC.errors[code].exit, code);
  }
});
