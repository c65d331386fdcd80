/**
 * An interrupted copy: SIGTERM to `sessh cp` mid-download and mid-upload,
 * through sftp and through the daemon, leaves the old file whole, removes
 * the part it was writing, ends every child it started (checked by pid)
 * and exits 143 with a line saying what was left. The command line's own
 * copy, with its own children: the one the local agent runs for a thin
 * client is `thin_copy_test`'s.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh, sesshJson, startSessh } from "./_cli.ts";
import { partUnderWay, sizeOf, sparseFile } from "./_files.ts";

/** The command line's own copy, not one the local agent runs. */
const FULL = { SESSH_AGENT_THIN: "0" };

/** The pids under `pid` (its children, theirs, …) with their names. */
async function descendants(pid: number): Promise<Map<number, string>> {
  const parents = new Map<number, { ppid: number; comm: string }>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`)
      .catch(() => "");
    const match = /^\d+ \((.*)\) \S+ (\d+)/s.exec(stat);
    if (match) {
      parents.set(Number(entry.name), {
        ppid: Number(match[2]),
        comm: match[1],
      });
    }
  }
  const found = new Map<number, string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const [child, { ppid, comm }] of parents) {
      if (!found.has(child) && (ppid === pid || found.has(ppid))) {
        found.set(child, comm);
        grew = true;
      }
    }
  }
  return found;
}

/** Whether a process still runs (a zombie has ended). */
async function running(pid: number): Promise<boolean> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => null);
  return stat !== null && !/^\d+ \(.*\) Z /s.test(stat);
}

Deno.test("SIGTERM to cp mid-copy leaves the old file, no part and no child, and exits 143", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const local = await Deno.makeTempDir({ dir: sshd.dir });
  // Large enough to be caught in flight.
  const big = 400 << 20;
  await sparseFile(`${local}/big.bin`, big);
  await Deno.copyFile(`${local}/big.bin`, `${sshd.home}/big.bin`);
  const old = "the old file, which must survive\n".repeat(1000);
  // The master first, so that only the copy's own children are under it.
  assert.equal((await sessh(sshd, ["open", "w", dest])).code, 0);

  for (const via of ["sftp", "helper"]) {
    for (const direction of ["download", "upload"]) {
      await t.step(`${direction} --via ${via}`, async () => {
        const name = `old-${via}-${direction}.bin`;
        const [target, dir] = direction === "download"
          ? [`${local}/${name}`, local]
          : [`${sshd.home}/${name}`, sshd.home];
        await Deno.writeTextFile(target, old);
        const part = `${dir}/.${name}.sessh-part`;
        const call = startSessh(
          sshd,
          direction === "download"
            ? ["cp", "--via", via, `${dest}:big.bin`, target]
            : ["cp", "--via", via, `${local}/big.bin`, `${dest}:${target}`],
          FULL,
        );
        await partUnderWay(part);
        // The local agent (deno) outlives calls by design; sftp and ssh not.
        const children = [...(await descendants(call.child.pid))]
          .filter(([, comm]) => comm !== "deno");
        if (via === "sftp") {
          assert.ok(
            children.some(([, comm]) => comm === "sftp"),
            JSON.stringify(children),
          );
        }
        call.child.kill("SIGTERM");
        const { code, stderr } = await call.finish();
        assert.equal(code, 143, stderr);
        assert.match(stderr, /^sessh: stopped by SIGTERM: /m);
        assert.match(stderr, /left as it was; removed /);
        assert.doesNotMatch(stderr, /Internal error| {4}at /);
        assert.equal(await Deno.readTextFile(target), old);
        // The daemon may finish a part it already had before it removes it.
        const gone = Date.now() + 5000;
        while (await sizeOf(part) >= 0 && Date.now() < gone) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.equal(await sizeOf(part), -1, `${part} remains`);
        for (const [pid, comm] of children) {
          const ended = Date.now() + 5000;
          while (await running(pid) && Date.now() < ended) {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          assert.equal(await running(pid), false, `${comm} (${pid}) runs on`);
        }
        assert.deepEqual(
          (await Array.fromAsync(Deno.readDir(dir)))
            .filter((e) => e.name.includes("sessh-part")),
          [],
        );
      });
    }
  }

  await t.step(
    "with --resume the part is kept, and the next copy continues it",
    async () => {
      for (const via of ["sftp", "helper"]) {
        for (const direction of ["download", "upload"]) {
          const name = `resume-${via}-${direction}.bin`;
          const [target, dir] = direction === "download"
            ? [`${local}/${name}`, local]
            : [`${sshd.home}/${name}`, sshd.home];
          await Deno.writeTextFile(target, old);
          const part = `${dir}/.${name}.sessh-part`;
          const args = direction === "download"
            ? ["cp", "--resume", "--via", via, `${dest}:big.bin`, target]
            : [
              "cp",
              "--resume",
              "--via",
              via,
              `${local}/big.bin`,
              `${dest}:${target}`,
            ];
          const call = startSessh(sshd, args, FULL);
          await partUnderWay(part);
          call.child.kill("SIGTERM");
          const { code, stderr } = await call.finish();
          assert.equal(code, 143, stderr);
          assert.match(stderr, /copy again with --resume to continue/);
          assert.equal(await Deno.readTextFile(target), old);
          const kept = await sizeOf(part);
          assert.ok(kept > 0, `${via} ${direction}: part kept`);
          const again = await sesshJson(sshd, args);
          assert.equal(again.code, 0, JSON.stringify(again.json));
          assert.ok(
            Number(again.json.resumed_from) > 0,
            JSON.stringify(again.json),
          );
          assert.equal(await sizeOf(target), big);
          assert.equal(await sizeOf(part), -1);
        }
      }
    },
  );

  await t.step(
    "SIGINT and SIGHUP end it the same way, exiting 130 and 129",
    async () => {
      for (
        const [signal, exit] of [["SIGINT", 130], ["SIGHUP", 129]] as const
      ) {
        const target = `${local}/old-${signal}.bin`;
        await Deno.writeTextFile(target, old);
        const part = `${local}/.old-${signal}.bin.sessh-part`;
        const call = startSessh(sshd, ["cp", `${dest}:big.bin`, target], FULL);
        await partUnderWay(part);
        call.child.kill(signal);
        const { code, stderr } = await call.finish();
        assert.equal(code, exit, stderr);
        assert.match(
          stderr,
          new RegExp(`^sessh: stopped by ${signal}: .*removed `, "m"),
        );
        assert.equal(await Deno.readTextFile(target), old);
        assert.equal(await sizeOf(part), -1);
      }
    },
  );
});
