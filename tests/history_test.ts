/**
 * Command results by id: the daemon keeps the commands `run` typed, so a
 * long job can be polled with `result` and listed with `history`, and
 * `wait --done` returns the finished command's output.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";

type Json = Record<string, unknown>;

Deno.test("history lists what run typed; result gives a command's output and status by id", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const name = "h";
  assert.equal(
    (await sessh(sshd, ["open", name, dest, "--shell", "bash"])).code,
    0,
  );

  await t.step("finished commands, listed and read back by id", async () => {
    const first = await sesshJson(sshd, [
      "run",
      name,
      dest,
      "--",
      "echo one-$((0+1))",
    ]);
    assert.equal(first.code, 0, first.stderr);
    const failed = await sesshJson(sshd, [
      "run",
      name,
      dest,
      "--",
      "echo two; false",
    ]);
    assert.equal(failed.code, 1);
    const history = await sesshJson(sshd, ["history", name, dest]);
    assert.equal(history.code, 0, history.stderr);
    const commands = history.json.commands as Json[];
    assert.deepEqual(
      commands.map((c) => [c.command_id, c.command, c.exit_code, c.running]),
      [
        [first.json.command_id, "echo one-$((0+1))", 0, false],
        [failed.json.command_id, "echo two; false", 1, false],
      ],
    );
    const table = await sessh(sshd, ["history", name, dest]);
    assert.match(table.stdout, /^ID\s+EXIT\s+TIME\s+STARTED\s+COMMAND$/m);
    assert.match(
      table.stdout,
      new RegExp(`^${failed.json.command_id}\\s+1\\s+`, "m"),
    );

    const byId = await sessh(sshd, [
      "result",
      name,
      dest,
      String(first.json.command_id),
    ]);
    assert.equal(byId.code, 0, byId.stderr);
    assert.equal(byId.stdout, "one-1\n");
    const latest = await sesshJson(sshd, ["result", name, dest]);
    assert.equal(latest.code, 1, "the latest command's own status");
    assert.equal(latest.json.output, "two\n");
    assert.equal(latest.json.command_id, failed.json.command_id);
  });

  await t.step(
    "a running command: result says so with exit 124, then gives its output once done",
    async () => {
      const started = await sesshJson(sshd, [
        "run",
        name,
        dest,
        "--no-wait",
        "--",
        "echo slow-start; sleep 2; echo slow-$((40+2))",
      ]);
      assert.equal(started.code, 0, started.stderr);
      const id = String(started.json.command_id);
      const running = await sessh(sshd, ["result", name, dest, id]);
      assert.equal(running.code, 124);
      assert.match(
        running.stderr,
        new RegExp(`command ${id} is still running`),
      );
      const waited = await sesshJson(sshd, [
        "wait",
        name,
        dest,
        "--done",
        "--timeout",
        "20",
      ]);
      assert.equal(waited.code, 0, waited.stderr);
      assert.equal(String(waited.json.command_id), id);
      assert.equal(waited.json.output, "slow-start\nslow-42\n");
      const done = await sesshJson(sshd, ["result", name, dest, id]);
      assert.equal(done.code, 0);
      assert.equal(done.json.running, false);
      assert.equal(done.json.output, "slow-start\nslow-42\n");
      assert.ok(Number(done.json.duration_ms) >= 1500);
    },
  );

  await t.step(
    "wait --done after the command already ended still returns its output",
    async () => {
      const quick = await sesshJson(sshd, [
        "run",
        name,
        dest,
        "--no-wait",
        "--",
        "echo quick-$((6*7))",
      ]);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const waited = await sesshJson(sshd, ["wait", name, dest, "--done"]);
      assert.equal(waited.code, 0, waited.stderr);
      assert.equal(waited.json.command_id, quick.json.command_id);
      assert.equal(waited.json.output, "quick-42\n");
    },
  );

  await t.step(
    "an unknown id is refused with no_command and the latest ids",
    async () => {
      const unknown = await sesshJson(sshd, ["result", name, dest, "999999"]);
      assert.equal(unknown.code, 1);
      const error = unknown.json.error as { code: string; message: string };
      assert.equal(error.code, "no_command");
      assert.match(
        error.message,
        /No command with id 999999 in the history of "h" \(the latest: [\d, ]+; see sessh history\)/,
      );
    },
  );
});

Deno.test("result of a command whose output left the buffer gives what remains and says so", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  assert.equal(
    (await sessh(sshd, [
      "open",
      "e",
      dest,
      "--shell",
      "bash",
      "--buffer-size",
      "4k",
    ])).code,
    0,
  );
  const ran = await sesshJson(sshd, [
    "run",
    "e",
    dest,
    "--",
    "seq 1 5000; echo tail-end",
  ]);
  assert.equal(ran.code, 0, ran.stderr);
  const result = await sesshJson(sshd, ["result", "e", dest]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.json.evicted, true);
  const output = String(result.json.output);
  assert.match(output, /\n5000\ntail-end\n$/);
  assert.doesNotMatch(output, /^1\n2\n/);
  const human = await sessh(sshd, ["result", "e", dest]);
  assert.match(human.stderr, /has left the buffer; this is what remains/);
});
