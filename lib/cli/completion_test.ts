import assert from "node:assert/strict";
import { completionScript, sshConfigHosts } from "./completion.ts";
import { UsageError } from "../errors.ts";

Deno.test("sshConfigHosts takes aliases and leaves out patterns", () => {
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

Deno.test("completionScript writes bash, zsh and fish, and refuses others", () => {
  assert.match(
    completionScript("bash"),
    /complete -o default -F _sessh_complete sessh/,
  );
  assert.match(completionScript("zsh"), /compdef _sessh sessh/);
  assert.match(completionScript("fish"), /complete -c sessh/);
  for (const shell of ["bash", "zsh", "fish"]) {
    assert.match(completionScript(shell), /sessh __complete -- /);
  }
  assert.throws(() => completionScript("tcsh"), UsageError);
});
