import assert from "node:assert/strict";
import {
  confirmFlags,
  everywhereReadOnly,
  type OperatorPolicy,
  rulesFor,
} from "./policy.ts";
import type { Profile } from "./profiles.ts";
import { UsageError } from "../errors.ts";

const none: OperatorPolicy = {
  allowHosts: [],
  readOnly: false,
  confirm: [],
  confirmCommand: [],
};
const profile = (name: string, fields: Partial<Profile>): Profile => ({
  name,
  allow: [],
  readOnly: false,
  confirm: [],
  confirmCommand: [],
  ...fields,
});
const build = profile("build", { allow: ["build*"], confirm: ["close"] });
const prod = profile("prod", {
  allow: ["prod-*", "*-db"],
  readOnly: true,
  confirmCommand: [/^sudo /],
});
const db = profile("db", { allow: ["*-db"], confirm: ["run"] });

Deno.test("rulesFor() with no limits allows any destination, read-write", () => {
  const rules = rulesFor(none, "me@anywhere");
  assert.deepEqual(rules, {
    allowed: true,
    readOnly: false,
    confirm: new Set(),
    confirmCommand: [],
    profiles: [],
    readOnlyBy: [],
  });
});

Deno.test("rulesFor() applies the profiles that match, the stricter winning", async (t) => {
  const policy = { ...none, profiles: [build, prod, db] };
  await t.step("a build box is read-write", () => {
    const rules = rulesFor(policy, "me@build1");
    assert.ok(rules.allowed);
    assert.equal(rules.readOnly, false);
    assert.deepEqual([...rules.confirm], ["close"]);
    assert.deepEqual(rules.profiles, ["build"]);
  });
  await t.step("production is read-only", () => {
    const rules = rulesFor(policy, "prod-1");
    assert.ok(rules.allowed);
    assert.equal(rules.readOnly, true);
  });
  await t.step("two profiles: every limit of each", () => {
    const rules = rulesFor(policy, "prod-db");
    assert.ok(rules.allowed);
    assert.equal(rules.readOnly, true);
    assert.deepEqual([...rules.confirm], ["run"]);
    assert.deepEqual(rules.confirmCommand, [/^sudo /]);
    assert.deepEqual(rules.profiles, ["prod", "db"]);
    assert.deepEqual(rules.readOnlyBy, ["profile prod"]);
  });
  await t.step("a destination no profile names is refused", () => {
    assert.deepEqual(rulesFor(policy, "me@laptop"), {
      allowed: false,
      reason:
        'The destination "me@laptop" is not allowed here: it matches none of the operator\'s profiles (build, prod, db)',
    });
  });
  await t.step("a user in front is not the host (lab* is not prod-*)", () => {
    assert.equal(rulesFor(policy, "prod-1@laptop").allowed, false);
  });
});

Deno.test("rulesFor() adds the flags to the profiles: both must allow", async (t) => {
  const policy: OperatorPolicy = {
    allowHosts: ["build1"],
    readOnly: true,
    confirm: ["send"],
    confirmCommand: [/rm/],
    profiles: [build],
  };
  await t.step("--allow-host refuses what a profile allows", () => {
    assert.deepEqual(rulesFor(policy, "build2"), {
      allowed: false,
      reason:
        'The destination "build2" is not allowed here: the operator started sessh mcp with --allow-host build1',
    });
  });
  await t.step("--read-only and --confirm hold on a read-write profile", () => {
    const rules = rulesFor(policy, "build1");
    assert.ok(rules.allowed);
    assert.equal(rules.readOnly, true);
    assert.deepEqual([...rules.confirm].sort(), ["close", "send"]);
    assert.deepEqual(rules.confirmCommand, [/rm/]);
    assert.deepEqual(rules.readOnlyBy, ["--read-only"]);
  });
});

Deno.test("everywhereReadOnly() is true for --read-only or when every profile is", () => {
  assert.equal(everywhereReadOnly(none), false);
  assert.equal(everywhereReadOnly({ ...none, readOnly: true }), true);
  assert.equal(everywhereReadOnly({ ...none, profiles: [prod] }), true);
  assert.equal(everywhereReadOnly({ ...none, profiles: [prod, db] }), false);
});

Deno.test("confirmFlags() refuses an unknown tool and a bad expression", () => {
  assert.deepEqual(confirmFlags(["run", "close"], ["^sudo "]), {
    confirm: ["run", "close"],
    confirmCommand: [/^sudo /],
  });
  assert.throws(
    () => confirmFlags(["rn"], []),
    (error) =>
      error instanceof UsageError &&
      error.message.startsWith(
        '--confirm "rn" is not a tool; name one of open, run, send, keys,',
      ),
  );
  assert.throws(
    () => confirmFlags([], ["("]),
    (error) =>
      error instanceof UsageError &&
      error.message ===
        '--confirm-command "(" is not a regular expression: Invalid regular expression: /(/: Unterminated group',
  );
});
