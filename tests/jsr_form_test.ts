/**
 * The package in the form JSR will serve it: exactly the files that
 * `deno publish` uploads, copied alone into a directory with only the
 * package's `deno.json`, run as `deno run -A jsr:@sessh/cli` would run them.
 * The nearest to a published package that a machine without jsr.io gets.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { runCommand } from "../lib/process.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

let dryRun: Promise<{ code: number; text: string }> | undefined;

/** `deno publish --dry-run`'s whole output, and its exit code; run once. */
function publishDryRun(): Promise<{ code: number; text: string }> {
  return dryRun ??= runDryRun();
}

async function runDryRun(): Promise<{ code: number; text: string }> {
  const result = await runCommand([
    Deno.execPath(),
    "publish",
    "--dry-run",
    // A checkout with work in progress still has a file list to check.
    "--allow-dirty",
  ], {
    cwd: ROOT,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    timeoutMs: 120_000,
  });
  return {
    code: result.code,
    text: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

/**
 * The files of the dry run, relative to the root, read from between its
 * "with files:" line and the line that ends the list; every line there must
 * be a file, so a change in deno's format fails here instead of copying less.
 */
function publishedFiles(text: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => /with files:$/.test(line));
  assert.ok(start >= 0, `no file list in:\n${text}`);
  const files: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^Success Dry run complete/.test(line)) return files;
    const match = line.match(/^\s+file:\/\/(\S+) \([0-9.]+K?M?B\)$/);
    assert.ok(match, `not a file line: ${JSON.stringify(line)}`);
    assert.ok(match[1].startsWith(ROOT), `outside the package: ${match[1]}`);
    files.push(match[1].slice(ROOT.length));
  }
  assert.fail(`the file list does not end:\n${text}`);
}

/** Copies `files` from the checkout into `dir`, and only them. */
async function copyPackage(files: string[], dir: string): Promise<void> {
  for (const file of files) {
    const target = `${dir}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), {
      recursive: true,
    });
    await Deno.copyFile(`${ROOT}${file}`, target);
  }
}

/** The npm packages the package directory's lockfile holds so far. */
async function lockedNpm(dir: string): Promise<string[]> {
  const lock = JSON.parse(await Deno.readTextFile(`${dir}/deno.lock`));
  return Object.keys(lock.npm ?? {});
}

/** `sessh VERB -F CONFIG ARGS…`, run from the package directory. */
async function fromPackage(
  sshd: TestSshd,
  dir: string,
  verb: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await runCommand([
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    `${dir}/cli.ts`,
    verb,
    "-F",
    sshd.configFile,
    ...args,
  ], { cwd: dir, env: sshd.env, timeoutMs: 90_000 });
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

Deno.test("deno publish --dry-run passes with no warning", async () => {
  const { code, text } = await publishDryRun();
  assert.equal(code, 0, text);
  assert.doesNotMatch(text, /warning|info:/i);
});

Deno.test("the published files alone run run, logs, screen and mcp, and only mcp loads the MCP SDK", async () => {
  const { code, text } = await publishDryRun();
  assert.equal(code, 0, text);
  const files = publishedFiles(text);
  assert.ok(files.includes("deno.json"), "the package's deno.json");
  assert.ok(!files.includes("deno.lock"), "no lockfile: a user resolves anew");
  await using sshd = await startSshd();
  const dir = `${sshd.dir}/package`;
  await copyPackage(files, dir);

  const run = await fromPackage(
    sshd,
    dir,
    "run",
    "j",
    sshd.dest,
    "--",
    "echo jsr-$((6*7))",
  );
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "jsr-42\n");
  const logs = await fromPackage(sshd, dir, "logs", "j", sshd.dest, "5");
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /^jsr-42$/m);
  const screen = await fromPackage(sshd, dir, "screen", "j", sshd.dest);
  assert.equal(screen.code, 0, screen.stderr);
  assert.match(screen.stdout, /jsr-42/);
  // What the calls so far resolved is what a first call downloads.
  const before = await lockedNpm(dir);
  assert.ok(before.some((p) => p.startsWith("@stricli/core@")), `${before}`);
  assert.deepEqual(
    before.filter((p) => /^(@modelcontextprotocol\/sdk|zod)@/.test(p)),
    [],
    "run, logs and screen resolve no MCP SDK",
  );

  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: [
      "run",
      "-A",
      "--quiet",
      `${dir}/cli.ts`,
      "mcp",
      "-F",
      sshd.configFile,
    ],
    cwd: dir,
    env: { ...Deno.env.toObject(), ...sshd.env },
    stderr: "pipe",
  });
  const client = new Client({ name: "jsr-form-test", version: "1.0.0" });
  await client.connect(transport);
  try {
    assert.equal(client.getServerVersion()?.name, "sessh");
    const { tools } = await client.listTools();
    const names = tools.map((tool: { name: string }) => tool.name);
    for (const name of ["run", "screen", "logs"]) {
      assert.ok(names.includes(name), `tool ${name} in ${names}`);
    }
  } finally {
    await client.close();
  }
  const after = await lockedNpm(dir);
  assert.ok(
    after.some((p) => p.startsWith("@modelcontextprotocol/sdk@")),
    `mcp resolved the SDK: ${after}`,
  );
});
