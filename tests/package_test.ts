/**
 * The package as JSR serves it: `deno run jsr:@sessh/cli` runs its default
 * export, `mod.ts`, which must then be the command line and, imported,
 * nothing but the library; and it ships only what runs.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh } from "./_cli.ts";
import { stagePackage } from "./_served.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MOD = `${ROOT}mod.ts`;

Deno.test("mod.ts run as a program is the command line", async () => {
  await using sshd = await startSshd();
  const ran = await sessh(sshd, [
    "run",
    "m",
    sshd.dest,
    "--",
    "echo via-$((6*7))",
  ], {
    entry: MOD,
  });
  assert.equal(ran.code, 0, ran.stderr);
  assert.equal(ran.stdout, "via-42\n");
  const listed = await sessh(sshd, ["list", sshd.dest], { entry: MOD });
  assert.match(listed.stdout, /^m\s/m, "the session the first call opened");
});

Deno.test("mod.ts imported runs nothing", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const m = await import(${
        JSON.stringify(MOD)
      }); console.log(typeof m.SesshClient)`,
    ],
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(code, 0, decoder.decode(stderr));
  assert.equal(decoder.decode(stdout), "function\n");
});

Deno.test("the published package holds the code that runs, and no tests, Python sources or build scripts", async () => {
  // Staged as the release workflow stages it: the bundle built into dist/.
  await using staged = await stagePackage();
  assert.equal(staged.code, 0, staged.text);
  const files = staged.files;
  for (
    const needed of [
      "mod.ts",
      "cli.ts",
      "lib/remote/_helper_source.ts",
      "dist/cli.js",
    ]
  ) {
    assert.ok(files.includes(needed), `${needed} is published`);
  }
  const stray = files.filter((f) =>
    /_test\.|\.py$|embed\.ts$|^tests\/|^bench\/|^scripts\//.test(f)
  );
  assert.deepEqual(stray, []);
});
