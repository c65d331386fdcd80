import assert from "node:assert/strict";
import { type Forward, sameForward } from "./forward_spec.ts";

const L = (spec: string): Forward => ({ kind: "L", spec });

Deno.test("sameForward() matches a forward however its spec is spelled", () => {
  const table: [Forward, Forward][] = [
    [L("8080:localhost:80"), L("8080:localhost:80")],
    [L("8080:localhost:80"), L("localhost:8080:localhost:80")],
    [L("8080:localhost:80"), L("08080:LocalHost:0080")],
    [L("*:8080:db:80"), L(":8080:db:80")],
    [L("[::1]:8080:[::1]:80"), L("[::1]:08080:[::1]:80")],
    [L("[db]:8080:x:80"), L("DB:8080:x:80")],
    [L("/tmp/a.sock:/tmp/b.sock"), L("/tmp/a.sock:/tmp/b.sock")],
    [{ kind: "D", spec: "1080" }, { kind: "D", spec: "localhost:1080" }],
    [{ kind: "R", spec: "9000:127.0.0.1:22" }, {
      kind: "R",
      spec: "localhost:9000:127.0.0.1:22",
    }],
  ];
  for (const [a, b] of table) {
    assert.ok(sameForward(a, b), `${a.spec} ${b.spec}`);
  }
});

Deno.test("sameForward() tells different forwards apart", () => {
  const table: [Forward, Forward][] = [
    [L("8080:localhost:80"), L("8081:localhost:80")],
    [L("8080:localhost:80"), L("8080:localhost:81")],
    [L("8080:localhost:80"), L("8080:db:80")],
    [L("8080:localhost:80"), L("127.0.0.1:8080:localhost:80")],
    [L("8080:localhost:80"), L("*:8080:localhost:80")],
    [L("8080:localhost:80"), { kind: "R", spec: "8080:localhost:80" }],
    [L("/tmp/A.sock:/tmp/b.sock"), L("/tmp/a.sock:/tmp/b.sock")],
  ];
  for (const [a, b] of table) {
    assert.ok(!sameForward(a, b), `${a.kind} ${a.spec} ${b.kind} ${b.spec}`);
  }
});
