import assert from "node:assert/strict";
import { hostAllowed } from "./allow_host.ts";
import { parseDestination } from "../ssh/destination.ts";

Deno.test("hostAllowed() matches the host the parser returns, not the user", async (t) => {
  const table: [pattern: string, destination: string, allowed: boolean][] = [
    ["lab*", "me@lab1", true],
    ["lab*", "lab1", true],
    ["lab*", "ssh://me@lab1:2222", true],
    ["lab*", "labaud3@aud3", false],
    ["lab*", "labaud1@127.0.0.1", false],
    ["lab*", "ssh://lab1@aud3:22", false],
    ["lab*", "lab1@lab@aud3", false],
    ["lab*", "xlab1", false],
    ["build-*", "build-x@any-host", false],
    ["build-*", "ci@build-7", true],
    // Case counts, as in ssh's Host lines: LAB1 skips the alias lab1.
    ["lab*", "LAB1", false],
    ["LAB1", "me@lab1", false],
    ["labk", "lab\u212A", false],
    // A trailing dot is another name to ssh (no alias, no search domain).
    ["lab1", "lab1.", false],
    ["lab1", "lab1.evil.example", false],
    ["lab*", "lab1.", true],
    ["*.corp", "db.corp", true],
    ["*.corp", "db.corp.evil", false],
    ["127.0.0.1", "ssh://me@127.0.0.1:2222", true],
    ["::1", "ssh://me@[::1]:22", true],
    ["lab%31", "lab1", false],
    // A pattern with @ matches user@host, and only when a user is named.
    ["me@lab*", "me@lab1", true],
    ["me@lab*", "lab1", false],
    ["me@lab*", "you@lab1", false],
    ["me@lab*", "Me@lab1", false],
    ["me@lab*", "me@LAB1", false],
    ["*@lab1", "anyone@lab1", true],
    ["*@lab1", "lab1", false],
    ["*@lab1", "lab1@aud3", false],
  ];
  for (const [pattern, destination, allowed] of table) {
    await t.step(`${pattern} ${destination}: ${allowed}`, () => {
      assert.equal(
        hostAllowed([pattern], parseDestination(destination)),
        allowed,
      );
    });
  }
});

Deno.test("hostAllowed() allows any destination without patterns, and any pattern that matches", () => {
  assert.equal(hostAllowed([], parseDestination("anything@anywhere")), true);
  assert.equal(
    hostAllowed(["db*", "lab*"], parseDestination("me@lab1")),
    true,
  );
});
