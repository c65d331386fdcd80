import assert from "node:assert/strict";
import {
  configuredHosts,
  expandInclude,
  sshConfigEntries,
  sshConfigHosts,
} from "./ssh_config.ts";

Deno.test("sshConfigHosts() takes aliases and leaves out patterns", () => {
  const config = [
    "# a comment: Host ignored",
    "Host build-box db1 # trailing comment",
    "  HostName 127.0.0.1",
    "Host *.internal !bastion",
    "host=lab",
    'Host "quoted"',
    "Match host x",
    "Host db1",
  ].join("\n");
  assert.deepEqual(sshConfigHosts(config), [
    "build-box",
    "db1",
    "lab",
    "quoted",
  ]);
});

Deno.test("sshConfigEntries() reads Include lines, several paths and quotes", () => {
  assert.deepEqual(
    sshConfigEntries(
      'Include a.conf "with space/*" # no\n  include=~/b\nHost x\n',
    ),
    [
      { kind: "include", pattern: "a.conf" },
      { kind: "include", pattern: "with space/*" },
      { kind: "include", pattern: "~/b" },
      { kind: "host", name: "x" },
    ],
  );
});

Deno.test("configuredHosts() follows Include as ssh does", async (t) => {
  await using home = await tempHome();
  const ssh = `${home.path}/.ssh`;
  await Deno.mkdir(`${ssh}/conf.d/nested`, { recursive: true });
  await Deno.writeTextFile(
    `${ssh}/config`,
    [
      "Host first",
      "Include conf.d/*.conf",
      "Include ~/extra/ssh.conf missing.conf",
      `Include ${ssh}/conf.d/nested/[ab]?`,
      "Host last",
    ].join("\n"),
  );
  await Deno.writeTextFile(`${ssh}/conf.d/b.conf`, "Host b-host\n");
  await Deno.writeTextFile(
    `${ssh}/conf.d/a.conf`,
    "Host a-host\nInclude conf.d/nested/deep\n",
  );
  await Deno.writeTextFile(`${ssh}/conf.d/.hidden.conf`, "Host hidden\n");
  await Deno.writeTextFile(`${ssh}/conf.d/c.txt`, "Host not-conf\n");
  await Deno.writeTextFile(`${ssh}/conf.d/nested/deep`, "Host deep\n");
  await Deno.writeTextFile(`${ssh}/conf.d/nested/a1`, "Host a1\n");
  await Deno.writeTextFile(`${ssh}/conf.d/nested/c1`, "Host c1\n");
  await Deno.mkdir(`${home.path}/extra`);
  await Deno.writeTextFile(`${home.path}/extra/ssh.conf`, "Host extra\n");

  await t.step("globs sorted, relative to ~/.ssh, ~/ and nested", () => {
    assert.deepEqual(configuredHosts(home.path), [
      "first",
      "a-host",
      "deep",
      "b-host",
      "extra",
      "a1",
      "last",
    ]);
  });

  await t.step("an Include of itself stops at ssh's depth", async () => {
    await Deno.writeTextFile(`${ssh}/config`, "Host self\nInclude config\n");
    assert.deepEqual(configuredHosts(home.path), ["self"]);
  });
});

Deno.test("expandInclude() resolves relative paths under ~/.ssh/", () => {
  assert.deepEqual(expandInclude("none/x.conf", "/h"), [
    "/h/.ssh/none/x.conf",
  ]);
  assert.deepEqual(expandInclude("~/y", "/h"), ["/h/y"]);
  assert.deepEqual(expandInclude("/etc/z", "/h"), ["/etc/z"]);
  assert.deepEqual(expandInclude("/nonexistent-dir/*", "/h"), []);
});

async function tempHome(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir();
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}
