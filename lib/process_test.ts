import assert from "node:assert/strict";
import { ConnectError } from "./errors.ts";
import { runCommand, spawnBackground, spawnPiped } from "./process.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function killQuietly(pid: number) {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

Deno.test("runCommand() collects stdout, stderr and the exit code", async () => {
  const result = await runCommand([
    "sh",
    "-c",
    "echo out; echo err >&2; exit 3",
  ]);
  assert.deepEqual(text(result.stdout), "out\n");
  assert.deepEqual(text(result.stderr), "err\n");
  assert.deepEqual(result.code, 3);
  assert.deepEqual(result.timedOut, false);
});

Deno.test("runCommand() feeds stdin and closes it", async () => {
  const result = await runCommand(["cat"], {
    stdin: new TextEncoder().encode("ping"),
    timeoutMs: 5000,
  });
  assert.deepEqual(text(result.stdout), "ping");
  assert.deepEqual(result.code, 0);
});

Deno.test("runCommand() gives the child /dev/null as stdin by default", async () => {
  const result = await runCommand(["cat"], { timeoutMs: 5000 });
  assert.deepEqual(result.code, 0);
  assert.deepEqual(result.timedOut, false);
});

Deno.test("runCommand() adds env to the environment and honours cwd", async () => {
  const result = await runCommand([
    "sh",
    "-c",
    'echo "$SESSH_T $PWD"; echo "$PATH" >&2',
  ], {
    env: { SESSH_T: "x" },
    cwd: "/",
  });
  assert.deepEqual(text(result.stdout), "x /\n");
  assert.ok(text(result.stderr).length > 1, "PATH is inherited");
});

Deno.test("runCommand() kills the child on timeout and reports 124", async () => {
  const started = performance.now();
  const result = await runCommand(["sleep", "30"], { timeoutMs: 200 });
  assert.deepEqual(result.code, 124);
  assert.deepEqual(result.timedOut, true);
  assert.ok(performance.now() - started < 5000);
});

Deno.test("runCommand() returns after the timeout even when a grandchild holds the pipes", async () => {
  const started = performance.now();
  const result = await runCommand(
    ["sh", "-c", "sleep 30 & echo $!; exec sleep 30"],
    {
      timeoutMs: 300,
    },
  );
  killQuietly(Number(text(result.stdout).trim()));
  assert.deepEqual(result.timedOut, true);
  assert.deepEqual(result.code, 124);
  assert.ok(performance.now() - started < 5000);
});

Deno.test("runCommand() returns when the child exits but a background grandchild holds the pipes", async () => {
  const started = performance.now();
  const result = await runCommand([
    "sh",
    "-c",
    "sleep 30 & echo $!; echo done >&2",
  ]);
  killQuietly(Number(text(result.stdout).trim()));
  assert.deepEqual(result.code, 0);
  assert.deepEqual(text(result.stderr), "done\n");
  assert.ok(performance.now() - started < 5000);
});

Deno.test("runCommand() reports a signal death as 128 + the signal number", async () => {
  const result = await runCommand(["sh", "-c", "kill -TERM $$"]);
  assert.deepEqual(result.code, 143);
  assert.deepEqual(result.timedOut, false);
});

Deno.test("runCommand() keeps large output intact", async () => {
  const result = await runCommand(["head", "-c", "1000000", "/dev/zero"]);
  assert.deepEqual(result.stdout.length, 1_000_000);
});

Deno.test("runCommand() refuses a missing program with ConnectError ssh_failed", async () => {
  await assert.rejects(() => runCommand(["sessh-no-such-program"]), (error) => {
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, "ssh_failed");
    assert.match(error.message, /"sessh-no-such-program"/);
    return true;
  });
});

Deno.test("runCommand() reports a missing working directory as such", async () => {
  await assert.rejects(
    () => runCommand(["true"], { cwd: "/nonexistent-sessh-dir" }),
    (error) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      assert.match(error.message, /No such cwd/);
      return true;
    },
  );
});

Deno.test("runCommand() refuses an empty argv", async () => {
  await assert.rejects(() => runCommand([]), TypeError);
});

Deno.test("spawnPiped() streams stdin to stdout", async () => {
  const child = spawnPiped(["cat"], { stderr: "null" });
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("ping"));
  await writer.close();
  const output = await child.output();
  assert.deepEqual(text(output.stdout), "ping");
  assert.deepEqual(output.code, 0);
});

Deno.test("spawnPiped() pipes stderr when asked", async () => {
  const child = spawnPiped(["sh", "-c", "echo oops >&2"], { stderr: "piped" });
  await child.stdin.close();
  const output = await child.output();
  assert.deepEqual(text(output.stderr), "oops\n");
});

Deno.test("spawnBackground() runs a child with no pipes", async () => {
  const child = spawnBackground(["sh", "-c", "exit 7"]);
  assert.deepEqual((await child.status).code, 7);
});
