import assert from "node:assert/strict";
import { parseProfiles, readProfiles } from "./profiles.ts";
import { UsageError } from "../errors.ts";

Deno.test("parseProfiles() reads each profile with its defaults", () => {
  const profiles = parseProfiles(
    JSON.stringify({
      profiles: {
        build: { allow: ["me@build*"] },
        prod: {
          allow: ["prod-*", "db?"],
          read_only: true,
          confirm: ["close"],
          confirm_command: ["^sudo "],
        },
      },
    }),
    "p.json",
  );
  assert.deepEqual(profiles, [
    {
      name: "build",
      allow: ["me@build*"],
      readOnly: false,
      confirm: [],
      confirmCommand: [],
    },
    {
      name: "prod",
      allow: ["prod-*", "db?"],
      readOnly: true,
      confirm: ["close"],
      confirmCommand: [/^sudo /],
    },
  ]);
});

Deno.test("parseProfiles() names the key that is wrong", async (t) => {
  const prefix = 'Invalid --profiles file "p.json": ';
  const table: [text: string, message: string][] = [
    [
      '{"profiles": {"prod": {"allow": ["a"], "raed_only": true}}}',
      "profiles.prod: Unrecognized key(s) in object: 'raed_only'",
    ],
    [
      '{"profiles": {"prod": {"allow": ["a"], "read_only": "yes"}}}',
      "profiles.prod.read_only: Expected boolean, received string",
    ],
    [
      '{"profiles": {"prod": {"allow": ["a"], "confirm": ["rn"]}}}',
      "profiles.prod.confirm.0: Invalid enum value. Expected 'open' | 'run' | " +
      "'send' | 'keys' | 'type_secret' | 'close' | 'upload' | 'download' | " +
      "'logs' | 'screen' | 'wait' | 'status' | 'list' | 'result' | " +
      "'history', received 'rn'",
    ],
    [
      '{"profiles": {"prod": {"allow": ["a"], "confirm_command": ["("]}}}',
      "profiles.prod.confirm_command.0: not a regular expression " +
      "(Invalid regular expression: /(/: Unterminated group)",
    ],
    [
      '{"profiles": {"prod": {"allow": []}}}',
      "profiles.prod.allow: name at least one host pattern",
    ],
    ['{"profiles": {"prod": {}}}', "profiles.prod.allow: Required"],
    ['{"profiles": {}}', "profiles: name at least one profile"],
    [
      '{"profile": {}}',
      "profiles: Required; Unrecognized key(s) in object: 'profile'",
    ],
    [
      '{"profiles": {"a b": {"allow": ["x"]}}}',
      "profiles.a b: a profile name is 1 to 64 letters, digits, ., _ or -",
    ],
    ["[1,", "not JSON (Unexpected end of JSON input)"],
  ];
  for (const [text, message] of table) {
    await t.step(message, () => {
      assert.throws(
        () => parseProfiles(text, "p.json"),
        (error) =>
          error instanceof UsageError && error.exitCode === 2 &&
          error.message === prefix + message,
      );
    });
  }
});

Deno.test("readProfiles() says which file it could not read", () => {
  assert.throws(
    () => readProfiles("/nonexistent/profiles.json"),
    (error) =>
      error instanceof UsageError &&
      error.message.startsWith(
        'Invalid --profiles file "/nonexistent/profiles.json": No such file',
      ),
  );
});
