import assert from "node:assert/strict";
import { completionScript } from "./completion.ts";
import { keyCompletions } from "./verbs/completions.ts";
import { UsageError } from "../errors.ts";

Deno.test("keyCompletions() offers key names by prefix, in any case", () => {
  assert.deepEqual(keyCompletions("pa"), ["PageUp", "PageDown"]);
  assert.deepEqual(keyCompletions("C-"), ["C-c", "C-d", "C-z", "C-l"]);
  assert.ok(keyCompletions("").includes("Enter"));
  assert.deepEqual(keyCompletions("zz"), []);
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
