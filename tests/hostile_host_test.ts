/**
 * A hostile host: the sessh helper on it is patched (through its cache, as
 * the loader finds it) to send crafted `flist` and `fstat` replies: a top
 * that names its parent (`<dir>/..`), entries with `..`, absolute paths and
 * line breaks. `cp -r` both ways, through sftp and through the daemon,
 * writes nothing outside the destination.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sesshJson } from "./_cli.ts";
import { HELPER_HASH } from "../lib/remote/_helper_source.ts";
import { readHelperFiles } from "../lib/remote/embed.ts";

const HELPER_DIR = new URL("../lib/remote/helper/", import.meta.url);

/**
 * Daemon operations replaced by crafted ones in its OPS table, chosen by the name of the
 * directory asked for.
 */
const PATCH = `
from file_ops import file_path

_real_flist, _real_fstat, _real_fread = OPS["flist"], OPS["fstat"], OPS["fread"]

def _craft(path):
    return os.path.basename(path.rstrip("/"))

def _hostile_flist(daemon, client, msg):
    reply = _real_flist(daemon, client, msg)
    kind, victim = _craft(reply["path"]), os.environ.get("HOME", "/") + "/../local/victim.txt"
    extra = {"top-dotdot": None, "entry-dotdot": "../victim.txt", "entry-deep": "sub/../../victim.txt",
             "entry-absolute": victim, "entry-newline": "bad\\nname.txt", "entry-empty": "sub//x"}.get(kind)
    if kind == "top-dotdot":
        reply["path"] = reply["path"] + "/.."
        reply["entries"] = [{"path": "victim.txt", "dir": False, "size": 6, "mode": 0o644}]
    elif extra is not None:
        reply["entries"].append({"path": extra, "dir": False, "size": 6, "mode": 0o644})
    return reply

def _hostile_fstat(daemon, client, msg):
    reply = _real_fstat(daemon, client, msg)
    if _craft(reply["path"]) in ("top-dotdot", "up-target"):
        reply["path"] = reply["path"] + "/.."
    return reply

def _hostile_fread(daemon, client, msg):
    reply = _real_fread(daemon, client, msg)
    if _craft(file_path(msg)) == "flood.txt":
        reply["data"] = b"F" * (4 << 20)
    return reply

OPS.update(flist=_hostile_flist, fstat=_hostile_fstat, fread=_hostile_fread)
`;

/** Every path under `dir` with its contents, for a before-and-after check. */
async function snapshot(dir: string, skip: string): Promise<string[]> {
  const seen: string[] = [];
  const walk = async (path: string) => {
    for await (const entry of Deno.readDir(path)) {
      const full = `${path}/${entry.name}`;
      if (full === skip) continue;
      if (entry.isDirectory) await walk(full);
      else seen.push(`${full}=${await Deno.readTextFile(full)}`);
    }
  };
  await walk(dir);
  return seen.sort();
}

Deno.test("cp -r from a hostile host writes nothing outside the destination, through sftp and the daemon", async (t) => {
  await using sshd = await startSshd();
  // The helper as the loader would unpack it, its daemon's OPS patched.
  const cache = `${sshd.remoteCacheDir}/sessh`;
  const helper = `${cache}/helper-${HELPER_HASH}`;
  await Deno.mkdir(helper, { recursive: true, mode: 0o700 });
  await Deno.chmod(sshd.remoteCacheDir, 0o700);
  await Deno.chmod(cache, 0o700);
  for (const { name, text } of await readHelperFiles(HELPER_DIR)) {
    await Deno.writeTextFile(
      `${helper}/${name}`,
      name === "daemon.py" ? text + PATCH : text,
    );
  }
  // The host's side: one directory per trick, each with a file in it.
  const kinds = [
    "top-dotdot",
    "entry-dotdot",
    "entry-deep",
    "entry-absolute",
    "entry-newline",
    "entry-empty",
  ];
  for (const kind of kinds) {
    await Deno.mkdir(`${sshd.home}/${kind}/sub`, { recursive: true });
    await Deno.writeTextFile(`${sshd.home}/${kind}/sub/x`, "x");
  }
  await Deno.writeTextFile(`${sshd.home}/victim.txt`, "HACKED");
  // This machine's side: the destination, and a file beside it.
  const local = `${sshd.dir}/local`;
  await Deno.mkdir(local);
  await Deno.writeTextFile(`${local}/victim.txt`, "mine");
  const dest = sshd.dest;

  for (const via of ["helper", "sftp"]) {
    for (const kind of kinds) {
      await t.step(`${kind} --via ${via}`, async () => {
        const inner = `${local}/inner-${via}-${kind}`;
        await Deno.mkdir(inner);
        const before = await snapshot(local, inner);
        const got = await sesshJson(sshd, [
          "cp",
          "-r",
          "--via",
          via,
          `${dest}:${kind}`,
          inner,
        ]);
        assert.deepEqual(await snapshot(local, inner), before);
        assert.equal(await Deno.readTextFile(`${local}/victim.txt`), "mine");
        if (kind === "top-dotdot") {
          // The top is named from the path typed: the host's name is unused.
          assert.equal(got.code, 0, JSON.stringify(got.json));
          assert.equal(got.json.local_path, `${inner}/${kind}`);
          assert.equal(
            await Deno.readTextFile(`${inner}/${kind}/victim.txt`),
            "HACKED",
          );
          return;
        }
        assert.equal(got.code, 1, JSON.stringify(got.json));
        const error = got.json.error as Record<string, unknown>;
        assert.equal(error.code, "hostile_listing", JSON.stringify(error));
        assert.match(String(error.message), /nothing was copied/);
        // Refused whole: not even the directories were made.
        assert.deepEqual(await Array.fromAsync(Deno.readDir(inner)), []);
      });
    }
  }

  await t.step("a host that sends more than the file holds", async () => {
    await Deno.writeTextFile(`${sshd.home}/flood.txt`, "small\n");
    const got = await sesshJson(sshd, [
      "cp",
      "--via",
      "helper",
      `${dest}:${sshd.home}/flood.txt`,
      `${local}/flood.txt`,
    ]);
    assert.equal(got.code, 0, JSON.stringify(got.json));
    assert.equal(got.json.bytes, 6);
    assert.equal((await Deno.stat(`${local}/flood.txt`)).size, 6);
  });

  await t.step("cp -r up to a host that names its parent", async () => {
    const tree = `${local}/tree`;
    await Deno.mkdir(tree);
    await Deno.writeTextFile(`${tree}/f`, "f");
    await Deno.mkdir(`${sshd.home}/up-target`);
    for (const via of ["helper", "sftp"]) {
      const before = await snapshot(local, "");
      const got = await sesshJson(sshd, [
        "cp",
        "-r",
        "--via",
        via,
        tree,
        `${dest}:${sshd.home}/up-target`,
      ]);
      assert.equal(got.code, 0, JSON.stringify(got.json));
      assert.deepEqual(await snapshot(local, ""), before);
    }
  });
});
