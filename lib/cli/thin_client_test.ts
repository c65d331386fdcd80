import assert from "node:assert/strict";
import { mayBeThin } from "./thin_client.ts";

Deno.test("mayBeThin() offers the agent only the verbs it may run", async (t) => {
  const offered = [
    ["run", "w", "box", "--", "make"],
    ["--json", "status", "w", "box"],
    ["pane", "w", "box"],
    ["logs", "w", "box", "20"],
    ["run", "w", "box", "--", "grep", "--help"],
  ];
  const kept = [
    [],
    ["cp", "a", "box:b"],
    ["open", "w", "box"],
    ["logs", "w", "box", "--follow"],
    ["send", "w", "box", "--file", "x"],
    ["run", "w", "--hosts", "a,b", "--", "true"],
    ["run", "--help"],
    ["help", "run"],
  ];
  for (const args of offered) {
    await t.step(args.join(" "), () => assert.equal(mayBeThin(args), true));
  }
  for (const args of kept) {
    await t.step(
      args.join(" ") || "(none)",
      () => assert.equal(mayBeThin(args), false),
    );
  }
});
