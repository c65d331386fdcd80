import assert from "node:assert/strict";
import { holdFile } from "./held_files.ts";
import { holdsDeleted } from "../../tests/_probes.ts";

Deno.test("holdFile() keeps the file a rename replaced until it is released", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.writeTextFile(`${dir}/target`, "old");
    await Deno.writeTextFile(`${dir}/part`, "new");
    const held = await holdFile(`${dir}/target`);
    assert.ok(held, "a plain file is held");
    await Deno.rename(`${dir}/part`, `${dir}/target`);
    assert.equal(await Deno.readTextFile(`${dir}/target`), "new");
    assert.ok(await holdsDeleted(`${dir}/target`), "the old file is held");
    await held.release();
    assert.ok(!await holdsDeleted(`${dir}/target`), "released");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("holdFile() holds only a plain file: not a link, a FIFO, a directory, nothing or a relative path", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.writeTextFile(`${dir}/file`, "x");
    await Deno.symlink(`${dir}/file`, `${dir}/link`);
    await Deno.mkdir(`${dir}/dir`);
    const fifo = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] })
      .output();
    assert.ok(fifo.success);
    for (const name of ["link", "fifo", "dir", "missing"]) {
      assert.equal(await holdFile(`${dir}/${name}`), null, name);
    }
    const cwd = Deno.cwd();
    Deno.chdir(dir);
    try {
      assert.equal(await holdFile("file"), null, "relative");
    } finally {
      Deno.chdir(cwd);
    }
    // The link's file was not held through it.
    await Deno.remove(`${dir}/file`);
    assert.ok(!await holdsDeleted(`${dir}/file`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
