/**
 * Read-only watchers (`attach --read-only`, `watch`): any number beside the
 * one interactive client, seeing the same screen live, their keys going
 * nowhere.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh } from "./_cli.ts";
import { attach, enter, PROMPT } from "./_attach.ts";

Deno.test("two read-only watchers see what the interactive client does, and their keys go nowhere", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  await using main = await attach(sshd, ["w", dest]);
  await main.waitFor(PROMPT);
  await enter(main, "echo before-$((1+1))");
  await main.waitFor(/^before-2$/m);

  await using first = await attach(sshd, ["--read-only", "w", dest]);
  await using second = await attach(sshd, ["w", dest], { verb: "watch" });
  // Both replay what came before they arrived.
  await first.waitFor(/^before-2$/m);
  await second.waitFor(/^before-2$/m);

  await enter(main, "echo live-$((6*7))");
  await main.waitFor(/^live-42$/m);
  await first.waitFor(/^live-42$/m);
  await second.waitFor(/^live-42$/m);

  // A watcher's keys go nowhere: a bell, and one line that says why.
  await first.type("echo typed-by-watcher");
  await first.keys("Enter");
  await first.waitFor(/watching read-only: keys go nowhere/);
  await enter(main, "echo after-$((2+3))");
  await main.waitFor(/^after-5$/m);
  const logs = await sessh(sshd, ["logs", "w", dest, "100"]);
  assert.doesNotMatch(logs.stdout, /typed-by-watcher/);

  // A watcher leaves with the detach keys; the others stay.
  await first.keys("C-b", "d");
  assert.equal(await first.exitStatus(), 0);
  assert.match(await first.screen(), /^\[detached from w\]$/m);
  await enter(main, "echo still-$((3+4))");
  await second.waitFor(/^still-7$/m);

  // The interactive client's detach does not end the watchers.
  await main.keys("C-b", "d");
  assert.equal(await main.exitStatus(), 0);
  const status = await sessh(sshd, [
    "run",
    "w",
    dest,
    "--",
    "echo from-run-$((4+5))",
  ]);
  assert.equal(status.code, 0, status.stderr);
  await second.waitFor(/^from-run-9$/m);
  await second.keys("C-b", "d");
  assert.equal(await second.exitStatus(), 0);
});

Deno.test("watch refuses a session that does not exist instead of starting one", async () => {
  await using sshd = await startSshd();
  await using pane = await attach(sshd, ["nowhere", sshd.dest], {
    verb: "watch",
  });
  assert.notEqual(await pane.exitStatus(), 0);
  assert.match(await pane.screen(), /No session named "nowhere"/);
  const list = await sessh(sshd, ["list", sshd.dest]);
  assert.match(list.stdout, /^no sessions$/m);
});
