/**
 * `cp` through the local agent (`lib/cli/agent_call.ts`): a copy is run
 * there for a thin client, as the client would run it. Its
 * local paths are read from the caller's directory, it prints what the full
 * command line prints, a tree's too, it is declined under another umask (the
 * agent would make the caller's files with its own), and a signal to the
 * client stops it in the agent, which says what it left.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { agentPidOf } from "./_probes.ts";
import { cliArgv, type CliResult, sessh, startSessh } from "./_cli.ts";
import { PHASE_LINE_PREFIX } from "../lib/phases.ts";
import { partUnderWay, sizeOf, sparseFile } from "./_files.ts";

const TRACE = { SESSH_TRACE_PHASES: "1" };

/** Whether the call was run by the agent (it marks `thin`), and its stderr without the phase line. */
function traced(result: CliResult): CliResult & { thin: boolean } {
  const lines = result.stderr.split("\n");
  const line = lines.find((l) => l.startsWith(PHASE_LINE_PREFIX));
  assert.ok(line, `no phase line in ${JSON.stringify(result.stderr)}`);
  const marks = JSON.parse(line.slice(PHASE_LINE_PREFIX.length)).marks;
  return {
    ...result,
    stderr: lines.filter((l) => l !== line).join("\n"),
    thin: "thin" in marks,
  };
}

async function call(
  sshd: TestSshd,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
) {
  return traced(
    await sessh(sshd, args, {
      cwd: options.cwd,
      env: { ...TRACE, ...options.env },
    }),
  );
}

/** Starts the fixture's agent with a first call, and waits until it runs calls. */
async function warm(sshd: TestSshd): Promise<void> {
  const first = await sessh(sshd, ["run", "w", sshd.dest, "--", "true"]);
  assert.equal(first.code, 0, first.stderr);
  for (let i = 0; i < 100; i++) {
    if ((await call(sshd, ["status", "w", sshd.dest])).thin) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the agent did not start");
}

/** A `cp --json` line without its duration. */
function steady(stdout: string): unknown {
  const value = JSON.parse(stdout);
  delete value.duration_ms;
  return value;
}

Deno.test("a thin cp reads local paths from the caller's directory and prints what the full one prints, each way, either way", async (t) => {
  await using sshd = await startSshd();
  await warm(sshd);
  const here = await Deno.makeTempDir({ dir: sshd.dir });
  // One file the daemon carries, one beyond 8 MiB that sftp does.
  const small = "a line of the file\n".repeat(100);
  await Deno.writeTextFile(`${here}/small.txt`, small);
  const big = new Uint8Array(9 << 20).map((_, i) => i * 7);
  await Deno.writeFile(`${here}/big.bin`, big);
  for (const [file, via] of [["small.txt", "helper"], ["big.bin", "sftp"]]) {
    await t.step(`${file}, through ${via}`, async () => {
      const forms = [
        ["thin", {}],
        ["full", { SESSH_AGENT_THIN: "0" }],
      ] as const;
      const printed: Record<string, unknown[]> = {};
      for (const [form, env] of forms) {
        const up = await call(
          sshd,
          ["--json", "cp", file, `${sshd.dest}:${form}-${file}`],
          { cwd: here, env },
        );
        assert.equal(up.code, 0, up.stderr);
        assert.equal(up.thin, form === "thin", `${form} up`);
        const down = await call(
          sshd,
          ["--json", "cp", `${sshd.dest}:${form}-${file}`, `${form}-${file}`],
          { cwd: here, env },
        );
        assert.equal(down.code, 0, down.stderr);
        assert.equal(down.thin, form === "thin", `${form} down`);
        assert.deepEqual(
          await Deno.readFile(`${here}/${form}-${file}`),
          await Deno.readFile(`${here}/${file}`),
        );
        assert.deepEqual(
          await Deno.readFile(`${sshd.home}/${form}-${file}`),
          await Deno.readFile(`${here}/${file}`),
        );
        const upJson = steady(up.stdout) as Record<string, unknown>;
        assert.equal(upJson.via, via);
        printed[form] = [upJson, steady(down.stdout)].map((value) =>
          JSON.parse(JSON.stringify(value).replaceAll(`${form}-`, "X-"))
        );
      }
      assert.deepEqual(printed.thin, printed.full);
      // Nothing of the copy went to the agent's own directory.
      const stray = await Deno.lstat(`${Deno.cwd()}/thin-${file}`)
        .catch(() => null);
      assert.equal(stray, null);
    });
  }
  await t.step("a missing local file is reported as typed", async () => {
    const result = await call(
      sshd,
      ["cp", "nothing-here.txt", `${sshd.dest}:x.txt`],
      { cwd: here },
    );
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.thin, true);
    assert.match(result.stderr, /No file "nothing-here\.txt" here to copy/);
  });
});

Deno.test("a thin cp -r takes a tree each way, either way, and prints what the full one prints", async (t) => {
  await using sshd = await startSshd();
  await warm(sshd);
  const here = await Deno.makeTempDir({ dir: sshd.dir });
  await Deno.mkdir(`${here}/tree/sub`, { recursive: true });
  await Deno.writeTextFile(`${here}/tree/a.txt`, "a\n");
  await Deno.writeTextFile(`${here}/tree/sub/b.txt`, "b\n".repeat(1000));
  for (const via of ["sftp", "helper"]) {
    await t.step(`--via ${via}`, async () => {
      const printed: Record<string, unknown[]> = {};
      for (
        const [form, env] of [
          ["thin", {}],
          ["full", { SESSH_AGENT_THIN: "0" }],
        ] as const
      ) {
        const name = `${form}-${via}`;
        const up = await call(
          sshd,
          ["--json", "cp", "-r", "--via", via, "tree", `${sshd.dest}:${name}`],
          { cwd: here, env },
        );
        assert.equal(up.code, 0, up.stderr);
        assert.equal(up.thin, form === "thin", `${form} up`);
        const down = await call(
          sshd,
          ["--json", "cp", "-r", "--via", via, `${sshd.dest}:${name}`, name],
          { cwd: here, env },
        );
        assert.equal(down.code, 0, down.stderr);
        assert.equal(down.thin, form === "thin", `${form} down`);
        for (const file of ["a.txt", "sub/b.txt"]) {
          const source = await Deno.readTextFile(`${here}/tree/${file}`);
          assert.equal(
            await Deno.readTextFile(`${sshd.home}/${name}/${file}`),
            source,
          );
          assert.equal(
            await Deno.readTextFile(`${here}/${name}/${file}`),
            source,
          );
        }
        printed[form] = [steady(up.stdout), steady(down.stdout)].map((value) =>
          JSON.parse(JSON.stringify(value).replaceAll(`${form}-`, "X-"))
        );
      }
      assert.deepEqual(printed.thin, printed.full);
    });
  }
});

Deno.test("a thin cp is declined under another umask, and runs in full", async (t) => {
  await using sshd = await startSshd();
  await warm(sshd);
  const here = await Deno.makeTempDir({ dir: sshd.dir });
  await Deno.writeTextFile(`${sshd.home}/mode.txt`, "mode\n");
  await t.step(
    "umask 077: the file is made as the caller's umask says",
    async () => {
      // Started from a shell with its own umask; the agent keeps the one it
      // was started with (the fixture's 022).
      const [run, ...rest] = cliArgv(
        sshd,
        ["cp", `${sshd.dest}:mode.txt`, `${here}/mode.txt`],
        true,
      );
      const out = await new Deno.Command("sh", {
        args: [
          "-c",
          'umask 077; exec "$@"',
          "sh",
          Deno.execPath(),
          run,
          ...rest,
        ],
        env: { ...sshd.env, ...TRACE },
        stdin: "null",
      }).output();
      const decoder = new TextDecoder();
      const result = traced({
        code: out.code,
        stdout: decoder.decode(out.stdout),
        bytes: out.stdout,
        stderr: decoder.decode(out.stderr),
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.thin, false);
      assert.equal((await Deno.stat(`${here}/mode.txt`)).mode! & 0o777, 0o600);
    },
  );
});

/** The pids of the sftp processes that copy for this fixture (its config on their command line). */
async function sftpsOf(sshd: TestSshd): Promise<number[]> {
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const argv = await Deno.readTextFile(`/proc/${entry.name}/cmdline`)
      .catch(() => "");
    const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`)
      .catch(() => "");
    if (
      /(^|\/)sftp$/.test(argv.split("\0")[0]) && argv.includes(sshd.dir) &&
      !/^\d+ \(.*\) Z /s.test(stat)
    ) found.push(Number(entry.name));
  }
  return found;
}

async function eventually(check: () => Promise<boolean>, what: string) {
  const until = Date.now() + 5000;
  while (!await check()) {
    assert.ok(Date.now() < until, what);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test("a signal to a thin cp stops the copy in the agent: the old file stays, its part goes (or stays with --resume), sftp ends, and it exits as the command line does", async (t) => {
  await using sshd = await startSshd();
  await warm(sshd);
  const local = await Deno.makeTempDir({ dir: sshd.dir });
  // Large enough to be caught in flight.
  await sparseFile(`${local}/big.bin`, 400 << 20);
  await Deno.copyFile(`${local}/big.bin`, `${sshd.home}/big.bin`);
  const old = "the old file, which must survive\n".repeat(1000);
  const cases = [
    ["sftp", "download", "SIGTERM", 143, false],
    ["sftp", "upload", "SIGINT", 130, false],
    ["helper", "download", "SIGHUP", 129, false],
    ["helper", "upload", "SIGTERM", 143, false],
    ["sftp", "upload", "SIGTERM", 143, true],
  ] as const;
  for (const [via, direction, signal, exit, resume] of cases) {
    await t.step(
      `${direction} --via ${via}${resume ? " --resume" : ""}, ${signal}`,
      async () => {
        const name = `old-${via}-${direction}-${resume}.bin`;
        const [target, dir] = direction === "download"
          ? [`${local}/${name}`, local]
          : [`${sshd.home}/${name}`, sshd.home];
        await Deno.writeTextFile(target, old);
        const part = `${dir}/.${name}.sessh-part`;
        const flags = ["--via", via, ...resume ? ["--resume"] : []];
        const call = startSessh(
          sshd,
          direction === "download"
            ? ["cp", ...flags, `${sshd.dest}:big.bin`, target]
            : ["cp", ...flags, `${local}/big.bin`, `${sshd.dest}:${target}`],
          TRACE,
        );
        await partUnderWay(part);
        if (via === "sftp") assert.ok((await sftpsOf(sshd)).length > 0);
        call.child.kill(signal);
        const { code, stderr } = await call.finish();
        assert.equal(code, exit, stderr);
        // The agent ran it, and said what it left.
        assert.match(stderr, /"thin":/);
        assert.match(stderr, new RegExp(`^sessh: stopped by ${signal}: `, "m"));
        assert.match(
          stderr,
          resume
            ? /copy again with --resume to continue/
            : /left as it was; removed /,
        );
        assert.doesNotMatch(stderr, /Internal error| {4}at /);
        assert.equal(await Deno.readTextFile(target), old);
        if (resume) assert.ok(await sizeOf(part) > 0, "part kept");
        else {
          // The daemon may finish a part it already had before it removes it.
          await eventually(
            async () => await sizeOf(part) < 0,
            `${part} remains`,
          );
        }
        await eventually(
          async () => (await sftpsOf(sshd)).length === 0,
          "sftp runs on",
        );
      },
    );
  }
});

Deno.test("two thin copies at once in one agent: a signal to one stops that one alone", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  const local = await Deno.makeTempDir({ dir: sshd.dir });
  const big = 200 << 20;
  await sparseFile(`${local}/big.bin`, big);
  await Deno.copyFile(`${local}/big.bin`, `${sshd.home}/big.bin`);
  // Through the daemon, both: its copies are the slower, so both are in
  // flight when the signal comes.
  const stopped = startSessh(
    sshd,
    ["cp", "--via", "helper", `${sshd.dest}:big.bin`, `${local}/stopped.bin`],
    TRACE,
  );
  const going = startSessh(
    sshd,
    ["cp", "--via", "helper", `${local}/big.bin`, `${sshd.dest}:going.bin`],
    TRACE,
  );
  const parts = [
    `${local}/.stopped.bin.sessh-part`,
    `${sshd.home}/.going.bin.sessh-part`,
  ];
  const until = Date.now() + 60_000;
  while ((await Promise.all(parts.map(sizeOf))).some((n) => n < 1 << 20)) {
    assert.ok(Date.now() < until, "both copies under way within 60 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  stopped.child.kill("SIGTERM");
  const end = await stopped.finish();
  assert.equal(end.code, 143, end.stderr);
  assert.match(end.stderr, /"thin":/);
  // Its own part alone: not the other copy's.
  assert.match(end.stderr, /^sessh: stopped by SIGTERM: .*stopped\.bin/m);
  assert.doesNotMatch(end.stderr, /going\.bin/);
  await eventually(async () => await sizeOf(parts[0]) < 0, "part remains");
  const done = await going.finish();
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stderr, /"thin":/);
  assert.equal(await sizeOf(`${sshd.home}/going.bin`), big);
  assert.equal(await sizeOf(`${local}/stopped.bin`), -1);
});

Deno.test("a signal to a thin cp -r stops the tree's copy in the agent and leaves no part", async (t) => {
  await using sshd = await startSshd();
  await warm(sshd);
  const local = await Deno.makeTempDir({ dir: sshd.dir });
  // In flight when the signal comes.
  for (const top of [`${local}/tree`, `${sshd.home}/tree`]) {
    await Deno.mkdir(top);
    for (const name of ["a.bin", "b.bin", "c.bin"]) {
      await sparseFile(`${top}/${name}`, 200 << 20);
    }
  }
  const parts = async (dir: string) => {
    try {
      return (await Array.fromAsync(Deno.readDir(dir)))
        .filter((e) => e.name.includes("sessh-part")).map((e) => e.name);
    } catch {
      return []; // not made yet
    }
  };
  for (const direction of ["upload", "download"]) {
    await t.step(direction, async () => {
      const [args, landing] = direction === "upload"
        ? [
          ["cp", "-r", `${local}/tree`, `${sshd.dest}:up`],
          `${sshd.home}/up`,
        ]
        : [["cp", "-r", `${sshd.dest}:tree`, `${local}/down`], `${local}/down`];
      const copying = startSessh(sshd, args, TRACE);
      const until = Date.now() + 60_000;
      while ((await parts(landing)).length === 0) {
        assert.ok(Date.now() < until, `no part under ${landing} within 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      copying.child.kill("SIGTERM");
      const { code, stderr } = await copying.finish();
      assert.equal(code, 143, stderr);
      assert.match(stderr, /"thin":/);
      assert.match(stderr, /^sessh: stopped by SIGTERM: .*removed/m);
      await eventually(
        async () => (await parts(landing)).length === 0,
        `parts remain under ${landing}`,
      );
      await eventually(
        async () => (await sftpsOf(sshd)).length === 0,
        "sftp runs on",
      );
    });
  }
});

Deno.test("a thin cp on a terminal draws its progress bar there, from the agent, and clears it", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  const local = await Deno.makeTempDir({ dir: sshd.dir });
  await sparseFile(`${local}/big.bin`, 100 << 20);
  // script(1) gives the command line a terminal and keeps what it drew.
  const typescript = `${local}/typescript`;
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const argv = [
    Deno.execPath(),
    ...cliArgv(
      sshd,
      ["cp", "--via", "helper", `${local}/big.bin`, `${sshd.dest}:bar.bin`],
      true,
    ),
  ];
  const run = await new Deno.Command("script", {
    args: ["-q", "-e", "-c", argv.map(quote).join(" "), typescript],
    env: { ...sshd.env, ...TRACE },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  const drawn = await Deno.readTextFile(typescript);
  assert.equal(run.code, 0, drawn.slice(-300));
  assert.match(drawn, /"thin":/);
  assert.match(
    drawn,
    /\r\[[#-]+\] +\d+% {2}[\d.]+\/104\.9 MB {2}[\d.]+ MB\/s/,
  );
  assert.ok(
    drawn.includes("\r\x1b[Ksent 104857600 bytes in"),
    drawn.slice(-300),
  );
});

Deno.test("a thin cp whose agent is killed mid-copy says the target is as it was, and what to do", async () => {
  await using sshd = await startSshd();
  await warm(sshd);
  const pid = await agentPidOf(sshd, "w");
  const local = await Deno.makeTempDir({ dir: sshd.dir });
  await sparseFile(`${local}/big.bin`, 400 << 20);
  const old = "the old file, which must survive\n";
  await Deno.writeTextFile(`${sshd.home}/lost.bin`, old);
  const copying = startSessh(
    sshd,
    ["cp", "--via", "helper", `${local}/big.bin`, `${sshd.dest}:lost.bin`],
    TRACE,
  );
  const part = `${sshd.home}/.lost.bin.sessh-part`;
  await partUnderWay(part);
  Deno.kill(pid, "SIGKILL");
  const { code, stderr } = await copying.finish();
  assert.equal(code, 255, stderr);
  assert.match(
    stderr,
    /^sessh: The local sessh agent ended .* before the copy finished; the target is as it was/m,
  );
  assert.match(stderr, /copy again \(--resume continues what was sent\)/);
  assert.equal(await Deno.readTextFile(`${sshd.home}/lost.bin`), old);
});
