import assert from "node:assert/strict";
import { confinedPath } from "./local_paths.ts";
import { SesshError } from "../errors.ts";

async function tree(): Promise<{ root: string; allowed: string }> {
  const root = await Deno.realPath(await Deno.makeTempDir());
  const allowed = `${root}/project`;
  await Deno.mkdir(`${allowed}/out`, { recursive: true });
  await Deno.mkdir(`${root}/secret`);
  await Deno.writeTextFile(`${allowed}/in.txt`, "in");
  await Deno.writeTextFile(`${root}/secret/key`, "key");
  await Deno.symlink(`${root}/secret/key`, `${allowed}/link-out`);
  await Deno.symlink(`${root}/secret`, `${allowed}/dir-out`);
  await Deno.symlink(`${allowed}/in.txt`, `${allowed}/link-in`);
  return { root, allowed };
}

function refused(code: string, pattern: RegExp) {
  return (error: unknown) =>
    error instanceof SesshError && error.code === code &&
    pattern.test(error.message);
}

Deno.test("paths inside the allowed directories resolve, links followed", async () => {
  const { root, allowed } = await tree();
  const at = { cwd: allowed };
  assert.equal(
    await confinedPath("in.txt", [allowed], "read", at),
    `${allowed}/in.txt`,
  );
  assert.equal(
    await confinedPath("link-in", [allowed], "read", at),
    `${allowed}/in.txt`,
  );
  assert.equal(
    await confinedPath("out/new.bin", [allowed], "write", at),
    `${allowed}/out/new.bin`,
  );
  assert.equal(
    await confinedPath("out", [allowed], "write", {
      ...at,
      nameInDirectory: "build.log",
    }),
    `${allowed}/out/build.log`,
  );
  // A file written replaces a link at its name: the link is not followed.
  assert.equal(
    await confinedPath("link-out", [allowed], "write", at),
    `${allowed}/link-out`,
  );
  await Deno.symlink(`${root}/secret/absent`, `${allowed}/dangling`);
  assert.equal(
    await confinedPath("dangling", [allowed], "write", at),
    `${allowed}/dangling`,
  );
  assert.equal(
    await confinedPath(
      `${root}/secret/key`,
      [allowed, `${root}/secret`],
      "read",
    ),
    `${root}/secret/key`,
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("paths that lead out, by .., a link or a name, are refused", async () => {
  const { root, allowed } = await tree();
  const at = { cwd: allowed };
  const outside = refused(
    "usage",
    /outside the local directories .*--allow-local-dir/,
  );
  await assert.rejects(
    confinedPath("../secret/key", [allowed], "read", at),
    outside,
  );
  await assert.rejects(
    confinedPath("link-out", [allowed], "read", at),
    outside,
  );
  await assert.rejects(
    confinedPath("dir-out/new", [allowed], "write", at),
    outside,
  );
  await assert.rejects(
    confinedPath("../project2/x", [allowed], "write", at),
    refused("no_file", /No directory/),
  );
  await assert.rejects(
    confinedPath(`${root}/x`, [allowed], "write", at),
    outside,
  );
  // A directory that cannot be resolved allows nothing.
  await assert.rejects(
    confinedPath("in.txt", [`${root}/absent`], "read", at),
    outside,
  );
  await assert.rejects(
    confinedPath("out", [allowed], "write", { ...at, nameInDirectory: ".." }),
    refused("usage", /give the file's path in it/),
  );
  await assert.rejects(
    confinedPath("absent.txt", [allowed], "read", at),
    refused("no_file", /No file "absent.txt" here/),
  );
  await Deno.remove(root, { recursive: true });
});
