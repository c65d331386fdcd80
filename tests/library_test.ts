/**
 * The library as a script author uses it, against a real sshd: commands
 * built with the quoting template on bash, zsh and dash, the throwing mode,
 * abort signals, following output as an async iterable, and files.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import {
  CommandFailedError,
  SesshClient,
  SesshError,
  sh,
  TimeoutError,
} from "../mod.ts";

/** Values a script may well interpolate, each hostile to naive splicing. */
const HOSTILE = [
  "it's",
  '"double" quotes',
  "$(touch PWNED)",
  "`touch PWNED`",
  "${HOME}",
  "$HOME",
  "*",
  "?",
  "[a]*",
  "~",
  "~root",
  "a\nb",
  "trailing newline\n",
  "\ttab",
  "back\\slash",
  "'\\''",
  "!!",
  "!x",
  "; touch PWNED",
  "| cat",
  "& touch PWNED &",
  "{a,b}",
  "#comment",
  "=ls",
  "-n",
  "",
  " spaced  out ",
  "ünïcödé 日本",
  "%1",
  "a=b",
];

/** A client of the fixture's sshd, as a script would make one. */
function connectTo(sshd: TestSshd): Promise<SesshClient> {
  return SesshClient.connect({
    destination: sshd.dest,
    env: sshd.env,
    ssh: { configFile: sshd.configFile },
  });
}

function hex(text: string): string {
  return [...new TextEncoder().encode(text)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("sh quotes every value as one word on bash, zsh and dash", async (t) => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  for (const shell of ["bash", "zsh", "dash"]) {
    await t.step(shell, async () => {
      const session = client.session(`quote-${shell}`);
      await session.open({ shell });
      const dir = await session.run("mktemp -d", { check: true });
      const work = dir.output.trim();
      await session.sh`cd ${work}`;
      for (const value of HOSTILE) {
        // Each value's bytes, as the shell received them, in hex: immune to
        // how the terminal shows tabs, spaces and newlines.
        const result = await session.run(
          sh`printf %s ${value} | od -An -tx1 | tr -d ' \n'; echo`,
          { check: true },
        );
        assert.equal(
          result.output.trim(),
          hex(value),
          `${JSON.stringify(value)} on ${shell}`,
        );
      }
      const words = await session.run(
        sh`printf '[%s]' ${["a b", "it's", ""]} ${7}; echo`,
        { check: true },
      );
      assert.equal(words.output.trim(), "[a b][it's][][7]");
      const pwned = await session.run("ls; echo listed", { check: true });
      assert.equal(pwned.output.trim(), "listed", "no command ran");
      await session.close();
    });
  }
});

Deno.test("run with check throws on failure and on a command still running; signals reject calls", async (t) => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const work = client.session("lib");
  await work.open({ shell: "bash" });

  await t.step("a non-zero exit is a CommandFailedError", async () => {
    const failed = await work.run(
      "echo broke; exit_code() { return 3; }; exit_code",
      {
        check: true,
      },
    ).catch((error) => error);
    assert.ok(failed instanceof CommandFailedError, String(failed));
    assert.equal(failed.exitCode, 3);
    assert.equal(failed.output.trim(), "broke");
    assert.equal(failed.code, "command_failed");
    const plain = await work.run("false");
    assert.equal(plain.exitCode, 1, "without check, a result");
  });

  await t.step(
    "a command still running at the timeout is a TimeoutError",
    async () => {
      const slow = await work.run("sleep 5", { check: true, timeoutMs: 300 })
        .catch((error) => error);
      assert.ok(slow instanceof TimeoutError, String(slow));
      const done = await work.wait({ done: true, timeoutMs: 15_000 });
      assert.equal(done.met, true);
    },
  );

  await t.step(
    "an aborted run rejects with an AbortError; the command runs on",
    async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      const started = performance.now();
      const aborted = await work.run("sleep 3; echo slept", {
        signal: controller.signal,
        timeoutMs: 30_000,
      }).catch((error) => error);
      assert.ok(performance.now() - started < 10_000);
      assert.equal((aborted as Error).name, "AbortError");
      assert.equal((await work.status()).running, true);
      const after = await work.wait({ done: true, timeoutMs: 15_000 });
      assert.equal(after.met, true);
      assert.equal(after.exitCode, 0);
    },
  );

  await t.step("a signal aborted before run sends nothing", async () => {
    const refused = await work.run("touch never-sent", {
      signal: AbortSignal.abort(),
    }).catch((error) => error);
    assert.equal((refused as Error).name, "AbortError");
    const ls = await work.run("ls never-sent 2>/dev/null; echo $?");
    assert.equal(ls.output.trim(), "2");
  });

  await t.step("an aborted wait rejects with an AbortError", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const waited = await work.wait({
      pattern: /never-printed/,
      timeoutMs: 30_000,
      signal: controller.signal,
    }).catch((error) => error);
    assert.equal((waited as Error).name, "AbortError");
  });

  await t.step("follow() is an async iterable that leaving ends", async () => {
    await work.run("echo before", { check: true });
    const start = (await work.logs({ lines: 1 })).cursor;
    await work.run("echo piece-$((0+1)); sleep 0.5; echo piece-$((1+1))", {
      wait: false,
    });
    let text = "";
    for await (const piece of work.follow({ since: start })) {
      assert.equal(piece.type, "output");
      if (piece.type === "output") text += piece.text;
      if (/piece-1/.test(text)) break;
    }
    assert.doesNotMatch(text, /piece-2/);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = (await work.logs({ lines: 1 })).cursor;
    // Leaving the loop ended the watch: piece-2, printed afterwards, is not
    // left queued for the next call to take as its own output. (The
    // lookbehind keeps this pattern from the daemon: it is matched here.)
    const stale = await work.wait({
      pattern: /(?<=piece-)2/,
      since: after,
      timeoutMs: 1000,
    });
    assert.equal(stale.met, false, "no output of the ended watch was seen");
  });
});

Deno.test("upload and download move files through the daemon, with progress, a stop and a resume", async (t) => {
  await using sshd = await startSshd();
  await using client = await connectTo(sshd);
  const dir = await Deno.makeTempDir({ dir: sshd.dir });
  const data = new Uint8Array(3 << 20);
  for (let i = 0; i < data.length; i += 65536) {
    crypto.getRandomValues(data.subarray(i, i + 65536));
  }
  await Deno.writeFile(`${dir}/data.bin`, data);

  await t.step(
    "up, stat and down, byte for byte, progress rising to the total",
    async () => {
      const seen: number[] = [];
      const sent = await client.upload(`${dir}/data.bin`, "data.bin", {
        onProgress: (copied, total) => {
          assert.equal(total, data.length);
          seen.push(copied);
        },
      });
      assert.deepEqual(sent, {
        remotePath: `${sshd.home}/data.bin`,
        localPath: `${dir}/data.bin`,
        bytes: data.length,
        resumedFrom: 0,
        via: "helper",
      });
      assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
      assert.equal(seen.at(-1), data.length);
      assert.deepEqual(await client.stat("data.bin"), {
        path: `${sshd.home}/data.bin`,
        size: data.length,
        dir: false,
      });
      assert.equal((await client.stat("."))?.dir, true);
      assert.equal(await client.stat("absent.bin"), null);
      const got = await client.download("data.bin", `${dir}/back.bin`);
      assert.equal(got.bytes, data.length);
      assert.deepEqual(await Deno.readFile(`${dir}/back.bin`), data);
    },
  );

  await t.step(
    "a stopped copy rejects with the signal's reason, leaves the target untouched and resume finishes it",
    async () => {
      const stop = new AbortController();
      await assert.rejects(
        client.download("data.bin", `${dir}/cut.bin`, {
          resume: true,
          signal: stop.signal,
          onProgress: (copied) => {
            if (copied >= 1 << 20) stop.abort();
          },
        }),
        (error: unknown) =>
          error instanceof DOMException && error.name === "AbortError",
      );
      // The target is written whole or not at all; with `resume` the part
      // copied so far stays beside it for the next call to continue.
      await assert.rejects(Deno.stat(`${dir}/cut.bin`), Deno.errors.NotFound);
      const cut = (await Deno.stat(`${dir}/.cut.bin.sessh-part`)).size;
      assert.ok(cut >= 1 << 20 && cut < data.length, `${cut} bytes`);
      const resumed = await client.download("data.bin", `${dir}/cut.bin`, {
        resume: true,
      });
      assert.equal(resumed.resumedFrom, cut);
      assert.deepEqual(await Deno.readFile(`${dir}/cut.bin`), data);
      await assert.rejects(
        Deno.stat(`${dir}/.cut.bin.sessh-part`),
        Deno.errors.NotFound,
      );
    },
  );

  await t.step("errors name the path and the kind", async () => {
    await assert.rejects(
      client.download("nowhere/x.bin", `${dir}/x.bin`),
      (error: unknown) =>
        error instanceof SesshError && error.code === "no_file" &&
        error.message.includes("nowhere/x.bin"),
    );
    await assert.rejects(
      client.upload(`${dir}/data.bin`, "nowhere/x.bin"),
      (error: unknown) =>
        error instanceof SesshError && error.code === "no_file" &&
        error.message.includes(`${sshd.home}/nowhere/x.bin`),
    );
  });
});
