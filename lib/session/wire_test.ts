import assert from "node:assert/strict";
import { sessionInfo } from "./wire.ts";
import { formatStatus, statusJson } from "../report/format.ts";

const WIRE = {
  name: "work",
  pid: 41,
  shell: "/bin/bash",
  created: 1767225600000,
  last_activity: 1767225660000,
  detached_at: 1767225630000,
  idle_deadline: null,
  lost: false,
  lost_at: null,
};

Deno.test("sessionInfo() gives every time as a Date", () => {
  const info = sessionInfo(WIRE);
  assert.ok(info.created instanceof Date);
  assert.equal(info.created.toISOString(), "2026-01-01T00:00:00.000Z");
  assert.ok(info.lastActivity instanceof Date);
  assert.equal(info.lastActivity.getTime(), 1767225660000);
  assert.ok(info.detachedAt instanceof Date);
  assert.equal(info.idleDeadline, null);
  assert.equal(info.lostAt, null);
  const lost = sessionInfo({ ...WIRE, lost: true, lost_at: 1767225700000 });
  assert.ok(lost.lostAt instanceof Date);
});

Deno.test("statusJson() prints the times as ISO strings, as --json always did", () => {
  const json = statusJson(
    sessionInfo({ ...WIRE, idle_deadline: 1767229200000 }),
  );
  assert.equal(json.created, "2026-01-01T00:00:00.000Z");
  assert.equal(json.last_activity, "2026-01-01T00:01:00.000Z");
  assert.equal(json.detached_at, "2026-01-01T00:00:30.000Z");
  assert.equal(json.idle_deadline, "2026-01-01T01:00:00.000Z");
  assert.equal(json.lost_at, null);
});

Deno.test("sessionInfo() reads which fields the host could not tell", () => {
  const info = sessionInfo({ ...WIRE, running: true, unknown: ["command"] });
  assert.deepEqual(info.unknown, ["command"]);
  assert.deepEqual(statusJson(info).unknown, ["command"]);
  // A daemon of an older helper sends none.
  assert.deepEqual(sessionInfo(WIRE).unknown, []);
});

Deno.test("formatStatus() says when a running command is unknown on the host", () => {
  const master = { alive: true, pid: null };
  const unknown = sessionInfo({ ...WIRE, running: true, unknown: ["command"] });
  assert.match(
    formatStatus(unknown, master),
    /^running: yes \(the command is unknown on this host\)$/m,
  );
  const known = sessionInfo({ ...WIRE, running: true, command: "make" });
  assert.match(formatStatus(known, master), /^running: make$/m);
  assert.match(formatStatus(known, master), /^cwd: unknown$/m);
});
