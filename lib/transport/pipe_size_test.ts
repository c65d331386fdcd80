import assert from "node:assert/strict";
import { PIPE_SIZE, WIDE_PIPES_MAX, widenChildOutput } from "./pipe_size.ts";

Deno.test({
  name:
    "widenChildOutput() widens the pipe a child writes its stdout to, and only that one",
  ignore: Deno.build.os !== "linux",
  async fn() {
    // It tells the sizes of its stdin and stdout once told to, not before.
    const child = new Deno.Command("python3", {
      args: [
        "-c",
        "import fcntl, sys\nsys.stdin.readline()\n" +
        "print(fcntl.fcntl(0, 1032), fcntl.fcntl(1, 1032))",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    assert.equal(await widenChildOutput(child), true);
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
    const { stdout } = await child.output();
    const [input, output] = new TextDecoder().decode(stdout).trim().split(" ")
      .map(Number);
    assert.equal(output, PIPE_SIZE);
    assert.ok(input < PIPE_SIZE, `stdin's pipe holds ${input}`);
  },
});

Deno.test({
  name:
    "widenChildOutput() widens no more than WIDE_PIPES_MAX pipes at once, and one more once a child exits",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const spawn = () =>
      new Deno.Command("sleep", {
        args: ["30"],
        stdin: "null",
        stdout: "piped",
      }).spawn();
    const children = Array.from({ length: WIDE_PIPES_MAX + 1 }, spawn);
    try {
      const widened = [];
      for (const child of children) widened.push(await widenChildOutput(child));
      assert.deepEqual(
        widened,
        [...Array(WIDE_PIPES_MAX).fill(true), false],
      );
      const first = children.shift()!;
      first.kill();
      await first.output();
      const next = spawn();
      children.push(next);
      assert.equal(await widenChildOutput(next), true);
    } finally {
      for (const child of children) {
        child.kill();
        await child.output();
      }
    }
  },
});

Deno.test("widenChildOutput() leaves a child without a piped stdout alone", async () => {
  const child = new Deno.Command("sleep", {
    args: ["10"],
    stdin: "null",
    stdout: "null",
  }).spawn();
  try {
    assert.equal(await widenChildOutput(child), false);
  } finally {
    child.kill();
    await child.status;
  }
});
