/**
 * The package in the form JSR will serve it: the files `deno publish` would
 * upload, staged as the release workflow stages them (the bundle built into
 * `dist/`), served over HTTP on 127.0.0.1 and run by URL the way `deno run
 * -A jsr:@sessh/cli/cli` and `jsr:@sessh/cli` run them, from a directory
 * with no `deno.json` and with a `DENO_DIR` of its own. The nearest to a
 * published package that a machine without jsr.io gets; `tests/_served.ts`
 * says what differs.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import {
  makeUserSide,
  runServed,
  type ServedPackage,
  servePackage,
  type StagedPackage,
  stagePackage,
  type UserSide,
} from "./_served.ts";
import { initializeOverStdio } from "./_mcp.ts";

let staging: Promise<StagedPackage> | undefined;

/** The staged package, staged once for the whole file. */
function staged(): Promise<StagedPackage> {
  staging ??= stagePackage();
  return staging;
}

globalThis.addEventListener("unload", () => {
  staging?.then((s) => Deno.removeSync(s.dir, { recursive: true }));
});

/** The `./name.js` modules a bundle file names, statically or lazily (or statically only). */
function namedChunks(
  code: string,
  options: { staticOnly?: boolean } = {},
): string[] {
  const names = [
    ...code.matchAll(/\bfrom\s*"\.\/([\w.-]+\.js)"/g),
    ...code.matchAll(/\bimport\s*"\.\/([\w.-]+\.js)"/g),
    // The lazy ones are `./name-${"HASH.js"}` (see scripts/bundle.ts).
    ...(options.staticOnly
      ? []
      : code.matchAll(/\bimport\(`\.\/([\w.-]*)\$\{"([\w.-]+\.js)"\}`\)/g)),
  ].map((m) => m[1] + (m[2] ?? ""));
  return [...new Set(names)];
}

/** A user's side in the fixture's directory (see {@linkcode makeUserSide}). */
function userSide(sshd: TestSshd, name = "user"): Promise<UserSide> {
  return makeUserSide(`${sshd.dir}/${name}`);
}

/** `sessh VERB -F CONFIG ARGS…` by the served module `path`. */
function served(
  sshd: TestSshd,
  server: ServedPackage,
  side: UserSide,
  path: string,
  verb: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runServed(
    `${server.url}${path}`,
    [verb, "-F", sshd.configFile, ...args],
    { ...side, env: sshd.env },
  );
}

Deno.test("deno publish --dry-run passes with no warning, with the bundle whole in the package", async () => {
  const { code, text, files, dir } = await staged();
  assert.equal(code, 0, text);
  assert.doesNotMatch(text, /warning|info:/i);
  assert.ok(files.includes("deno.json"), "the package's deno.json");
  assert.ok(!files.includes("deno.lock"), "no lockfile: a user resolves anew");
  assert.ok(!files.includes("dist/deno.json"), "no config inside the package");
  const config = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
  assert.deepEqual(config.exports, {
    ".": "./mod.ts",
    "./cli": "./dist/cli.js",
  });
  for (const target of Object.values(config.exports) as string[]) {
    assert.ok(files.includes(target.slice(2)), `${target} is published`);
  }
  assert.ok(files.includes("dist/cli.d.ts"), "the entry's types");
  const bundleFiles = files.filter((f) => /^dist\/.*\.js$/.test(f));
  for (const file of bundleFiles) {
    const code = await Deno.readTextFile(`${dir}/${file}`);
    for (const chunk of namedChunks(code)) {
      assert.ok(files.includes(`dist/${chunk}`), `${file} names ${chunk}`);
    }
  }
  // cli.js answers --version itself and loads the body when it must; the
  // body loads each verb's chunk when that verb runs.
  const lazy = namedChunks(await Deno.readTextFile(`${dir}/dist/cli.js`));
  const body = lazy.find((c) => c.startsWith("main-"));
  assert.ok(body, `the command line's body: ${lazy}`);
  // The verbs' chunks are named by the body or by a chunk it imports (the
  // call runner, which the agent shares): none is loaded before it runs.
  const bodyCode = await Deno.readTextFile(`${dir}/dist/${body}`);
  const verbs = new Set(namedChunks(bodyCode));
  for (const shared of namedChunks(bodyCode, { staticOnly: true })) {
    const code = await Deno.readTextFile(`${dir}/dist/${shared}`);
    for (const chunk of namedChunks(code)) verbs.add(chunk);
  }
  assert.ok(
    [...verbs].some((c) => c.startsWith("run-")),
    `the verbs: ${[...verbs]}`,
  );
  assert.ok(
    !namedChunks(bodyCode, { staticOnly: true }).some((c) =>
      c.startsWith("run-")
    ),
    "run's chunk is loaded only when run runs",
  );
});

Deno.test("the served ./cli export runs run, logs, screen and mcp, and fetches the bundle alone, each chunk when a call runs it", async () => {
  const { code, text, files, dir } = await staged();
  assert.equal(code, 0, text);
  await using sshd = await startSshd();
  await using server = await servePackage(dir, files);
  const side = await userSide(sshd);

  const run = await served(
    sshd,
    server,
    side,
    "dist/cli.js",
    "run",
    "j",
    sshd.dest,
    "--",
    "echo jsr-$((6*7))",
  );
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "jsr-42\n");
  const logs = await served(
    sshd,
    server,
    side,
    "dist/cli.js",
    "logs",
    "j",
    sshd.dest,
    "5",
  );
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /^jsr-42$/m);
  const screen = await served(
    sshd,
    server,
    side,
    "dist/cli.js",
    "screen",
    "j",
    sshd.dest,
  );
  assert.equal(screen.code, 0, screen.stderr);
  assert.match(screen.stdout, /jsr-42/);
  assert.deepEqual(
    server.requests.filter((path) => !path.startsWith("dist/")),
    [],
    "the command line is the bundle: no source module is fetched",
  );
  const mcpChunk = files.find((file) =>
    file.startsWith("dist/") &&
    Deno.readTextFileSync(`${dir}/${file}`).includes("McpServer")
  );
  assert.ok(mcpChunk, "a chunk holds the MCP server");
  assert.ok(
    !server.requests.includes(mcpChunk),
    `run, logs and screen do not fetch the MCP server: ${server.requests}`,
  );

  const reply = await initializeOverStdio(
    [
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      `${server.url}dist/cli.js`,
      "mcp",
      "-F",
      sshd.configFile,
    ],
    { cwd: side.cwd, env: { ...sshd.env, DENO_DIR: side.denoDir } },
  );
  assert.equal(reply.result.serverInfo.name, "sessh");
  assert.ok(server.requests.includes(mcpChunk), "mcp fetched its chunk");
});

Deno.test("the served mod.ts run as a program hands off to the bundle, and imported is the library from source", async () => {
  const { code, text, files, dir } = await staged();
  assert.equal(code, 0, text);
  await using sshd = await startSshd();
  await using server = await servePackage(dir, files);
  const side = await userSide(sshd);

  // First a user of the library alone, with a cache of its own: afterwards
  // the agent that `run` starts fetches chunks of its own in the background.
  const library = await userSide(sshd, "library");
  const script = `${library.cwd}/use.ts`;
  await Deno.writeTextFile(
    script,
    `const m = await import(${JSON.stringify(`${server.url}mod.ts`)});\n` +
      "console.log(typeof m.SesshClient);\n",
  );
  const imported = await runServed(script, [], library);
  assert.equal(imported.code, 0, imported.stderr);
  assert.equal(imported.stdout, "function\n");
  assert.ok(server.requests.includes("mod.ts"), `${server.requests}`);
  assert.deepEqual(
    server.requests.filter((p) => p.startsWith("dist/")),
    [],
    "the library loads no bundle",
  );

  server.requests.length = 0;
  const run = await served(
    sshd,
    server,
    side,
    "mod.ts",
    "run",
    "m",
    sshd.dest,
    "--",
    "echo mod-$((6*7))",
  );
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, "mod-42\n");
  assert.ok(server.requests.includes("dist/cli.js"), `${server.requests}`);
  assert.deepEqual(
    server.requests.filter((p) => p === "cli.ts" || p.startsWith("lib/cli/")),
    [],
    "the command line's sources are not fetched",
  );
});
