import assert from "node:assert/strict";
import { PIPE_SIZE, widenChildPipes } from "./pipe_size.ts";

Deno.test({
  name: "widenChildPipes() widens the pipes a child holds as stdin and stdout",
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
    assert.equal(widenChildPipes(child.pid), 2);
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
    const { stdout } = await child.output();
    assert.equal(
      new TextDecoder().decode(stdout).trim(),
      `${PIPE_SIZE} ${PIPE_SIZE}`,
    );
  },
});

Deno.test("widenChildPipes() leaves a child without pipes alone", async () => {
  const child = new Deno.Command("sleep", {
    args: ["10"],
    stdin: "null",
    stdout: "null",
  }).spawn();
  try {
    assert.equal(widenChildPipes(child.pid), 0);
  } finally {
    child.kill();
    await child.status;
  }
});
