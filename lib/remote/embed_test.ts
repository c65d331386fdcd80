import assert from "node:assert/strict";
import {
  GENERATED_BEGIN,
  GENERATED_END,
  generatedRegion,
  generatePythonProtocol,
  type ProtocolSpec,
  replaceGenerated,
} from "./embed.ts";

const SMALL: ProtocolSpec = {
  version: 3,
  limits: {
    max_frame: 1024,
    max_buffer: 4096,
    match_overlap: 16,
    input_stall_s: 5,
  },
  ops: { hello: {}, ping: {} },
  caps: { run: "", files: "" },
  events: { output: {} },
  daemon_errors: { protocol: "protocol", bad_request: "usage" },
  remote_exits: { "3": { name: "unsafe_cache_dir" }, "7": { name: "x" } },
  tracked_modes: [1, 2004],
  session_name: { chars: "a-z", min: 1, max: 8 },
  pager_env: { PAGER: "cat", SYSTEMD_PAGER: "" },
};

Deno.test("generatePythonProtocol() writes each value as a flat Python assignment", () => {
  const python = generatePythonProtocol(SMALL);
  assert.ok(python.startsWith(GENERATED_BEGIN + "\n"));
  assert.ok(python.endsWith(GENERATED_END + "\n"));
  for (
    const line of [
      "PROTOCOL = 3",
      "MAX_FRAME = 1024",
      "MAX_BUFFER = 4096",
      "INPUT_STALL_S = 5",
      'OPS = ("hello", "ping")',
      'CAPS = ["run", "files"]',
      'EVENTS = ("output",)',
      'ERROR_CODES = ("protocol", "bad_request")',
      "EXIT_UNSAFE_CACHE_DIR = 3",
      "EXIT_X = 7",
      'TRACKED_MODES = frozenset((b"1", b"2004"))',
      'AGENT_ENV = {"PAGER": "cat", "SYSTEMD_PAGER": ""}',
    ]
  ) {
    assert.match(python, new RegExp(`^${RegExp.escape(line)}`, "m"), line);
  }
});

Deno.test("generatePythonProtocol() output runs in python3 and holds the spec's values", async () => {
  const script = generatePythonProtocol(SMALL) + `
import json, re
print(json.dumps({"ops": OPS, "caps": CAPS, "events": EVENTS, "modes": sorted(m.decode() for m in TRACKED_MODES),
                  "names": [bool(re.match(NAME_PATTERN, n)) for n in ("abc", "abcdefghi", "ab1", "", "ab\\n")],
                  "overlap": MATCH_OVERLAP, "env": AGENT_ENV}))
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", script],
    stdout: "piped",
  }).output();
  assert.equal(out.code, 0);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    ops: ["hello", "ping"],
    caps: ["run", "files"],
    events: ["output"],
    modes: ["1", "2004"],
    names: [true, false, false, false, false],
    overlap: 16,
    env: { PAGER: "cat", SYSTEMD_PAGER: "" },
  });
});

Deno.test("replaceGenerated() swaps the region and nothing else, and refuses a source without one", () => {
  const source =
    `import re\n${GENERATED_BEGIN}\nPROTOCOL = 0\n${GENERATED_END}\nrest\n`;
  const next = generatePythonProtocol(SMALL);
  const replaced = replaceGenerated(source, next);
  assert.equal(replaced, `import re\n${next}rest\n`);
  assert.equal(generatedRegion(replaced), next);
  assert.equal(replaceGenerated(replaced, next), replaced);
  assert.throws(
    () => replaceGenerated("import re\n", next),
    /one generated region/,
  );
  assert.throws(
    () => replaceGenerated(source + source, next),
    /one generated region/,
  );
});
