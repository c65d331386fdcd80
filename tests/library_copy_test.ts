/**
 * The library's `upload` and `download` choose their way as `sessh cp`
 * does: a file beyond 8 MiB through the host's sftp subsystem over the
 * master, a smaller one (or any, with `via: "helper"`) through the daemon,
 * and the daemon on a host without sftp, said in `notice`. Through sftp a
 * copy still lands whole or not at all: an aborted one rejects with the
 * signal's reason, leaves the old file, removes its part (keeps it with
 * `resume`, which the next copy continues) and leaves no sftp running.
 * Which way the bytes went is read from sshd's own log, not from the
 * result alone.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd, usesControlMaster } from "./_sshd.ts";
import { SesshClient, SesshError } from "../mod.ts";
import { DAEMON_COPY_MAX } from "../lib/session/sftp_copy.ts";
import { partUnderWay, sizeOf, sparseFile } from "./_files.ts";

function connectTo(sshd: TestSshd): Promise<SesshClient> {
  return SesshClient.connect({
    destination: sshd.dest,
    env: sshd.env,
    ssh: { configFile: sshd.configFile },
  });
}

/** How many sftp sessions sshd has started so far. */
async function sftpSessions(sshd: TestSshd): Promise<number> {
  const log = await Deno.readTextFile(sshd.logFile);
  return log.match(/Starting session: subsystem 'sftp'/g)?.length ?? 0;
}

/** `size` random bytes (one random MiB repeated, each copy marked apart). */
function randomBytes(size: number): Uint8Array {
  const data = new Uint8Array(size);
  const block = new Uint8Array(1 << 20);
  for (let i = 0; i < block.length; i += 65536) {
    crypto.getRandomValues(block.subarray(i, i + 65536));
  }
  for (let at = 0, n = 0; at < size; at += block.length, n++) {
    data.set(block.subarray(0, Math.min(block.length, size - at)), at);
    data[at] = n & 0xff;
  }
  return data;
}

/** The sftp processes this one started that still run. */
async function sftpChildren(): Promise<number[]> {
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`)
      .catch(() => "");
    const match = /^\d+ \((.*)\) (\S) (\d+)/s.exec(stat);
    if (match?.[1] === "sftp" && match[2] !== "Z" && +match[3] === Deno.pid) {
      found.push(Number(entry.name));
    }
  }
  return found;
}

Deno.test("upload and download take sftp beyond 8 MiB and the daemon below, byte for byte, and say which", async (t) => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const dir = await Deno.makeTempDir({ dir: sshd.dir });
  const big = randomBytes(DAEMON_COPY_MAX + (1 << 20));
  const small = big.subarray(0, DAEMON_COPY_MAX);
  await Deno.writeFile(`${dir}/big.bin`, big);
  await Deno.writeFile(`${dir}/small.bin`, small);
  const master = usesControlMaster();

  const cases = [
    // [name, file, via asked, the way expected]
    ["beyond 8 MiB, by default", "big", undefined, master ? "sftp" : "helper"],
    ["8 MiB, by default", "small", undefined, "helper"],
    ["beyond 8 MiB, via helper", "big", "helper", "helper"],
    ["8 MiB, via sftp", "small", "sftp", "sftp"],
  ] as const;
  for (const [name, file, via, expected] of cases) {
    await t.step(`${name}: ${expected} both ways`, async () => {
      const data = file === "big" ? big : small;
      const before = await sftpSessions(sshd);
      const sent = await client.upload(`${dir}/${file}.bin`, `up-${file}.bin`, {
        via,
      });
      assert.deepEqual(sent, {
        remotePath: `${sshd.home}/up-${file}.bin`,
        localPath: `${dir}/${file}.bin`,
        bytes: data.length,
        resumedFrom: 0,
        via: expected,
      });
      assert.deepEqual(
        await Deno.readFile(`${sshd.home}/up-${file}.bin`),
        data,
      );
      const got = await client.download(
        `up-${file}.bin`,
        `${dir}/down-${file}.bin`,
        { via },
      );
      assert.equal(got.via, expected);
      assert.equal(got.bytes, data.length);
      assert.deepEqual(await Deno.readFile(`${dir}/down-${file}.bin`), data);
      // sshd started an sftp session for each copy through sftp (over the
      // master, or a connection of its own without one), and for none
      // through the daemon.
      assert.equal(
        await sftpSessions(sshd) - before,
        expected === "sftp" ? 2 : 0,
      );
    });
  }

  await t.step("over a file there, through sftp: replaced whole", async () => {
    await Deno.writeTextFile(`${sshd.home}/over.bin`, "old");
    await Deno.writeTextFile(`${dir}/over.bin`, "old");
    await client.upload(`${dir}/big.bin`, "over.bin");
    await client.download("up-big.bin", `${dir}/over.bin`);
    assert.deepEqual(await Deno.readFile(`${sshd.home}/over.bin`), big);
    assert.deepEqual(await Deno.readFile(`${dir}/over.bin`), big);
  });

  await t.step("a tree through sftp is refused with what to do", async () => {
    await assert.rejects(
      client.upload(dir, "tree", { recursive: true, via: "sftp" }),
      (error: unknown) =>
        error instanceof SesshError && error.code === "usage" &&
        /leave out via: "sftp", or copy the tree with sessh cp -r/.test(
          error.message,
        ),
    );
  });

  await t.step(
    "a download through sftp is still kept within the directories allowed",
    async () => {
      const outside = await Deno.makeTempDir({ dir: sshd.dir });
      await assert.rejects(
        client.download("up-big.bin", `${outside}/x.bin`, {
          via: "sftp",
          within: [await Deno.realPath(dir)],
        }),
        (error: unknown) =>
          error instanceof SesshError && /x\.bin/.test(error.message),
      );
      assert.deepEqual([...Deno.readDirSync(outside)], []);
    },
  );
});

Deno.test("an aborted copy through sftp rejects with the reason, leaves the old file and no sftp, and resume continues it", async (t) => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const local = await Deno.makeTempDir({ dir: sshd.dir });
  // Large enough to be caught in flight.
  const size = 400 << 20;
  await sparseFile(`${local}/big.bin`, size);
  await Deno.copyFile(`${local}/big.bin`, `${sshd.home}/big.bin`);
  const old = "the old file, which must survive\n".repeat(1000);
  const reason = new Error("the caller's own reason");

  for (const resume of [false, true]) {
    for (const direction of ["upload", "download"] as const) {
      await t.step(`${direction}${resume ? ", with resume" : ""}`, async () => {
        const name = `${direction}-${resume}.bin`;
        const [target, dir] = direction === "download"
          ? [`${local}/${name}`, local]
          : [`${sshd.home}/${name}`, sshd.home];
        await Deno.writeTextFile(target, old);
        const part = `${dir}/.${name}.sessh-part`;
        const stop = new AbortController();
        const copy = (signal?: AbortSignal) =>
          direction === "upload"
            ? client.upload(`${local}/big.bin`, target, {
              via: "sftp",
              resume,
              signal,
            })
            : client.download("big.bin", target, {
              via: "sftp",
              resume,
              signal,
            });
        const pending = copy(stop.signal);
        pending.catch(() => {});
        await partUnderWay(part);
        assert.notDeepEqual(await sftpChildren(), []);
        stop.abort(reason);
        await assert.rejects(pending, (error) => error === reason);
        assert.equal(await Deno.readTextFile(target), old);
        assert.deepEqual(await sftpChildren(), []);
        if (!resume) {
          // The daemon may finish a write it had before it removes the part.
          const gone = Date.now() + 5000;
          while (await sizeOf(part) >= 0 && Date.now() < gone) {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          assert.equal(await sizeOf(part), -1, `${part} remains`);
          return;
        }
        const cut = await sizeOf(part);
        assert.ok(cut > 0 && cut < size, `${cut} bytes in the part`);
        const resumed = await copy();
        assert.ok(resumed.resumedFrom > 0, JSON.stringify(resumed));
        assert.equal(resumed.via, "sftp");
        assert.equal(await sizeOf(target), size);
        assert.equal(await sizeOf(part), -1);
      });
    }
  }
});

Deno.test("on a host without sftp a large file goes through the daemon, and the result says why", async () => {
  await using sshd = await startSshd({ sftp: false });
  await using client = await connectTo(sshd);
  const dir = await Deno.makeTempDir({ dir: sshd.dir });
  const data = randomBytes(DAEMON_COPY_MAX + (1 << 20));
  await Deno.writeFile(`${dir}/a.bin`, data);
  const sent = await client.upload(`${dir}/a.bin`, "a.bin");
  const got = await client.download("a.bin", `${dir}/b.bin`);
  assert.deepEqual(await Deno.readFile(`${dir}/b.bin`), data);
  for (const copied of [sent, got]) {
    assert.equal(copied.via, "helper");
    // Without a master the daemon is the way anyway: no sftp was missed.
    if (usesControlMaster()) {
      assert.match(
        copied.notice ?? "",
        /has no sftp subsystem; copied through the sessh daemon/,
      );
    } else assert.equal(copied.notice, undefined);
  }
  // Asked for by name, sftp's absence is an error, not a detour.
  await assert.rejects(
    client.upload(`${dir}/a.bin`, "c.bin", { via: "sftp" }),
    (error: unknown) =>
      error instanceof SesshError && /sftp/.test(error.message),
  );
});
