/**
 * `sessh events`: a session's output and events as JSON lines, the stream
 * an agent watches a session by.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson, startSessh } from "./_cli.ts";

type Line = Record<string, unknown>;

Deno.test("events prints commands started and done, prompts, output and the exit as JSON lines", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  assert.equal(
    (await sessh(sshd, ["open", "ev", dest, "--shell", "bash"])).code,
    0,
  );
  const start = await sesshJson(sshd, ["logs", "ev", dest, "1"]);
  const watcher = startSessh(sshd, [
    "events",
    "ev",
    dest,
    "--since",
    String(start.json.cursor),
  ]);
  // Events are live: the watch must have begun before the command runs.
  await watcher.until(/"type":"watching"/);
  const ran = await sesshJson(sshd, [
    "run",
    "ev",
    dest,
    "--",
    "echo ev-$((6*7))",
  ]);
  assert.equal(ran.code, 0, ran.stderr);
  await watcher.until(/"type":"done"/);
  const asked = await sesshJson(sshd, [
    "run",
    "ev",
    dest,
    "--no-wait",
    "--",
    "read -s -p 'Password: ' pw; echo got-${#pw}",
  ]);
  assert.equal(asked.code, 0, asked.stderr);
  await watcher.until(/"type":"waiting_input"/);
  assert.equal(
    (await sessh(sshd, ["send", "ev", dest, "--enter", "--", "hunter2"])).code,
    0,
  );
  await watcher.until(/got-7/);
  await watcher.until(/"type":"done"[^\n]*\n[^]*"type":"done"/);
  assert.equal((await sessh(sshd, ["close", "ev", dest])).code, 0);
  await watcher.until(/"type":"exit"/);
  const { code, stderr } = await watcher.finish();
  assert.equal(code, 0, stderr);

  const lines = watcher.printed().trim().split("\n").map((l) =>
    JSON.parse(l) as Line
  );
  const kinds = lines.map((l) => l.type).filter((t) => t !== "output");
  assert.deepEqual(kinds, [
    "watching",
    "started",
    "done",
    "started",
    "waiting_input",
    "done",
    "exit",
  ]);
  const [, started, done, started2, prompt, done2] = lines.filter((l) =>
    l.type !== "output"
  );
  assert.equal(started.command_id, ran.json.command_id);
  assert.equal(started.command, "echo ev-$((6*7))");
  assert.equal(done.command_id, ran.json.command_id);
  assert.equal(done.exit_code, 0);
  assert.equal(typeof done.duration_ms, "number");
  assert.equal(started2.command_id, asked.json.command_id);
  assert.equal(prompt.prompt, "Password: ");
  assert.equal(done2.exit_code, 0);
  const text = lines.filter((l) => l.type === "output").map((l) => l.text)
    .join("");
  assert.match(text, /ev-42/);
  assert.doesNotMatch(text, /hunter2/, "the terminal did not echo it");
  // Output lines carry contiguous cursors.
  const outputs = lines.filter((l) => l.type === "output");
  for (let i = 1; i < outputs.length; i++) {
    assert.equal(outputs[i].start, outputs[i - 1].end);
  }
});

Deno.test("logs --follow --json prints JSON lines, not text", async () => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  assert.equal(
    (await sessh(sshd, ["open", "lj", dest, "--shell", "bash"])).code,
    0,
  );
  await sessh(sshd, ["run", "lj", dest, "--", "echo before-$((1+1))"]);
  const follower = startSessh(sshd, ["--json", "logs", "lj", dest, "--follow"]);
  await follower.until(/before-2/);
  await sessh(sshd, ["run", "lj", dest, "--", "echo after-$((2+2))"]);
  await follower.until(/after-4/);
  follower.child.kill("SIGINT");
  await follower.until(/"ok":true/);
  const { code, stderr } = await follower.finish();
  assert.equal(code, 0, stderr);
  const lines = follower.printed().trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines[0].type, "output");
  assert.match(lines[0].text, /before-2/);
  assert.ok(lines.some((l) => l.type === "output" && /after-4/.test(l.text)));
  assert.deepEqual(lines.at(-1), {
    ok: true,
    op: "logs",
    name: "lj",
    shell_exit: null,
  });
});
