import assert from "node:assert/strict";
import { TimeoutError } from "../errors.ts";
import { runCommand } from "../process.ts";
import { acquireLock } from "./lock_file.ts";

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "sessh-lock-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

Deno.test("acquireLock() creates the file with mode 0600 and locks it", async () => {
  await using dir = await tempDir();
  await using lock = await acquireLock(`${dir.path}/a.lock`);
  assert.equal(lock.path, `${dir.path}/a.lock`);
  assert.equal((await Deno.stat(lock.path)).mode! & 0o777, 0o600);
});

Deno.test("acquireLock() times out while another holder keeps the lock", async () => {
  await using dir = await tempDir();
  await using _first = await acquireLock(`${dir.path}/a.lock`);
  await assert.rejects(
    () =>
      acquireLock(`${dir.path}/a.lock`, {
        timeoutMs: 200,
        purpose: "starting the master",
      }),
    (error) => {
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.exitCode, 124);
      assert.match(
        error.message,
        /^Timed out after 0 s waiting for another sessh process to finish starting the master/,
      );
      return true;
    },
  );
});

Deno.test("acquireLock() hands the lock over once it is released", async () => {
  await using dir = await tempDir();
  const first = await acquireLock(`${dir.path}/a.lock`);
  const second = acquireLock(`${dir.path}/a.lock`, { timeoutMs: 5000 });
  setTimeout(() => first.release(), 100);
  await using _held = await second;
  first.release();
});

Deno.test("acquireLock() excludes other processes", async () => {
  await using dir = await tempDir();
  await using _lock = await acquireLock(`${dir.path}/a.lock`);
  const result = await runCommand([
    "flock",
    "--nonblock",
    `${dir.path}/a.lock`,
    "true",
  ], { timeoutMs: 5000 });
  assert.equal(result.code, 1);
});
