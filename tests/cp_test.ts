/**
 * `sessh cp`: files to and from the host through the master, byte for byte,
 * resumed when cut short, relative to the session's directory with NAME.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson } from "./_cli.ts";

async function sha256(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  return Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", data)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

Deno.test("cp moves 100 MB both ways byte for byte, resumes a cut copy, and resolves paths in the session", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const dir = await Deno.makeTempDir({ dir: sshd.dir });
  const source = `${dir}/random.bin`;
  const size = 100 * 1024 * 1024;
  {
    const file = await Deno.open(source, { write: true, create: true });
    const part = new Uint8Array(1 << 20);
    for (let i = 0; i < size / part.length; i++) {
      crypto.getRandomValues(part.subarray(0, 65536));
      for (let j = 65536; j < part.length; j += 65536) {
        part.copyWithin(j, 0, 65536);
      }
      part[i % part.length] ^= i & 0xff;
      await file.write(part);
    }
    file.close();
  }
  const digest = await sha256(source);
  const remoteDir = `${sshd.home}/cp-target`;
  await Deno.mkdir(remoteDir);

  await t.step("up and down, byte for byte", async () => {
    const up = await sesshJson(sshd, [
      "cp",
      source,
      `${dest}:${remoteDir}/up.bin`,
    ]);
    assert.equal(up.code, 0, JSON.stringify(up.json));
    assert.equal(up.json.direction, "upload");
    assert.equal(up.json.bytes, size);
    assert.equal(await sha256(`${remoteDir}/up.bin`), digest);
    const down = await sesshJson(sshd, [
      "cp",
      `${dest}:${remoteDir}/up.bin`,
      `${dir}/down.bin`,
    ]);
    assert.equal(down.code, 0, JSON.stringify(down.json));
    assert.equal(down.json.bytes, size);
    assert.equal(await sha256(`${dir}/down.bin`), digest);
  });

  await t.step("a copy cut short resumes where it stopped", async () => {
    const partial = `${dir}/partial.bin`;
    const whole = await Deno.readFile(source);
    await Deno.writeFile(partial, whole.subarray(0, size / 3));
    const resumed = await sesshJson(sshd, [
      "cp",
      `${dest}:${remoteDir}/up.bin`,
      partial,
    ]);
    assert.equal(resumed.code, 0, JSON.stringify(resumed.json));
    assert.equal(await sha256(partial), digest);
  });

  await t.step(
    "with NAME, a relative remote path is in the session's directory",
    async () => {
      await sessh(sshd, ["run", "cpwd", dest, "--", `cd ${remoteDir}`]);
      await Deno.writeTextFile(`${dir}/note.txt`, "hello from cp\n");
      const up = await sessh(sshd, [
        "cp",
        "cpwd",
        `${dir}/note.txt`,
        `${dest}:note.txt`,
      ]);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(
        await Deno.readTextFile(`${remoteDir}/note.txt`),
        "hello from cp\n",
      );
      const cat = await sesshJson(sshd, [
        "run",
        "cpwd",
        dest,
        "--",
        "cat note.txt",
      ]);
      assert.equal(cat.json.output, "hello from cp\n");
    },
  );

  await t.step(
    "clear errors for missing paths and a cp without a remote side",
    async () => {
      const missing = await sessh(sshd, [
        "cp",
        `${dest}:${remoteDir}/nope.bin`,
        `${dir}/x`,
      ]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /cp failed: .*(not found|No such file)/i);
      const noLocal = await sessh(sshd, ["cp", `${dir}/absent`, `${dest}:x`]);
      assert.equal(noLocal.code, 2);
      assert.match(noLocal.stderr, /No file ".*absent" here to copy/);
      const bothLocal = await sessh(sshd, ["cp", `${dir}/a`, `${dir}/b`]);
      assert.equal(bothLocal.code, 2);
      assert.match(bothLocal.stderr, /One side of cp is remote/);
    },
  );
});
