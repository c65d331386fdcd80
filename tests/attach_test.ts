import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";
import { attach, enter, PROMPT } from "./_attach.ts";

Deno.test("attach, detach and re-attach keep the shell and replay what came meanwhile", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;

  await t.step(
    "attach starts a login shell in $HOME with the MOTD first",
    async () => {
      await using pane = await attach(sshd, ["a1", dest]);
      const screen = await pane.waitFor(PROMPT);
      const motd =
        (await Deno.readTextFile("/etc/motd").catch(() => "")).trim().split(
          "\n",
        )[0];
      if (motd) assert.ok(screen.includes(motd), screen);
      await enter(pane, "echo argv0=$0 pwd=$PWD");
      await pane.waitFor(new RegExp(`argv0=-\\w+ pwd=${sshd.home}$`, "m"));
      await enter(pane, "export FOO=kept; cd /tmp");
      await pane.keys("C-b", "d");
      assert.equal(await pane.exitStatus(), 0);
      assert.match(await pane.screen(), /^\[detached from a1\]$/m);
    },
  );

  await t.step(
    "output produced while detached is replayed on the next attach",
    async () => {
      const run = await sessh(sshd, [
        "run",
        "a1",
        dest,
        "--",
        "echo produced-while-$((1+1))-detached",
      ]);
      assert.equal(run.code, 0, run.stderr);
      await using pane = await attach(sshd, ["a1", dest]);
      await pane.waitFor(/^produced-while-2-detached$/m);
      await enter(pane, "echo FOO=$FOO in $PWD");
      await pane.waitFor(/^FOO=kept in \/tmp$/m);
      await pane.keys("C-b", "d");
      assert.equal(await pane.exitStatus(), 0);
    },
  );

  await t.step("with ~/.hushlogin a new session prints no MOTD", async () => {
    await Deno.writeTextFile(`${sshd.home}/.hushlogin`, "");
    try {
      await sessh(sshd, ["open", "hushed", dest]);
      const logs = await sessh(sshd, [
        "logs",
        "hushed",
        dest,
        "--raw",
        "--since",
        "0",
      ]);
      assert.doesNotMatch(logs.stdout, /Debian GNU\/Linux comes with/);
    } finally {
      await Deno.remove(`${sshd.home}/.hushlogin`);
    }
  });

  await t.step(
    "a second attach is refused as busy and the first is undisturbed",
    async () => {
      await using first = await attach(sshd, ["a1", dest]);
      await first.waitFor(PROMPT);
      await using second = await attach(sshd, ["a1", dest]);
      assert.notEqual(await second.exitStatus(), 0);
      assert.match(await second.screen(), /busy/);
      await enter(first, "echo still-$((40+2))");
      await first.waitFor(/^still-42$/m);
      const list = await sesshJson(sshd, ["list", dest]);
      const a1 = (list.json.sessions as { name: string; attached: boolean }[])
        .find((s) => s.name === "a1");
      assert.equal(a1?.attached, true);
      const run = await sessh(sshd, [
        "run",
        "a1",
        dest,
        "--",
        "echo agent-typed",
      ]);
      assert.equal(run.stdout, "agent-typed\n");
      await first.waitFor(/^agent-typed$/m);
      await first.keys("C-b", "d");
      assert.equal(await first.exitStatus(), 0);
    },
  );

  await t.step(
    "sessh detach NAME DEST makes the attached client exit cleanly",
    async () => {
      await using pane = await attach(sshd, ["a1", dest]);
      await pane.waitFor(PROMPT);
      const detach = await sesshJson(sshd, ["detach", "a1", dest]);
      assert.equal(detach.json.detached, true);
      assert.equal(await pane.exitStatus(), 0);
      assert.match(await pane.screen(), /^\[detached from a1\]$/m);
      const again = await sesshJson(sshd, ["detach", "a1", dest]);
      assert.equal(again.json.detached, false);
    },
  );

  await t.step(
    "inside a session, sessh list marks it CUR and sessh detach detaches",
    async () => {
      await sessh(sshd, ["open", "other", dest]);
      await using pane = await attach(sshd, ["a1", dest]);
      await pane.waitFor(PROMPT);
      await enter(pane, "sessh list");
      const screen = await pane.waitFor(/^CUR\s+NAME/m);
      assert.match(screen, /^\*\s+a1\b/m);
      assert.match(screen, /^\s+other\b/m);
      await enter(pane, "sessh detach");
      assert.equal(await pane.exitStatus(), 0);
      const outside = await sessh(sshd, [
        "run",
        "other",
        dest,
        "--",
        "env -u SESSH_SESSION sessh list",
      ]);
      assert.match(outside.stdout, /^CUR\s+NAME/m);
      assert.doesNotMatch(outside.stdout, /^\*/m);
    },
  );

  await t.step("--detach-keys none sends Ctrl-B d to the remote", async () => {
    await using pane = await attach(sshd, [
      "a1",
      dest,
      "--detach-keys",
      "none",
    ]);
    await pane.waitFor(PROMPT);
    // Keys typed before bash hands the terminal back in canonical mode would
    // reach readline or stay raw (C-d then no end of file): type them once
    // the echo before od, which runs after that hand-over, shows.
    await enter(pane, "echo od-$((6*7)); od -c | head -1");
    await pane.waitFor(/^od-42$/m);
    await pane.keys("C-b", "d", "Enter", "C-d");
    await pane.waitFor(/002\s+d\s+\\n/);
    await enter(pane, "exit 0");
    assert.equal(await pane.exitStatus(), 0);
  });

  await t.step("--detach-keys C-a q changes the detach key", async () => {
    await using pane = await attach(sshd, [
      "keys",
      dest,
      "--detach-keys",
      "C-a q",
    ]);
    await pane.waitFor(PROMPT);
    await pane.keys("C-b", "d", "BSpace");
    await enter(pane, "echo not-detached");
    await pane.waitFor(/^not-detached$/m);
    await pane.keys("C-a", "q");
    assert.equal(await pane.exitStatus(), 0);
  });

  await t.step(
    "the window size is applied at start and after a resize",
    async () => {
      await using pane = await attach(sshd, ["size", dest], {
        cols: 91,
        rows: 27,
      });
      await pane.waitFor(PROMPT);
      await enter(pane, "stty size");
      await pane.waitFor(/^27 91$/m);
      await pane.resize(120, 40);
      await enter(pane, "stty size");
      await pane.waitFor(/^40 120$/m);
      await pane.keys("C-b", "d");
      assert.equal(await pane.exitStatus(), 0);
    },
  );

  await t.step(
    "the client exits with the shell's exit status and the session is gone",
    async () => {
      await using pane = await attach(sshd, ["ending", dest]);
      await pane.waitFor(PROMPT);
      await enter(pane, "exit 3");
      assert.equal(await pane.exitStatus(), 3);
      const list = await sesshJson(sshd, ["list", dest]);
      const names = (list.json.sessions as { name: string }[]).map((s) =>
        s.name
      );
      assert.ok(!names.includes("ending"), names.join(","));
    },
  );
});

Deno.test("attach DEST picks, lists and creates sessions", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;

  await t.step(
    "with no free session it creates one; with one free it attaches to it",
    async () => {
      {
        await using pane = await attach(sshd, [dest]);
        await pane.waitFor(PROMPT);
        await enter(pane, "export MARK=first");
        await pane.keys("C-b", "d");
        assert.equal(await pane.exitStatus(), 0);
        assert.match(await pane.screen(), /^\[detached from 1\]$/m);
      }
      await using pane = await attach(sshd, [dest]);
      await pane.waitFor(PROMPT);
      await enter(pane, "echo mark=$MARK");
      await pane.waitFor(/^mark=first$/m);
      await pane.keys("C-b", "d");
      assert.equal(await pane.exitStatus(), 0);
    },
  );

  await t.step("--new always creates; --list marks busy sessions", async () => {
    await using busy = await attach(sshd, [dest, "--new"]);
    await busy.waitFor(PROMPT);
    const list = await sessh(sshd, ["attach", dest, "--list"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^#\s+INIT\s+DETACH\s+WHAT$/m);
    assert.match(list.stdout, /^2\s+\d\d:\d\d\s+busy\b/m);
    assert.match(list.stdout, /^1\s+\d\d:\d\d\s+\d\d:\d\d\b/m);
    await busy.keys("C-b", "d");
    assert.equal(await busy.exitStatus(), 0);
  });

  await t.step(
    "with several free sessions a picker asks; busy ones cannot be picked",
    async () => {
      await using holder = await attach(sshd, ["held", dest]);
      await holder.waitFor(PROMPT);
      await using pane = await attach(sshd, [dest]);
      await pane.waitFor(/attach which\?/);
      const screen = await pane.screen();
      assert.match(screen, /^held\s+\d\d:\d\d\s+busy\b/m);
      await enter(pane, "held");
      await pane.waitFor(/busy: another client is attached/);
      await enter(pane, "2");
      await pane.waitFor(PROMPT);
      await enter(pane, "echo in-$SESSH_SESSION");
      await pane.waitFor(/^in-2$/m);
      await pane.keys("C-b", "d");
      assert.equal(await pane.exitStatus(), 0);
      await holder.keys("C-b", "d");
    },
  );

  await t.step("two attaches at once: exactly one wins", async () => {
    await sessh(sshd, ["open", "race", dest]);
    await using a = await attach(sshd, ["race", dest]);
    await using b = await attach(sshd, ["race", dest]);
    const outcome = await Promise.race([
      a.exitStatus(20_000).then((code) => ({ loser: "a", code })),
      b.exitStatus(20_000).then((code) => ({ loser: "b", code })),
    ]);
    assert.notEqual(outcome.code, 0);
    const winner = outcome.loser === "a" ? b : a;
    await enter(winner, "echo winner-here");
    await winner.waitFor(/^winner-here$/m);
    await winner.keys("C-b", "d");
    assert.equal(await winner.exitStatus(), 0);
  });
});
