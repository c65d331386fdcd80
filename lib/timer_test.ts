import assert from "node:assert/strict";
import { startTimer } from "./timer.ts";

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
