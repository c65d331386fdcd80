import assert from "node:assert/strict";
import { parseForward } from "./forwards.ts";
import { UsageError } from "../errors.ts";

Deno.test("parseForward takes ssh's -L, -R and -D specs", () => {
  const ok: [("L" | "R" | "D"), string][] = [
    ["L", "8080:localhost:80"],
    ["L", "127.0.0.1:8080:db.internal:5432"],
    ["L", "8080:/run/app.sock"],
    ["R", "9000:localhost:9000"],
    ["D", "1080"],
    ["D", "127.0.0.1:1080"],
  ];
  for (const [kind, spec] of ok) {
    assert.deepEqual(parseForward(kind, spec), { kind, spec });
  }
});

Deno.test("parseForward refuses what ssh would misread or reject", () => {
  const bad: [("L" | "R" | "D"), string][] = [
    ["L", ""],
    ["L", "8080"],
    ["L", "web:localhost:80"],
    ["L", "-oProxyCommand=x"],
    ["L", "8080:localhost:80 -R 1:h:2"],
    ["L", "8080:h:80;touch x"],
    ["D", "localhost:1080:x"],
    ["D", "99999"],
  ];
  for (const [kind, spec] of bad) {
    assert.throws(
      () => parseForward(kind, spec),
      UsageError,
      `${kind} ${spec}`,
    );
  }
});
