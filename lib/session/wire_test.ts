import assert from "node:assert/strict";
import { sessionInfo } from "./wire.ts";
import { statusJson } from "../report/format.ts";

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
