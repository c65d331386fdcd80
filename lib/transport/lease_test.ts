import assert from "node:assert/strict";
import { anchoredSshFlags } from "./lease.ts";

Deno.test("anchoredSshFlags() makes a relative -i and -F absolute against the caller's directory", () => {
  assert.deepEqual(
    anchoredSshFlags(
      { identity: "keys/id", configFile: "ssh_config", port: "22" },
      () => "/home/me/",
    ),
    {
      identity: "/home/me/keys/id",
      configFile: "/home/me/ssh_config",
      port: "22",
    },
  );
});

Deno.test("anchoredSshFlags() leaves absolute and ~ paths alone and asks for no directory", () => {
  const flags = { identity: "~/.ssh/id", configFile: "/etc/ssh/cfg" };
  assert.deepEqual(
    anchoredSshFlags(flags, () => {
      throw new Error("the directory was read");
    }),
    flags,
  );
});
