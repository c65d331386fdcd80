import assert from "node:assert/strict";
import {
  GENERATED_BEGIN,
  GENERATED_END,
  generatedRegion,
  generatePythonProtocol,
  type ProtocolSpec,
  replaceGenerated,
  stripForUpload,
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
  daemon_errors: { protocol: "protocol", bad_request: "usage" },
  remote_exits: {
    "3": { name: "unsafe_cache_dir", by: "loader" },
    "7": { name: "x", by: "helper" },
  },
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
      'MAGIC = b"SESSH-HELPER 3\\n"',
      'SOCKET_NAME = "daemon-3.sock"',
      'REGISTRY_NAME = "sessions-3.json"',
      "MAX_FRAME = 1024",
      "MAX_BUFFER = 4096",
      "INPUT_STALL_S = 5",
      'NAME_PATTERN = r"[a-z]{1,8}"',
      'CAPS = ["run", "files"]',
      'ERR_PROTOCOL = "protocol"',
      'ERR_BAD_REQUEST = "bad_request"',
      "EXIT_X = 7",
      'TRACKED_MODES = {b"1", b"2004"}',
      'AGENT_ENV = {"PAGER": "cat", "SYSTEMD_PAGER": ""}',
    ]
  ) {
    assert.match(python, new RegExp(`^${RegExp.escape(line)}`, "m"), line);
  }
  // Only the helper's own exit codes: the loader's are in loader.py.
  assert.doesNotMatch(python, /EXIT_UNSAFE_CACHE_DIR/);
});

Deno.test("generatePythonProtocol() output runs in python3 and holds the spec's values", async () => {
  const script = generatePythonProtocol(SMALL) + `
import ast, json, re, sys
# A flat list of assignments of literal values, as protocol.py must stay.
flat = all(isinstance(node, ast.Assign) and not any(isinstance(n, ast.Name) for n in ast.walk(node.value))
           for node in ast.parse(sys.argv[1]).body)
print(json.dumps({"flat": flat, "caps": CAPS, "magic": MAGIC.decode(), "modes": sorted(m.decode() for m in TRACKED_MODES),
                  "names": [bool(re.match(NAME_PATTERN + r"\\Z", n)) for n in ("abc", "abcdefghi", "ab1", "", "ab\\n")],
                  "overlap": MATCH_OVERLAP, "env": AGENT_ENV, "err": ERR_BAD_REQUEST}))
`;
  const out = await new Deno.Command("python3", {
    args: ["-c", script, generatePythonProtocol(SMALL)],
    stdout: "piped",
  }).output();
  assert.equal(out.code, 0);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    flat: true,
    caps: ["run", "files"],
    magic: "SESSH-HELPER 3\n",
    modes: ["1", "2004"],
    names: [true, false, false, false, false],
    overlap: 16,
    env: { PAGER: "cat", SYSTEMD_PAGER: "" },
    err: "bad_request",
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

const PROSE = [
  '"""The module."""',
  "# a comment line",
  "import re  # trailing",
  'HASH = "#not a comment"',
  'TEXT = """',
  "# inside a string",
  '"""',
  'LINE = f"{HASH}#{TEXT}"',
  "",
  "",
  "def f():",
  '    """Does f.',
  "",
  '    At length."""',
  "    return re",
  "",
  "",
  "def g():",
  '    """Only a docstring."""',
  "",
  "",
  'def h(): "kept: it shares its line"',
  "",
].join("\n");

Deno.test("stripForUpload() drops comments and docstrings, keeps strings, lines and the program", async () => {
  const [stripped] = await stripForUpload([{ name: "m.py", text: PROSE }]);
  assert.equal(stripped.name, "m.py");
  assert.deepEqual(stripped.text.split("\n"), [
    '""',
    "",
    "import re",
    'HASH = "#not a comment"',
    'TEXT = """',
    "# inside a string",
    '"""',
    'LINE = f"{HASH}#{TEXT}"',
    "",
    "",
    "def f():",
    '    ""',
    "",
    "",
    "    return re",
    "",
    "",
    "def g():",
    '    ""',
    "",
    "",
    'def h(): "kept: it shares its line"',
    "",
  ]);
});

Deno.test("stripForUpload() refuses a module Python cannot parse, and says which script", async () => {
  await assert.rejects(
    stripForUpload([{ name: "bad.py", text: "def (:\n" }]),
    /Cannot strip the helper for its upload: python3 .*upload_strip\.py exited 1: .*cannot parse bad\.py/s,
  );
});
