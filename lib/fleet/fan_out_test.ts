import assert from "node:assert/strict";
import { fanOut, type HostResult } from "./fan_out.ts";
import { SesshError } from "../errors.ts";

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const id = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(id);
      reject(signal.reason);
    });
  });

async function collect<T>(it: AsyncIterable<HostResult<T>>) {
  const all: HostResult<T>[] = [];
  for await (const r of it) all.push(r);
  return all;
}

Deno.test("fanOut() yields results in the order they finish", async () => {
  const delays: Record<string, number> = { a: 150, b: 10, c: 60 };
  const results = await collect(
    fanOut(["a", "b", "c"], async (h) => {
      await sleep(delays[h]);
      return h.toUpperCase();
    }, { deadlineMs: 5000 }),
  );
  assert.deepEqual(results.map((r) => r.host), ["b", "c", "a"]);
  assert.deepEqual(results.map((r) => r.ok && r.value), ["B", "C", "A"]);
});

Deno.test("fanOut() holds a hung host to its deadline without delaying the others", async () => {
  let aborted = false;
  const started = performance.now();
  const results: [HostResult<string>, number][] = [];
  for await (
    const r of fanOut(["hung", "quick"], async (h, signal) => {
      if (h === "quick") return "done";
      signal.addEventListener("abort", () => aborted = true);
      await new Promise(() => {}); // never settles, as a host in blackout
      return "never";
    }, { deadlineMs: 300 })
  ) results.push([r, performance.now() - started]);
  const [quick, hung] = results;
  assert.equal(quick[0].host, "quick");
  assert.ok(quick[1] < 250, `quick came after ${quick[1]} ms`);
  assert.equal(hung[0].host, "hung");
  assert.ok(!hung[0].ok && hung[0].error.code === "timeout");
  assert.ok(hung[1] >= 290 && hung[1] < 3000, `hung came after ${hung[1]} ms`);
  assert.ok(aborted, "the hung host's work was aborted");
});

Deno.test("fanOut() keeps at most `parallel` hosts in flight", async () => {
  let now = 0;
  let peak = 0;
  const hosts = Array.from({ length: 12 }, (_, i) => `h${i}`);
  const results = await collect(
    fanOut(hosts, async () => {
      peak = Math.max(peak, ++now);
      await sleep(20);
      now--;
    }, { deadlineMs: 5000, parallel: 3 }),
  );
  assert.equal(results.length, 12);
  assert.equal(peak, 3);
});

Deno.test("fanOut() reports a host's error as its result, a SesshError", async () => {
  const results = await collect(
    fanOut(["bad", "odd"], (h) => {
      if (h === "bad") throw new SesshError("connect_failed", "no", 255);
      return Promise.reject(new Error("odd"));
    }, { deadlineMs: 1000 }),
  );
  const codes = Object.fromEntries(
    results.map((r) => [r.host, !r.ok && r.error.code]),
  );
  assert.deepEqual(codes, { bad: "connect_failed", odd: "internal" });
});

Deno.test("fanOut() aborts the hosts in flight when the loop breaks", async () => {
  let aborts = 0;
  for await (
    const _ of fanOut(["a", "b", "c"], async (h, signal) => {
      if (h === "a") return;
      signal.addEventListener("abort", () => aborts++);
      await sleep(10_000, signal);
    }, { deadlineMs: 20_000 })
  ) break;
  assert.equal(aborts, 2);
});
