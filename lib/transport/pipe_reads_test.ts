import assert from "node:assert/strict";
import { pipeReads } from "./pipe_reads.ts";
import { concatBytes } from "../bytes.ts";
import { widenChildOutput } from "./pipe_size.ts";

const decoder = new TextDecoder();

/** A child writing `count` bytes of a known pattern to its stdout. */
function writer(count: number): Deno.ChildProcess & AsyncDisposable {
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      "import sys\nsys.stdout.buffer.write(bytes(i % 251 for i in range(" +
      count + ")))",
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  return Object.assign(child, {
    async [Symbol.asyncDispose]() {
      try {
        child.kill();
      } catch { /* exited already */ }
      await child.status;
    },
  });
}

function pattern(count: number): Uint8Array {
  return Uint8Array.from({ length: count }, (_, i) => i % 251);
}

Deno.test("pipeReads() readView reads every byte into one buffer at a time", async () => {
  const size = 300 * 1024;
  await using child = writer(size);
  const reads = pipeReads(child.stdout);
  const parts: Uint8Array[] = [];
  let previous: Uint8Array | null = null;
  let grown = false;
  while (true) {
    const full = previous?.length === 64 * 1024;
    const view = await reads.readView();
    // The last view lent its buffer to this read: it is not a copy. Only
    // the read after the first full one takes a buffer of its own.
    if (previous && full && !grown) grown = true;
    else if (previous) assert.equal(previous.byteLength, 0);
    if (view === null) break;
    assert.ok(view.length > 0 && view.length <= 64 * 1024);
    parts.push(view.slice());
    previous = view;
  }
  assert.deepEqual(concatBytes(parts), pattern(size));
});

Deno.test({
  name:
    "pipeReads() readView takes a widened pipe's flood in one read once a read filled its buffer",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const size = 900_000;
    // It writes its bytes at once, then says so on stderr: all of them are
    // in the pipe by then, which only a widened one holds.
    await using child = Object.assign(
      new Deno.Command("python3", {
        args: [
          "-c",
          "import sys\nsys.stdin.readline()\n" +
          `sys.stdout.buffer.write(bytes(i % 251 for i in range(${size})))\n` +
          "sys.stdout.flush()\nsys.stderr.write('written\\n')\n" +
          "sys.stderr.flush()\n" +
          "sys.stdin.readline()",
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn(),
      {
        async [Symbol.asyncDispose](this: Deno.ChildProcess) {
          await this.stdin.close().catch(() => {});
          await this.status;
        },
      },
    );
    assert.equal(await widenChildOutput(child), true);
    const input = child.stdin.getWriter();
    await input.write(new TextEncoder().encode("go\n"));
    input.releaseLock();
    // A pipe left at 64 KiB blocks its write: the child is ended, and
    // says nothing.
    const stuck = setTimeout(() => child.kill(), 10_000);
    const said = await child.stderr.getReader().read();
    clearTimeout(stuck);
    assert.equal(decoder.decode(said.value), "written\n");
    const reads = pipeReads(child.stdout);
    const first = (await reads.readView())!.slice();
    assert.equal(first.length, 64 * 1024);
    const rest = (await reads.readView())!.slice();
    assert.equal(rest.length, size - first.length, "the rest in one read");
    assert.deepEqual(concatBytes([first, rest]), pattern(size));
  },
});

Deno.test("pipeReads() calls onFlood once, at the first read that fills its buffer", async () => {
  await using child = writer(300 * 1024);
  let floods = 0;
  const reads = pipeReads(child.stdout, () => floods++);
  // How many calls there had been once each read returned, by its length.
  const seen: [number, number][] = [];
  while (true) {
    const view = await reads.readView();
    if (view === null) break;
    seen.push([view.length, floods]);
  }
  assert.equal(floods, 1);
  const at = seen.findIndex(([, count]) => count === 1);
  assert.equal(seen[at][0], 64 * 1024, `reads: ${JSON.stringify(seen)}`);
  assert.ok(seen.slice(0, at).every(([length]) => length < 64 * 1024));
});

Deno.test("pipeReads() never calls onFlood for output that fills no read", async () => {
  await using child = writer(60 * 1024);
  let floods = 0;
  const reads = pipeReads(child.stdout, () => floods++);
  while (await reads.readView() !== null) { /* read through */ }
  assert.equal(floods, 0);
});

Deno.test("pipeReads() readInto fills no more than the target", async () => {
  const size = 100 * 1024;
  await using child = writer(size);
  const reads = pipeReads(child.stdout);
  const parts: Uint8Array[] = [];
  const target = new Uint8Array(1000);
  while (true) {
    const count = await reads.readInto(target);
    if (count === null) break;
    assert.ok(count > 0 && count <= target.length);
    parts.push(target.slice(0, count));
  }
  assert.deepEqual(concatBytes(parts), pattern(size));
});

Deno.test("pipeReads() reader gives chunks that outlast the next read", async () => {
  await using child = new Deno.Command("sh", {
    args: ["-c", "printf one; sleep 0.2; printf two"],
    stdout: "piped",
  }).spawn();
  const reads = pipeReads(child.stdout);
  const chunks: Uint8Array[] = [];
  while (true) {
    const { value, done } = await reads.reader.read();
    if (done) break;
    chunks.push(value);
  }
  assert.equal(chunks.map((chunk) => decoder.decode(chunk)).join(""), "onetwo");
  await child.status;
});

Deno.test("pipeReads() reader.cancel() ends the reads", async () => {
  await using child = writer(10);
  const reads = pipeReads(child.stdout);
  await reads.reader.cancel();
  assert.equal(await reads.readView(), null);
});
