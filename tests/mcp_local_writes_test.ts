/**
 * MCP `download` under `--allow-local-dir`, tried as a model that can make
 * links would: a dangling link, a hard link to a file outside, and links
 * swapped while 40 downloads run, and a large file's part swapped for a
 * link while it is copied. Nothing is ever written outside the allowed
 * directory.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { DAEMON_COPY_MAX } from "../lib/session/sftp_copy.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

async function connectMcp(
  sshd: TestSshd,
  flags: string[],
): Promise<Client & AsyncDisposable> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "-A", "--quiet", CLI, "mcp", "-F", sshd.configFile, ...flags],
    env: { ...Deno.env.toObject(), ...sshd.env },
    stderr: "pipe",
  });
  const client = new Client({ name: "sessh-test", version: "1.0.0" });
  await client.connect(transport);
  return Object.assign(client, {
    [Symbol.asyncDispose]: () => client.close(),
  });
}

/** `download`: its error text, or null when it copied. */
async function download(
  client: Client,
  args: Record<string, unknown>,
): Promise<string | null> {
  const result = await client.callTool(
    { name: "download", arguments: args },
    undefined,
    { timeout: 60_000 },
  );
  const text = (result.content as { text: string }[]).map((c) => c.text)
    .join("");
  return result.isError ? text : null;
}

/** Every file under `dir` with its contents. */
async function snapshot(dir: string): Promise<string[]> {
  const seen: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    const info = await Deno.lstat(path);
    seen.push(
      info.isDirectory
        ? `${path}/: ${(await snapshot(path)).join(", ")}`
        : info.isSymlink
        ? `${path} -> ${await Deno.readLink(path)}`
        : `${path}=${await Deno.readTextFile(path)}`,
    );
  }
  return seen.sort();
}

Deno.test("MCP download never writes outside --allow-local-dir, through links made or swapped", async (t) => {
  await using sshd = await startSshd();
  const root = await Deno.realPath(await Deno.makeTempDir({ dir: sshd.dir }));
  const allowed = `${root}/allowed`;
  const outside = `${root}/outside`;
  await Deno.mkdir(`${allowed}/real`, { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${outside}/victim.txt`, "keep");
  await Deno.writeTextFile(`${sshd.home}/payload.txt`, "from the host");
  const before = await snapshot(outside);
  await using mcp = await connectMcp(sshd, ["--allow-local-dir", allowed]);
  const at = { destination: sshd.dest, remote_path: "payload.txt" };

  await t.step("a dangling link is replaced, not followed", async () => {
    await Deno.symlink(`${outside}/created.txt`, `${allowed}/dangling`);
    const error = await download(mcp, {
      ...at,
      local_path: `${allowed}/dangling`,
    });
    assert.equal(error, null);
    assert.ok((await Deno.lstat(`${allowed}/dangling`)).isFile);
    assert.equal(
      await Deno.readTextFile(`${allowed}/dangling`),
      "from the host",
    );
    assert.deepEqual(await snapshot(outside), before);
  });

  await t.step("a hard link to a file outside is replaced", async () => {
    await Deno.link(`${outside}/victim.txt`, `${allowed}/hard`);
    const error = await download(mcp, { ...at, local_path: `${allowed}/hard` });
    assert.equal(error, null);
    assert.equal(await Deno.readTextFile(`${allowed}/hard`), "from the host");
    assert.deepEqual(await snapshot(outside), before);
  });

  await t.step("links swapped during 40 downloads", async () => {
    // The target flips between a link out and nothing; a directory link
    // flips between a directory inside and one outside.
    let swapping = true;
    const swapper = (async () => {
      for (let i = 0; swapping; i++) {
        if (i % 2 === 0) {
          await Deno.symlink(`${outside}/victim.txt`, `${allowed}/flip.new`);
          await Deno.rename(`${allowed}/flip.new`, `${allowed}/flip`);
        } else await Deno.remove(`${allowed}/flip`).catch(() => {});
        await Deno.symlink(
          i % 2 === 0 ? outside : `${allowed}/real`,
          `${allowed}/d.new`,
        );
        await Deno.rename(`${allowed}/d.new`, `${allowed}/d`);
        await new Promise((resolve) => setTimeout(resolve, i % 3));
      }
    })();
    let copied = 0;
    try {
      for (let i = 0; i < 40; i++) {
        for (const local_path of [`${allowed}/flip`, `${allowed}/d/got.txt`]) {
          const error = await download(mcp, { ...at, local_path });
          if (error === null) copied++;
          else {
            assert.match(
              error,
              /outside the local directories|changed while the file was being made/,
            );
          }
        }
      }
    } finally {
      swapping = false;
      await swapper;
    }
    assert.deepEqual(await snapshot(outside), before);
    assert.ok(copied > 0, "some downloads went through");
  });

  await t.step(
    "a large file's part swapped for a link out while 20 downloads run",
    async () => {
      // Beyond what the daemon carries by choice: the library would take
      // sftp, which opens the part again by name. The server keeps the
      // model's copies on the daemon, which writes through its own
      // descriptor of the part: sshd starts no sftp session for them.
      const big = new Uint8Array(DAEMON_COPY_MAX + (1 << 20)).fill(0x61);
      await Deno.writeFile(`${sshd.home}/big.bin`, big);
      const sessions = async () =>
        (await Deno.readTextFile(sshd.logFile))
          .match(/Starting session: subsystem 'sftp'/g)?.length ?? 0;
      const sftpBefore = await sessions();
      const part = `${allowed}/.big.bin.sessh-part`;
      // Each part the server makes is replaced by a link out as soon as it
      // is there, as a model's `run` on this machine could.
      let swapping = true;
      let swapped = 0;
      const swapper = (async () => {
        while (swapping) {
          if ((await Deno.lstat(part).catch(() => null))?.isFile) {
            await Deno.symlink(`${outside}/victim.txt`, `${part}.new`);
            await Deno.rename(`${part}.new`, part);
            swapped++;
          }
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      })();
      try {
        for (let i = 0; i < 20; i++) {
          const error = await download(mcp, {
            destination: sshd.dest,
            remote_path: "big.bin",
            local_path: `${allowed}/big.bin`,
          });
          if (error !== null) assert.doesNotMatch(error, /internal/i);
          await Deno.remove(part).catch(() => {});
        }
      } finally {
        swapping = false;
        await swapper;
      }
      assert.ok(swapped > 0, "no part was swapped");
      assert.deepEqual(await snapshot(outside), before);
      assert.equal(await sessions(), sftpBefore);
    },
  );
});
