import assert from "node:assert/strict";
import {
  assetName,
  checkTag,
  compileArgv,
  sha256Sums,
  TARGETS,
} from "./release.ts";
import { runCommand } from "../lib/process.ts";

const SCRIPT = new URL("./release.ts", import.meta.url).pathname;
const ROOT = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

/** `deno run -A scripts/release.ts ARGS…`, as the workflow runs it. */
async function release(...args: string[]) {
  const result = await runCommand(
    [Deno.execPath(), "run", "-A", SCRIPT, ...args],
    { cwd: ROOT, timeoutMs: 60_000 },
  );
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

Deno.test("assetName() names each target's executable, .exe on Windows", () => {
  assert.deepEqual(TARGETS.map(assetName), [
    "sessh-x86_64-unknown-linux-gnu",
    "sessh-aarch64-unknown-linux-gnu",
    "sessh-x86_64-apple-darwin",
    "sessh-aarch64-apple-darwin",
    "sessh-x86_64-pc-windows-msvc.exe",
  ]);
});

Deno.test("compileArgv() gives one target the flags of deno task compile", () => {
  const host = compileArgv("dist/sessh");
  const cross = compileArgv("out/x", "aarch64-apple-darwin");
  assert.deepEqual(host.slice(1), [
    "compile",
    "-A",
    "--output",
    "dist/sessh",
    `${ROOT}cli.ts`,
  ]);
  assert.deepEqual(cross.slice(1), [
    "compile",
    "-A",
    "--target",
    "aarch64-apple-darwin",
    "--output",
    "out/x",
    `${ROOT}cli.ts`,
  ]);
});

Deno.test("the code deno compile embeds holds the MCP server and the terminal renderer", async () => {
  // `deno compile` embeds what cli.ts reaches through code imports, literal
  // dynamic ones included (type-only imports do not count); `deno info`
  // prints that graph.
  const result = await runCommand(
    [Deno.execPath(), "info", "--json", `${ROOT}cli.ts`],
    { cwd: ROOT, timeoutMs: 60_000 },
  );
  assert.equal(result.code, 0, decoder.decode(result.stderr));
  const graph: {
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string } }[];
    }[];
  } = JSON.parse(decoder.decode(result.stdout));
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  const reached = new Set<string>();
  const walk = (specifier: string) => {
    if (reached.has(specifier)) return;
    reached.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code) walk(dep.code.specifier);
    }
  };
  walk(`file://${ROOT}cli.ts`);
  assert.ok(reached.has(`file://${ROOT}lib/mcp/server.ts`), "the MCP server");
  const npm = [...reached].filter((s) => s.startsWith("npm:"));
  for (const name of ["@modelcontextprotocol/sdk@", "@xterm/headless@"]) {
    assert.ok(npm.some((s) => s.includes(name)), `${name} in ${npm}`);
  }
});

Deno.test("release.ts compile refuses a target it does not build", async () => {
  const refused = await release("compile", "--target", "riscv64-linux");
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^release\.ts: Unknown target "riscv64-linux"; one of x86_64-unknown-linux-gnu, /,
  );
});

Deno.test("release.ts sums writes a SHA256SUMS that sha256sum -c accepts, and that catches a changed file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sessh-sums-" });
  try {
    await Deno.writeTextFile(`${dir}/sessh-b`, "second\n");
    await Deno.writeTextFile(`${dir}/sessh-a.exe`, "first\n");
    await Deno.writeTextFile(`${dir}/SHA256SUMS`, "stale\n");
    const wrote = await release("sums", dir);
    assert.equal(wrote.code, 0, wrote.stderr);
    const text = await Deno.readTextFile(`${dir}/SHA256SUMS`);
    assert.equal(text, await sha256Sums(dir));
    assert.match(
      text,
      /^[0-9a-f]{64} {2}sessh-a\.exe\n[0-9a-f]{64} {2}sessh-b\n$/,
    );
    const check = () =>
      runCommand(["sha256sum", "--check", "--strict", "SHA256SUMS"], {
        cwd: dir,
      });
    assert.equal((await check()).code, 0);
    await Deno.writeTextFile(`${dir}/sessh-b`, "changed\n");
    assert.equal((await check()).code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkTag() accepts v and deno.json's version, and refuses anything else", async () => {
  const { version } = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  checkTag(`v${version}`, version);
  assert.throws(
    () => checkTag("v9.9.9", "0.1.0"),
    /^Error: Tag "v9\.9\.9" does not match deno\.json's version "0\.1\.0"; tag v0\.1\.0, or change the version first$/,
  );
  assert.equal((await release("check-tag", `v${version}`)).code, 0);
  const refused = await release("check-tag", `${version}`);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /does not match deno\.json's version/);
});
