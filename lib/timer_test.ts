import assert from "node:assert/strict";
import { queuedTimers, settleBy, startDeadline, startTimer } from "./timer.ts";

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

Deno.test("startTimer() fires timers in the order they come due", async () => {
  const fired: string[] = [];
  await new Promise<void>((resolve) => {
    startTimer(30, () => {
      fired.push("30");
      // Started by a timer as it fires: the queue arms for it.
      startTimer(5, () => {
        fired.push("30+5");
        resolve();
      });
    });
    startTimer(10, () => fired.push("10 a"));
    startTimer(20, () => fired.push("20"));
    startTimer(10, () => fired.push("10 b"));
    startTimer(-5, () => fired.push("now"));
  });
  assert.deepEqual(fired, ["now", "10 a", "10 b", "20", "30", "30+5"]);
});

Deno.test("startTimer() keeps cancelled timers from piling up", () => {
  const kept = startTimer(60_000, () => {});
  for (let i = 0; i < 10_000; i++) startTimer(30_000, () => {})();
  assert.ok(queuedTimers() <= 4 * 1 + 64, `${queuedTimers()} queued`);
  kept();
  assert.equal(queuedTimers(), 0);
});

/**
 * Runs `body` in a process of its own with `startTimer` imported, killed
 * after 20 s: whether it exited by itself, and what it printed.
 */
async function timerScript(
  body: string,
): Promise<{ success: boolean; stdout: string }> {
  const script = `import { startTimer } from ${
    JSON.stringify(new URL("./timer.ts", import.meta.url).href)
  };\n${body}`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const deadline = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const { success, stdout } = await child.output();
  clearTimeout(deadline);
  return { success, stdout: new TextDecoder().decode(stdout) };
}

Deno.test("startTimer() keeps no process alive once no timer is live, so that a script's process ends", async () => {
  // Held by a timer, it would live for the minute; the deadline ends it.
  const { success, stdout } = await timerScript(
    `startTimer(60_000, () => console.log("fired"))();`,
  );
  assert.equal(success, true, "the process was still running at the deadline");
  assert.equal(stdout, "");
});

Deno.test("startTimer() after every timer was cancelled keeps the process alive until it fires", async () => {
  // The runtime timer of the cancelled one is let go, then taken back.
  const { success, stdout } = await timerScript(
    `startTimer(10, () => {})();\nstartTimer(50, () => console.log("fired"));`,
  );
  assert.equal(success, true, "the process was still running at the deadline");
  assert.equal(stdout, "fired\n");
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

Deno.test("settleBy() gives the value in time, null once late, and hands a late value on", async () => {
  assert.equal(await settleBy(Promise.resolve("ok"), 1000, () => {}), "ok");
  await assert.rejects(
    settleBy(Promise.reject(new Error("refused")), 1000, () => {}),
    /refused/,
  );
  // Nothing else keeps the test alive while the deadline runs.
  const alive = setTimeout(() => {}, 10_000);
  let arrive = (_value: string) => {};
  const slow = new Promise<string>((resolve) => arrive = resolve);
  const discarded: string[] = [];
  assert.equal(await settleBy(slow, 20, (v) => discarded.push(v)), null);
  arrive("late");
  await slow;
  assert.deepEqual(discarded, ["late"]);
  clearTimeout(alive);
});
