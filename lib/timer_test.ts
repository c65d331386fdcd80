import assert from "node:assert/strict";
import { startDeadline, startTimer } from "./timer.ts";

Deno.test("startTimer() fires once after its delay unless cancelled", async () => {
  const fired: string[] = [];
  const started = performance.now();
  const cancel = startTimer(20, () => fired.push("cancelled"));
  cancel();
  await new Promise<void>((resolve) =>
    startTimer(40, () => {
      fired.push("kept");
      resolve();
    })
  );
  assert.deepEqual(fired, ["kept"]);
  assert.ok(performance.now() - started >= 39);
});

Deno.test("startDeadline() ends a wait after its delay unless cancelled", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  using _peer = await listener.accept();
  const fired: string[] = [];
  const started = performance.now();
  const cancel = startDeadline(20, () => fired.push("cancelled"));
  cancel();
  startDeadline(40, () => {
    fired.push("kept");
    conn.close();
  });
  // A deadline that never fires fails the test rather than hanging it.
  const missed = setTimeout(() => {
    fired.push("missed");
    conn.close();
  }, 10_000);
  // The peer says nothing: only the deadline ends this read.
  const read = await conn.read(new Uint8Array(1)).catch(() => null);
  clearTimeout(missed);
  assert.equal(read, null);
  assert.deepEqual(fired, ["kept"]);
  assert.ok(performance.now() - started >= 39);
});

Deno.test("startDeadline() keeps no process alive, fired or not", async () => {
  const module = new URL("./timer.ts", import.meta.url).href;
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const { startDeadline } = await import(${JSON.stringify(module)});
       startDeadline(60_000, () => console.log("fired"));
       startDeadline(60_000, () => console.log("fired"))();
       console.log("done");`,
    ],
    stdout: "piped",
    stderr: "null",
    // Far short of the deadlines: a process they kept alive is killed.
    signal: AbortSignal.timeout(20_000),
  }).output();
  assert.equal(code, 0);
  assert.equal(new TextDecoder().decode(stdout), "done\n");
});
