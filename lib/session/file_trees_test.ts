import assert from "node:assert/strict";
import { downloadTree, localTree } from "./file_trees.ts";
import type { Connection } from "../transport/connection.ts";
import { SesshError } from "../errors.ts";

/** A daemon connection that answers file requests from a script. */
function scripted(answers: Record<string, Record<string, unknown>>) {
  const asked: string[] = [];
  const connection = {
    request(op: string) {
      asked.push(op);
      return answers[op]
        ? Promise.resolve(answers[op])
        : Promise.reject(new SesshError("no_file", `no ${op} here`));
    },
  } as unknown as Connection;
  return { connection, asked };
}

Deno.test("a tree the host lists with a way out of the destination is refused before anything is written", async () => {
  for (
    const path of ["../escape", "a/../../escape", "/etc/passwd", "a//b", "."]
  ) {
    const dir = await Deno.makeTempDir();
    const { connection, asked } = scripted({
      flist: {
        path: "/home/me/tree",
        skipped: 0,
        entries: [
          { path: "fine.txt", dir: false, size: 1, mode: 0o644 },
          { path, dir: false, size: 1, mode: 0o644 },
        ],
      },
    });
    await assert.rejects(
      downloadTree(connection, "tree", `${dir}/got`),
      (error: unknown) =>
        error instanceof SesshError && error.code === "protocol" &&
        /would leave the destination; nothing more was copied/.test(
          error.message,
        ),
      path,
    );
    assert.deepEqual(asked, ["flist"], path);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), [], path);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a local tree is listed parents first, links left out", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/b/c`, { recursive: true });
  await Deno.writeTextFile(`${dir}/a.txt`, "aa");
  await Deno.writeTextFile(`${dir}/b/c/d.txt`, "d");
  await Deno.symlink(`${dir}/a.txt`, `${dir}/link`);
  const tree = await localTree(dir);
  assert.deepEqual(
    tree.entries.map((e) => [e.path, e.dir, e.size]),
    [["a.txt", false, 2], ["b", true, 0], ["b/c", true, 0], [
      "b/c/d.txt",
      false,
      1,
    ]],
  );
  assert.equal(tree.skipped, 1);
  await Deno.remove(dir, { recursive: true });
});
