import assert from "node:assert/strict";
import { releaseFreedMemory } from "./release_memory.ts";

const MODULE = new URL("./release_memory.ts", import.meta.url).href;

/** What `releaseFreedMemory()` returns in a process of its own, with `flags`. */
async function releasedIn(flags: string[]): Promise<string> {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/release.ts`;
    await Deno.writeTextFile(
      script,
      `const { releaseFreedMemory } = await import(${JSON.stringify(MODULE)});
console.log(await releaseFreedMemory());`,
    );
    const { stdout, stderr, success } = await new Deno.Command(
      Deno.execPath(),
      {
        args: ["run", "--no-prompt", ...flags, script],
        stdout: "piped",
        stderr: "piped",
      },
    ).output();
    assert.ok(success, new TextDecoder().decode(stderr));
    return new TextDecoder().decode(stdout).trim();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "releaseFreedMemory() trims the heap on Linux, again and again",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    assert.equal(await releaseFreedMemory(), true);
    assert.equal(await releaseFreedMemory(), true);
  },
});

Deno.test({
  name: "releaseFreedMemory() gives up quietly where FFI is not allowed",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    assert.equal(await releasedIn(["--allow-read"]), "false");
    assert.equal(await releasedIn(["--allow-all"]), "true");
  },
});
