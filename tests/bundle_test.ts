/**
 * The bundled command line (`deno task bundle`): one JavaScript file with
 * its npm packages inside and the terminal renderer in a chunk of its own,
 * run from outside the repository as a user would run a download.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { runCommand } from "../lib/process.ts";
import { buildBundle } from "./_bundle.ts";
import { ENTRY_CHUNK } from "../scripts/bundle.ts";
import { initializeOverStdio } from "./_mcp.ts";

Deno.test("the bundle runs run, logs and screen end to end from another directory", async () => {
  await using sshd = await startSshd();
  const out = `${sshd.dir}/dist`;
  const entry = await buildBundle(out);
  const chunks = [...Deno.readDirSync(out)].map((e) => e.name);
  assert.ok(
    chunks.some((name) => name.startsWith("xterm-headless")),
    `the renderer is a chunk of its own: ${chunks}`,
  );
  const cli = async (verb: string, ...args: string[]) => {
    const result = await runCommand([
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      entry,
      verb,
      "-F",
      sshd.configFile,
      ...args,
    ], { cwd: "/", env: sshd.env, timeoutMs: 60_000 });
    const decoder = new TextDecoder();
    return {
      code: result.code,
      stdout: decoder.decode(result.stdout),
      stderr: decoder.decode(result.stderr),
    };
  };
  const run = await cli("run", "b", sshd.dest, "--", "echo bundled-$((6*7))");
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "bundled-42\n");
  const logs = await cli("logs", "b", sshd.dest, "5");
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /^bundled-42$/m);
  const screen = await cli("screen", "b", sshd.dest);
  assert.equal(screen.code, 0, screen.stderr);
  assert.match(screen.stdout, /bundled-42/);
  // The MCP server is a module of its own, loaded only by `mcp`.
  const reply = await initializeOverStdio(
    [Deno.execPath(), "run", "-A", "--quiet", entry, "mcp"],
    { cwd: "/", env: sshd.env },
  );
  assert.equal(reply.result.serverInfo.name, "sessh");
});

Deno.test("the bundle reads no chunk a call does not run: --version with the MCP server's chunk a FIFO", async () => {
  const out = await Deno.makeTempDir({ prefix: "sessh-bundle-" });
  try {
    const entry = await buildBundle(out);
    const chunks = [...Deno.readDirSync(out)].map((e) => e.name);
    const servers = chunks.filter((name) =>
      name.endsWith(".js") &&
      Deno.readTextFileSync(`${out}/${name}`).includes("McpServer")
    );
    assert.equal(
      servers.length,
      1,
      `one chunk holds the MCP server: ${chunks}`,
    );
    // A reader of a FIFO without a writer waits forever: a deno that read
    // the chunk at start would never print its version.
    await Deno.remove(`${out}/${servers[0]}`);
    const fifo = await runCommand(["mkfifo", `${out}/${servers[0]}`]);
    assert.equal(fifo.code, 0);
    const result = await runCommand([
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      entry,
      "--version",
    ], { cwd: "/", timeoutMs: 20_000 });
    const decoder = new TextDecoder();
    assert.equal(result.code, 0, `killed? ${decoder.decode(result.stderr)}`);
    assert.match(decoder.decode(result.stdout), /^\d+\.\d+\.\d+/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("a bundle into the directory of an earlier one leaves none of its chunks, and other files alone", async () => {
  const out = await Deno.makeTempDir({ prefix: "sessh-bundle-" });
  try {
    // A chunk of an earlier bundle (another hash), and a file of the user's.
    await Deno.writeTextFile(`${out}/agent-AAAAAAAA.js`, "export {};\n");
    await Deno.writeTextFile(`${out}/notes.js`, "// mine\n");
    await buildBundle(out);
    const names = new Set([...Deno.readDirSync(out)].map((e) => e.name));
    assert.ok(!names.has("agent-AAAAAAAA.js"), [...names].join(" "));
    assert.ok(names.has("notes.js"));
    assert.ok(names.has("cli.js") && names.has(ENTRY_CHUNK));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("the bundle loads the thin client with its entry, in one chunk with the leaves it shares, compiled as it loads", async () => {
  const out = await Deno.makeTempDir({ prefix: "sessh-bundle-" });
  try {
    const entry = await buildBundle(out);
    const code = await Deno.readTextFile(entry);
    const statics = new Set(
      [...code.matchAll(/^import\s[^;]*"\.\/([\w.-]+\.js)";$/gm)]
        .map((m) => m[1]),
    );
    // Every module loaded at start costs a call its read and compile.
    assert.deepEqual([...statics], [ENTRY_CHUNK]);
    const joined = await Deno.readTextFile(`${out}/${ENTRY_CHUNK}`);
    assert.match(joined, /^\/\/ lib\/cli\/thin_client\.ts$/m);
    assert.doesNotMatch(joined, /^import\s/m);
    // Compiled with the module, not at each call's first use of them.
    for (const file of [code, joined]) {
      assert.doesNotMatch(file, /^(async )?function\b/m);
    }
    assert.doesNotMatch(code, /\bimport\(`\.\/thin_client-/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
