import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { type Destination, parseDestination } from "./destination.ts";

function assertRefused(
  text: string,
  port: string | undefined,
  pattern: RegExp,
) {
  assert.throws(() => parseDestination(text, port), (error) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.code, "invalid_destination");
    assert.equal(error.exitCode, 2);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("parseDestination() accepts the forms ssh accepts", async (t) => {
  const table: [string, string | undefined, Destination][] = [
    ["db1", undefined, { host: "db1", display: "db1" }],
    ["admin@db1.example.com", undefined, {
      host: "db1.example.com",
      user: "admin",
      display: "admin@db1.example.com",
    }],
    ["root@127.0.0.1", "2222", {
      host: "127.0.0.1",
      user: "root",
      port: 2222,
      display: "root@127.0.0.1:2222",
    }],
    ["ssh://db1", undefined, { host: "db1", display: "db1" }],
    ["ssh://admin@db1:2222", undefined, {
      host: "db1",
      user: "admin",
      port: 2222,
      display: "admin@db1:2222",
    }],
    ["ssh://admin@db1:2222", "2222", {
      host: "db1",
      user: "admin",
      port: 2222,
      display: "admin@db1:2222",
    }],
    ["ssh://[::1]", undefined, { host: "::1", display: "[::1]" }],
    ["ssh://u@[fe80::1%eth0]:22", undefined, {
      host: "fe80::1%eth0",
      user: "u",
      port: 22,
      display: "u@[fe80::1%eth0]:22",
    }],
    ["u@::1", undefined, { host: "::1", user: "u", display: "u@[::1]" }],
    ["first.last@corp@bastion", undefined, {
      host: "bastion",
      user: "first.last@corp",
      display: "first.last@corp@bastion",
    }],
    ["my_alias", "65535", {
      host: "my_alias",
      port: 65535,
      display: "my_alias:65535",
    }],
  ];
  for (const [text, port, expected] of table) {
    await t.step(`${text} ${port ?? ""}`, () => {
      assert.deepEqual(parseDestination(text, port), expected);
    });
  }
});

Deno.test("parseDestination() refuses an empty destination", () => {
  assertRefused("", undefined, /^Destination is empty; pass user@host/);
});

Deno.test("parseDestination() refuses a leading dash", () => {
  assertRefused(
    "-oProxyCommand=x",
    undefined,
    /^Destination "-oProxyCommand=x" begins with "-"; pass user@host, ssh:\/\/user@host:port or an ssh config alias$/,
  );
});

Deno.test("parseDestination() refuses a user or host beginning with a dash", () => {
  assertRefused("-x@db1", undefined, /begins with "-"/);
  assertRefused(
    "admin@-oProxyCommand=x",
    undefined,
    /^Host "-oProxyCommand=x" in "admin@-oProxyCommand=x" begins with "-"/,
  );
  assertRefused(
    "ssh://-admin@db1",
    undefined,
    /^User "-admin" in "ssh:\/\/-admin@db1" begins with "-"/,
  );
  assertRefused("ssh://[-x]", undefined, /^Host "-x" .* begins with "-"/);
});

Deno.test("parseDestination() refuses whitespace and control characters", async (t) => {
  for (
    const text of ["db 1", "db1\n", "db\t1", "db\x1b[31m", "db\x7f"]
  ) {
    await t.step(JSON.stringify(text), () => {
      assertRefused(
        text,
        undefined,
        /contains whitespace or control characters/,
      );
    });
  }
});

Deno.test("parseDestination() refuses a NUL byte and text that is not UTF-8", async (t) => {
  const table: [string, RegExp][] = [
    ["db\x001", /^Destination "db\\u00001" contains a NUL byte/],
    ["me@lab\x00.evil", /contains a NUL byte/],
    ["lab\uFFFD1", /^Destination "lab\uFFFD1" contains U\+FFFD/],
    ["ssh://me\uFFFD@lab1", /contains U\+FFFD/],
    ["lab\uD8001", /contains a lone UTF-16 surrogate/],
  ];
  for (const [text, pattern] of table) {
    await t.step(JSON.stringify(text), () => {
      assertRefused(text, undefined, pattern);
    });
  }
});

Deno.test("parseDestination() refuses shell metacharacters in host and user", async (t) => {
  for (
    const text of ["db1;id", "$(id)", "db`id`", "a|b", "'db1'", "db1&", "a\\b"]
  ) {
    await t.step(
      text,
      () =>
        assertRefused(
          text,
          undefined,
          /^Host .* contains shell metacharacters/,
        ),
    );
  }
  assertRefused(
    "a;b@db1",
    undefined,
    /^User "a;b" in "a;b@db1" contains shell metacharacters/,
  );
});

Deno.test("parseDestination() refuses an empty user or host", () => {
  assertRefused("@db1", undefined, /has an empty user before "@"/);
  assertRefused("admin@", undefined, /^Destination "admin@" has no host/);
  assertRefused("ssh://", undefined, /has no host/);
  assertRefused("ssh://admin@:22", undefined, /has no host/);
});

Deno.test("parseDestination() refuses a bad port", async (t) => {
  for (const port of ["0", "65536", "", "22a", "-1", "+22", "1e3", "123456"]) {
    await t.step(JSON.stringify(port), () => {
      assertRefused(
        "db1",
        port,
        /^Port ".*" for "db1" is not a number from 1 to 65535$/,
      );
    });
  }
  assertRefused("ssh://db1:99999", undefined, /^Port "99999"/);
  assertRefused("ssh://db1:", undefined, /^Port ""/);
});

Deno.test("parseDestination() refuses two different ports", () => {
  assertRefused(
    "ssh://db1:22",
    "2222",
    /names port 22 but the PORT argument is 2222; give the port once/,
  );
});

Deno.test("parseDestination() refuses brackets and host:port outside ssh:// URLs", () => {
  assertRefused("[::1]", undefined, /has brackets; write the address bare/);
  assertRefused(
    "db1:2222",
    undefined,
    /looks like host:port; write ssh:\/\/db1:2222/,
  );
});

Deno.test("parseDestination() refuses malformed ssh:// URLs", () => {
  assertRefused("ssh://[::1", undefined, /has "\[" without "\]"/);
  assertRefused("ssh://[::1]x", undefined, /has text after "\]"/);
  assertRefused("ssh://db1/path", undefined, /has a path/);
});
