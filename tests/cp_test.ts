/**
 * `sessh cp`: files to and from the host through the master, byte for byte,
 * with sftp or through the daemon (by choice, or where the host has no sftp
 * subsystem); a copy again replaces the file, `--resume` continues only a
 * destination that holds the source's start; with NAME, relative to the
 * session's directory; a progress bar on a terminal.
 */
import assert from "node:assert/strict";
import { startSshd, usesControlMaster } from "./_sshd.ts";
import { assertTouchesNoTimers, sessh, sesshJson } from "./_cli.ts";
import { DAEMON_COPY_MAX } from "../lib/session/sftp_copy.ts";

async function sha256(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  return Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", data)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** A file of `size` random bytes (random 64 KiB blocks, each MiB marked apart). */
async function randomFile(path: string, size: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true });
  const part = new Uint8Array(Math.min(size, 1 << 20));
  for (let i = 0; i * part.length < size; i++) {
    crypto.getRandomValues(part.subarray(0, Math.min(65536, part.length)));
    for (let j = 65536; j < part.length; j += 65536) {
      part.copyWithin(j, 0, 65536);
    }
    part[i % part.length] ^= (i & 0xff) | 1;
    await file.write(
      part.subarray(0, Math.min(part.length, size - i * part.length)),
    );
  }
}

Deno.test("cp moves 100 MB both ways byte for byte, with sftp and through the daemon, and resumes only what is the source's start", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const dir = await Deno.makeTempDir({ dir: sshd.dir });
  const source = `${dir}/random.bin`;
  const size = 100 * 1024 * 1024;
  await randomFile(source, size);
  const digest = await sha256(source);
  const remoteDir = `${sshd.home}/cp-target`;
  await Deno.mkdir(remoteDir);
  /** `sessh cp [FLAGS…] --via VIA FROM TO --json`. */
  const cp = (via: string, from: string, to: string, ...flags: string[]) =>
    sesshJson(sshd, ["cp", ...flags, "--via", via, from, to]);

  for (const via of ["sftp", "helper"]) {
    await t.step(`up and down, byte for byte, --via ${via}`, async () => {
      const up = await cp(via, source, `${dest}:${remoteDir}/up-${via}.bin`);
      assert.equal(up.code, 0, JSON.stringify(up.json));
      assert.equal(up.json.direction, "upload");
      assert.equal(up.json.via, via);
      assert.equal(up.json.bytes, size);
      assert.equal(up.json.remote_path, `${remoteDir}/up-${via}.bin`);
      assert.equal(await sha256(`${remoteDir}/up-${via}.bin`), digest);
      const down = await cp(
        via,
        `${dest}:${remoteDir}/up-${via}.bin`,
        `${dir}/down-${via}.bin`,
      );
      assert.equal(down.code, 0, JSON.stringify(down.json));
      assert.equal(down.json.bytes, size);
      assert.equal(await sha256(`${dir}/down-${via}.bin`), digest);
    });
  }

  await t.step("a directory takes the file under its name", async () => {
    await Deno.writeTextFile(`${dir}/named.txt`, "by name\n");
    for (const via of ["sftp", "helper"]) {
      const up = await cp(via, `${dir}/named.txt`, `${dest}:${remoteDir}`);
      assert.equal(up.json.remote_path, `${remoteDir}/named.txt`);
      const into = await Deno.makeTempDir({ dir });
      const down = await cp(via, `${dest}:${remoteDir}/named.txt`, into);
      assert.equal(down.json.local_path, `${into}/named.txt`);
      assert.equal(await Deno.readTextFile(`${into}/named.txt`), "by name\n");
    }
  });

  await t.step(
    "a copy again replaces a different file, longer or shorter, rather than appending to it",
    async () => {
      const small = `${dir}/small.bin`;
      await randomFile(small, 3 << 20);
      for (const via of ["sftp", "helper"]) {
        for (const old of [1000, 5 << 20]) {
          await Deno.writeFile(`${remoteDir}/old.bin`, new Uint8Array(old));
          const up = await cp(via, small, `${dest}:${remoteDir}/old.bin`);
          assert.equal(up.code, 0, JSON.stringify(up.json));
          assert.equal(up.json.resumed_from, 0);
          assert.equal(
            await sha256(`${remoteDir}/old.bin`),
            await sha256(small),
          );
          await Deno.writeFile(`${dir}/old.bin`, new Uint8Array(old));
          const down = await cp(
            via,
            `${dest}:${remoteDir}/old.bin`,
            `${dir}/old.bin`,
          );
          assert.equal(down.code, 0, JSON.stringify(down.json));
          assert.equal(await sha256(`${dir}/old.bin`), await sha256(small));
        }
      }
    },
  );

  await t.step(
    "--resume continues a copy cut short, copies anew one that differs, and moves nothing for a whole one",
    async () => {
      // A smaller file than the others: each resume hashes both sides.
      const size = 24 << 20;
      const source = `${dir}/resume.bin`;
      await randomFile(source, size);
      await Deno.copyFile(source, `${remoteDir}/resume.bin`);
      const digest = await sha256(source);
      const whole = await Deno.readFile(source);
      for (const via of ["sftp", "helper"]) {
        const partial = `${dir}/partial-${via}.bin`;
        await Deno.writeFile(partial, whole.subarray(0, Math.floor(size / 3)));
        const resumed = await cp(
          via,
          `${dest}:${remoteDir}/resume.bin`,
          partial,
          "--resume",
        );
        assert.equal(resumed.code, 0, JSON.stringify(resumed.json));
        assert.equal(resumed.json.resumed_from, Math.floor(size / 3));
        assert.equal(await sha256(partial), digest);

        const remotePartial = `${remoteDir}/partial-${via}.bin`;
        await Deno.writeFile(
          remotePartial,
          whole.subarray(0, Math.floor(size / 4)),
        );
        const up = await cp(
          via,
          source,
          `${dest}:${remotePartial}`,
          "--resume",
        );
        assert.equal(up.json.resumed_from, Math.floor(size / 4));
        assert.equal(await sha256(remotePartial), digest);

        const again = await cp(
          via,
          source,
          `${dest}:${remotePartial}`,
          "--resume",
        );
        assert.equal(again.json.resumed_from, size);
        assert.equal(again.json.bytes, size);

        const differs = whole.slice(0, Math.floor(size / 5));
        differs[1000] ^= 1;
        await Deno.writeFile(partial, differs);
        const anew = await cp(
          via,
          `${dest}:${remoteDir}/resume.bin`,
          partial,
          "--resume",
        );
        assert.equal(anew.json.resumed_from, 0);
        assert.equal(await sha256(partial), digest);
      }
    },
  );

  await t.step(
    "cp -r copies a tree both ways as scp -r does, links left out",
    async () => {
      const tree = `${dir}/tree`;
      await Deno.mkdir(`${tree}/sub/deep`, { recursive: true });
      await Deno.mkdir(`${tree}/empty`);
      await Deno.writeTextFile(`${tree}/a b.txt`, "spaced\n");
      await randomFile(`${tree}/sub/deep/c.bin`, 300_000);
      await Deno.symlink(`${tree}/a b.txt`, `${tree}/link`);
      const same = async (a: string, b: string) => {
        assert.equal(await Deno.readTextFile(`${b}/a b.txt`), "spaced\n");
        assert.equal(
          await sha256(`${b}/sub/deep/c.bin`),
          await sha256(`${a}/sub/deep/c.bin`),
        );
        assert.ok((await Deno.stat(`${b}/empty`)).isDirectory);
        await assert.rejects(Deno.lstat(`${b}/link`));
      };
      const refused = await sessh(sshd, ["cp", tree, `${dest}:${remoteDir}/x`]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /tree is a directory; copy it with cp -r/);
      for (const via of ["sftp", "helper"]) {
        // A destination that does not exist becomes the tree.
        const up = await cp(
          via,
          tree,
          `${dest}:${remoteDir}/tree-${via}`,
          "-r",
        );
        assert.equal(up.code, 0, JSON.stringify(up.json));
        assert.deepEqual(
          [up.json.remote_path, up.json.files, up.json.skipped, up.json.bytes],
          [`${remoteDir}/tree-${via}`, 2, 1, 7 + 300_000],
        );
        await same(tree, `${remoteDir}/tree-${via}`);
        // One that exists takes it under its name.
        await Deno.mkdir(`${remoteDir}/into-${via}`);
        const into = await cp(
          via,
          tree,
          `${dest}:${remoteDir}/into-${via}`,
          "-r",
        );
        assert.equal(into.json.remote_path, `${remoteDir}/into-${via}/tree`);
        await same(tree, `${remoteDir}/into-${via}/tree`);
        const down = await cp(
          via,
          `${dest}:${remoteDir}/tree-${via}`,
          `${dir}/back-${via}`,
          "-r",
        );
        assert.equal(down.json.local_path, `${dir}/back-${via}`);
        assert.equal(down.json.files, 2);
        await same(tree, `${dir}/back-${via}`);
        await Deno.mkdir(`${dir}/in-${via}`);
        const downInto = await cp(
          via,
          `${dest}:${remoteDir}/tree-${via}`,
          `${dir}/in-${via}`,
          "-r",
        );
        assert.equal(downInto.json.local_path, `${dir}/in-${via}/tree-${via}`);
        await same(tree, `${dir}/in-${via}/tree-${via}`);
      }
      // A tree resumed goes through the daemon, file by file: here one
      // file is whole and one was cut.
      await cp("sftp", `${dest}:${remoteDir}/tree-sftp`, dir, "-r");
      await Deno.truncate(`${dir}/tree-sftp/sub/deep/c.bin`, 100_000);
      const resumed = await sesshJson(sshd, [
        "cp",
        "-r",
        "--resume",
        `${dest}:${remoteDir}/tree-sftp`,
        dir,
      ]);
      assert.equal(resumed.json.via, "helper");
      assert.equal(resumed.json.resumed_from, 7 + 100_000);
      await same(tree, `${dir}/tree-sftp`);
    },
  );

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
    "a progress bar on a terminal, cleared at the end",
    async () => {
      // script(1) gives the command line a terminal and keeps what it drew.
      const typescript = `${dir}/typescript`;
      const argv = [
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        new URL("../cli.ts", import.meta.url).pathname,
        "cp",
        "--via",
        "helper",
        "-F",
        sshd.configFile,
        source,
        `${dest}:${remoteDir}/progress.bin`,
      ];
      const run = await new Deno.Command("script", {
        args: ["-q", "-e", "-c", argv.map(quote).join(" "), typescript],
        env: sshd.env,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      assert.equal(run.code, 0);
      const drawn = await Deno.readTextFile(typescript);
      assert.match(
        drawn,
        /\r\[[#-]+\] +\d+% {2}[\d.]+\/104\.9 MB {2}[\d.]+ MB\/s/,
      );
      assert.ok(
        drawn.includes("\r\x1b[Ksent 104857600 bytes in"),
        drawn.slice(-200),
      );
    },
  );

  await t.step(
    "clear errors for missing paths, directories and a cp without a remote side",
    async () => {
      for (const via of ["sftp", "helper"]) {
        const missing = await cp(
          via,
          `${dest}:${remoteDir}/nope.bin`,
          `${dir}/x`,
        );
        assert.equal(missing.code, 1);
        assert.equal(failure(missing).code, "no_file");
        assert.match(failure(missing).message, /nope\.bin/);
        const noParent = await cp(
          via,
          `${dir}/note.txt`,
          `${dest}:${remoteDir}/absent/dir/note.txt`,
        );
        assert.equal(failure(noParent).code, "no_file");
      }
      const fromDir = await sessh(sshd, [
        "cp",
        `${dest}:${remoteDir}`,
        `${dir}/y`,
      ]);
      assert.equal(fromDir.code, 2);
      assert.match(fromDir.stderr, /cp-target on the host is a directory/);
      const noLocal = await sessh(sshd, ["cp", `${dir}/absent`, `${dest}:x`]);
      assert.equal(noLocal.code, 2);
      assert.match(noLocal.stderr, /No file ".*absent" here to copy/);
      const bothLocal = await sessh(sshd, ["cp", `${dir}/a`, `${dir}/b`]);
      assert.equal(bothLocal.code, 2);
      assert.match(bothLocal.stderr, /One side of cp is remote/);
    },
  );
});

Deno.test("cp on a host without the sftp subsystem copies through the daemon, and says so", async () => {
  await using sshd = await startSshd({ sftp: false });
  const dir = await Deno.makeTempDir({ dir: sshd.dir });
  // Larger than the daemon carries by choice: sftp is tried first.
  await randomFile(`${dir}/a.bin`, DAEMON_COPY_MAX + (1 << 20));
  const up = await sesshJson(sshd, [
    "cp",
    `${dir}/a.bin`,
    `${sshd.dest}:a.bin`,
  ]);
  assert.equal(up.code, 0, JSON.stringify(up.json));
  assert.equal(up.json.via, "helper");
  assert.equal(up.json.remote_path, `${sshd.home}/a.bin`);
  assert.equal(
    await sha256(`${sshd.home}/a.bin`),
    await sha256(`${dir}/a.bin`),
  );
  const down = await sessh(sshd, ["cp", `${sshd.dest}:a.bin`, `${dir}/b.bin`]);
  assert.equal(down.code, 0, down.stderr);
  // Without a master the daemon is the default way: no sftp was missed.
  if (usesControlMaster()) {
    assert.match(
      down.stderr,
      /offers no sftp subsystem|has no sftp subsystem; copied through the sessh daemon/,
    );
  }
  assert.equal(await sha256(`${dir}/b.bin`), await sha256(`${dir}/a.bin`));
  const forced = await sesshJson(sshd, [
    "cp",
    "--via",
    "sftp",
    `${dir}/a.bin`,
    `${sshd.dest}:c.bin`,
  ]);
  assert.equal(forced.code, 1);
  assert.match(
    failure(forced).message,
    /offers no sftp subsystem.*--via helper/,
  );
});

Deno.test("cp carries a file of up to 8 MiB or of no size through the daemon unless sftp is asked for, a larger one with sftp; a file of no size is read to its end either way, and a FIFO is refused rather than waited on", async () => {
  await using sshd = await startSshd();
  const dir = await Deno.makeTempDir({ dir: sshd.dir });
  const remoteDir = `${sshd.home}/sizes`;
  await Deno.mkdir(remoteDir);
  await randomFile(`${dir}/small.bin`, DAEMON_COPY_MAX);
  await randomFile(`${dir}/large.bin`, DAEMON_COPY_MAX + 1);
  await Deno.writeFile(`${dir}/empty.bin`, new Uint8Array());
  // Without a master the daemon carries every file not asked of sftp
  // (sftp would connect).
  const expected = (via: string, asked: string | null = null) =>
    asked ?? (usesControlMaster() ? via : "helper");
  /** `cp [--via VIA] FROM TO --json`, checked to succeed by VIA. */
  const copy = async (via: string | null, from: string, to: string) => {
    const result = await sesshJson(sshd, [
      "cp",
      ...(via ? ["--via", via] : []),
      from,
      to,
    ]);
    assert.equal(result.code, 0, JSON.stringify(result.json));
    return result.json;
  };
  const cases = [
    ["small", null, "helper"],
    ["large", null, "sftp"],
    ["empty", null, "helper"],
    // An empty file's own sftp path: its upload once found no part.
    ["empty", "sftp", "sftp"],
    ["small", "sftp", "sftp"],
  ] as const;
  for (const [name, asked, via] of cases) {
    const here = `${dir}/${name}.bin`;
    const there = `${remoteDir}/${name}-${asked}.bin`;
    const up = await copy(asked, here, `${sshd.dest}:${there}`);
    assert.equal(up.via, expected(via, asked), `${name} up, --via ${asked}`);
    assert.equal(await sha256(there), await sha256(here));
    const back = `${dir}/${name}-${asked}-back.bin`;
    const down = await copy(asked, `${sshd.dest}:${there}`, back);
    assert.equal(
      down.via,
      expected(via, asked),
      `${name} down, --via ${asked}`,
    );
    assert.equal(await sha256(back), await sha256(here));
  }
  // A file the host makes up as it is read says it has no size; it is read
  // to its end both ways, by the daemon and by sftp (this host is the
  // test's own).
  const version = await Deno.readTextFile("/proc/version");
  const ways = usesControlMaster() ? [null, "sftp"] : [null];
  for (const asked of ways) {
    const down = await copy(
      asked,
      `${sshd.dest}:/proc/version`,
      `${dir}/version-${asked}`,
    );
    assert.equal(down.via, expected("helper", asked));
    assert.equal(down.bytes, new TextEncoder().encode(version).length);
    assert.equal(await Deno.readTextFile(`${dir}/version-${asked}`), version);
  }
  await copy(null, "/proc/version", `${sshd.dest}:${remoteDir}/version`);
  assert.equal(await Deno.readTextFile(`${remoteDir}/version`), version);
  // A FIFO is refused at once, not waited on (by the daemon, or by sftp).
  const fifo = `${remoteDir}/fifo`;
  assert.equal(
    (await new Deno.Command("mkfifo", { args: [fifo] }).output()).code,
    0,
  );
  const refused = await sesshJson(sshd, [
    "cp",
    `${sshd.dest}:${fifo}`,
    `${dir}/fifo-copy`,
  ], { timeoutMs: 20_000 });
  assert.notEqual(refused.code, 0);
  assert.match(failure(refused).message, /not a plain file/);
});

Deno.test("cp up to a relative or ~ path lands in $HOME through sftp too, where sshd starts sftp elsewhere", async () => {
  // The fixture sets HOME (sshd's SetEnv) apart from the login's home in
  // the password database, where sshd starts the sftp subsystem.
  await using sshd = await startSshd();
  const dir = await Deno.makeTempDir({ dir: sshd.dir });
  const file = `${dir}/f.bin`;
  await randomFile(file, 4096);
  for (const [via, there] of [["sftp", "rel.bin"], ["sftp", "~/tilde.bin"]]) {
    const up = await sesshJson(sshd, [
      "cp",
      "--via",
      via,
      file,
      `${sshd.dest}:${there}`,
    ]);
    assert.equal(up.code, 0, JSON.stringify(up.json));
    const name = there.replace("~/", "");
    assert.equal(up.json.remote_path, `${sshd.home}/${name}`);
    assert.equal(await sha256(`${sshd.home}/${name}`), await sha256(file));
  }
});

function failure(result: { json: Record<string, unknown> }) {
  return result.json.error as { code: string; message: string };
}

function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

Deno.test("cp to a device, a pipe or a missing directory says what to do, with no stack", async () => {
  await using sshd = await startSshd();
  await Deno.writeTextFile(`${sshd.home}/f.txt`, "f\n");
  const dir = await Deno.makeTempDir({ dir: sshd.dir });
  for (const via of ["sftp", "helper"]) {
    for (
      const [to, code, said] of [
        ["/dev/stdout", 2, /is not a regular file .*give a file path/],
        ["/dev/null", 2, /is not a regular file/],
        [`${dir}/absent/f.txt`, 1, /No directory .* create it first/],
      ] as const
    ) {
      const got = await sessh(sshd, [
        "cp",
        "--via",
        via,
        `${sshd.dest}:${sshd.home}/f.txt`,
        to,
      ]);
      assert.equal(got.code, code, `${via} ${to}: ${got.stderr}`);
      assert.match(got.stderr, said);
      assert.doesNotMatch(got.stderr, /Internal error| {4}at /);
    }
  }
  assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
});

// Deno's global timers cost 10–25 ms the first time a process touches them
// (lib/timer.ts): a 100 MB copy that scp makes in under a second leaves
// sessh about 95 ms of its own to reach 0.9× scp (issue 21).
Deno.test("cp through sftp never touches Deno's global timers, either way", async () => {
  await using sshd = await startSshd();
  const local = `${sshd.dir}/timers.txt`;
  await Deno.writeTextFile(local, "timers\n");
  const copies = [
    [local, `${sshd.dest}:${sshd.home}/timers.txt`],
    [`${sshd.dest}:${sshd.home}/timers.txt`, `${sshd.dir}/back.txt`],
  ];
  for (const [src, dst] of copies) {
    await assertTouchesNoTimers(sshd, ["cp", src, dst]);
  }
  assert.equal(await Deno.readTextFile(`${sshd.dir}/back.txt`), "timers\n");
});
