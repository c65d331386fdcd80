import assert from "node:assert/strict";
import { AtomicFile, partPathOf } from "./atomic_file.ts";
import { runCleanups } from "../interrupt.ts";
import { SesshError } from "../errors.ts";

const encode = (text: string) => new TextEncoder().encode(text);

async function scratch(): Promise<AsyncDisposable & { dir: string }> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  return {
    dir,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

async function write(target: string, text: string, options = {}) {
  await using out = await AtomicFile.open(target, options);
  await out.file.write(encode(text));
  await out.commit();
}

Deno.test("partPathOf() names the part beside its target", () => {
  assert.equal(partPathOf("/a/b.txt"), "/a/.b.txt.sessh-part");
  assert.equal(partPathOf("b.txt"), ".b.txt.sessh-part");
  assert.equal(partPathOf("./b.txt"), "./.b.txt.sessh-part");
});

Deno.test("AtomicFile replaces a link at the target, never writing through it", async () => {
  await using tmp = await scratch();
  await Deno.mkdir(`${tmp.dir}/in`);
  await Deno.writeTextFile(`${tmp.dir}/outside`, "keep");
  await Deno.symlink(`${tmp.dir}/outside`, `${tmp.dir}/in/sym`);
  await Deno.link(`${tmp.dir}/outside`, `${tmp.dir}/in/hard`);
  await Deno.symlink(`${tmp.dir}/absent`, `${tmp.dir}/in/dangling`);
  for (const name of ["sym", "hard", "dangling"]) {
    await write(`${tmp.dir}/in/${name}`, `new ${name}`);
    assert.equal(
      await Deno.readTextFile(`${tmp.dir}/in/${name}`),
      `new ${name}`,
    );
    assert.ok((await Deno.lstat(`${tmp.dir}/in/${name}`)).isFile, name);
  }
  assert.equal(await Deno.readTextFile(`${tmp.dir}/outside`), "keep");
  await assert.rejects(Deno.lstat(`${tmp.dir}/absent`));
  assert.deepEqual(
    (await Array.fromAsync(Deno.readDir(`${tmp.dir}/in`))).map((e) => e.name)
      .sort(),
    ["dangling", "hard", "sym"],
  );
});

Deno.test("AtomicFile leaves the old file whole until commit, and removes its part when dropped", async () => {
  await using tmp = await scratch();
  const target = `${tmp.dir}/f.txt`;
  await Deno.writeTextFile(target, "old");
  {
    await using out = await AtomicFile.open(target);
    await out.file.write(encode("half"));
    assert.equal(await Deno.readTextFile(target), "old");
    assert.equal(await Deno.readTextFile(out.partPath), "half");
  }
  assert.equal(await Deno.readTextFile(target), "old");
  await assert.rejects(Deno.lstat(partPathOf(target)));
});

Deno.test("AtomicFile keeps a resumable part, continues it, and replaces one not asked for", async () => {
  await using tmp = await scratch();
  const target = `${tmp.dir}/f.txt`;
  {
    await using out = await AtomicFile.open(target, { keepPart: true });
    await out.file.write(encode("abc"));
  }
  assert.equal(await Deno.readTextFile(partPathOf(target)), "abc");
  {
    await using out = await AtomicFile.open(target, {
      continuePart: true,
      keepPart: true,
    });
    assert.equal(out.start, 3);
    await out.file.write(encode("def"));
    await out.commit();
  }
  assert.equal(await Deno.readTextFile(target), "abcdef");
  await Deno.writeTextFile(partPathOf(target), "stale");
  await write(target, "x");
  assert.equal(await Deno.readTextFile(target), "x");
  // A part that is a link is not continued: it is replaced.
  await Deno.writeTextFile(`${tmp.dir}/outside`, "keep");
  await Deno.symlink(`${tmp.dir}/outside`, partPathOf(target));
  await write(target, "y", { continuePart: true });
  assert.equal(await Deno.readTextFile(`${tmp.dir}/outside`), "keep");
  assert.equal(await Deno.readTextFile(target), "y");
});

Deno.test("AtomicFile removes its part when a signal stops sessh", async () => {
  await using tmp = await scratch();
  const target = `${tmp.dir}/f.txt`;
  await Deno.writeTextFile(target, "old");
  const out = await AtomicFile.open(target);
  await out.file.write(encode("half"));
  const notes = await runCleanups(1000);
  assert.deepEqual(notes, [
    `${target} left as it was; removed ${out.partPath}`,
  ]);
  await assert.rejects(Deno.lstat(out.partPath));
  assert.equal(await Deno.readTextFile(target), "old");
  await out[Symbol.asyncDispose]();
});

Deno.test("AtomicFile refuses a directory, a device and a parent outside `within`", async () => {
  await using tmp = await scratch();
  await Deno.mkdir(`${tmp.dir}/allowed`);
  await Deno.mkdir(`${tmp.dir}/other`);
  await Deno.symlink(`${tmp.dir}/other`, `${tmp.dir}/allowed/way-out`);
  const refused = (code: string, pattern: RegExp) => (error: unknown) =>
    error instanceof SesshError && error.code === code &&
    pattern.test(error.message);
  await assert.rejects(
    AtomicFile.open(`${tmp.dir}/allowed`),
    refused("usage", /is a directory; give a file path/),
  );
  await assert.rejects(
    AtomicFile.open("/dev/null"),
    refused("usage", /not a regular file \(a device, a pipe or a socket\)/),
  );
  await assert.rejects(
    AtomicFile.open(`${tmp.dir}/absent/f`),
    refused("no_file", /No directory .* create it first/),
  );
  await assert.rejects(
    AtomicFile.open(`${tmp.dir}/allowed/way-out/f`, {
      within: [`${tmp.dir}/allowed`],
    }),
    refused("usage", /outside the local directories the operator allowed/),
  );
  assert.deepEqual(await Array.fromAsync(Deno.readDir(`${tmp.dir}/other`)), []);
  await write(`${tmp.dir}/allowed/f`, "in", { within: [`${tmp.dir}/allowed`] });
  assert.equal(await Deno.readTextFile(`${tmp.dir}/allowed/f`), "in");
});
