import assert from "node:assert/strict";
import { type AuditEntry, AuditLog } from "./audit.ts";

Deno.test("AuditLog writes one JSON line per entry, secret values replaced", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/audit.jsonl`;
    const entry: AuditEntry = {
      time: "2026-01-02T03:04:05.006Z",
      tool: "run",
      destination: "build1",
      session: "ci",
      arguments: {
        destination: "build1",
        session: "ci",
        command: "echo hunter22; echo ok",
        keys: ["hunter22"],
      },
      decision: "confirmed",
      exit_code: 0,
      duration_ms: 12,
    };
    {
      using audit = AuditLog.open(path);
      audit.redact("hunter22");
      audit.redact("");
      audit.write(entry);
      audit.write({ ...entry, decision: "refused", error: "usage: hunter22" });
    }
    const lines = Deno.readTextFileSync(path).split("\n");
    assert.equal(lines.length, 3);
    assert.equal(lines[2], "");
    assert.deepEqual(JSON.parse(lines[0]), {
      ...entry,
      arguments: {
        destination: "build1",
        session: "ci",
        command: "echo [secret]; echo ok",
        keys: ["[secret]"],
      },
    });
    assert.equal(JSON.parse(lines[1]).error, "usage: [secret]");
    assert.ok(!lines.join("").includes("hunter22"));
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
