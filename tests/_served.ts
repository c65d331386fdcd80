/**
 * The package as JSR would serve it, for the test that runs it and the
 * benchmark that times it: `deno publish --dry-run`'s file set, staged the
 * way the release workflow stages it (the checkout, then `deno task bundle`
 * into `dist/`), served over HTTP on 127.0.0.1 and run by URL from a
 * directory with no `deno.json`, with a `DENO_DIR` of its own.
 *
 * What differs from jsr.io: plain HTTP, not HTTPS; a URL, not a `jsr:`
 * specifier, so no registry metadata (`meta.json`, the version's manifest)
 * is read or checked, and no lockfile is written; the bare specifiers are
 * rewritten to the `npm:` ones of `deno.json`'s import map by the server
 * below, as JSR rewrites them at publish time.
 *
 * @module
 */
import { runCommand } from "../lib/process.ts";
import { bundle } from "../scripts/bundle.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

/** A staged package and what its dry run said. */
export interface StagedPackage extends AsyncDisposable {
  /** The staged copy of the checkout, with the bundle in `dist/`. */
  dir: string;
  /** The dry run's exit code. */
  code: number;
  /** The dry run's whole output. */
  text: string;
  /** The files it would publish, relative to `dir`. */
  files: string[];
}

/**
 * Copies the checkout's files (tracked, and untracked ones git does not
 * ignore) into a temporary directory, bundles the command line into its
 * `dist/` and runs `deno publish --dry-run` there: what the release
 * workflow's `jsr` job does, without the upload.
 *
 * @returns The staged package; disposing of it removes it.
 */
export async function stagePackage(): Promise<StagedPackage> {
  const dir = await Deno.makeTempDir({ prefix: "sessh-publish-" });
  try {
    await copyCheckout(dir);
    await bundle(`${dir}/dist`);
    const result = await runCommand([
      Deno.execPath(),
      "publish",
      "--dry-run",
      // The staged copy is no git checkout; the real publish checks that.
      "--allow-dirty",
    ], {
      cwd: dir,
      env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      timeoutMs: 120_000,
    });
    const text = decoder.decode(result.stdout) +
      decoder.decode(result.stderr);
    return {
      dir,
      code: result.code,
      text,
      files: result.code === 0 ? publishedFiles(text, dir) : [],
      async [Symbol.asyncDispose]() {
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

/** The checkout's files (tracked, and untracked ones not ignored), to `dir`. */
async function copyCheckout(dir: string): Promise<void> {
  const listed = await runCommand(
    ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    { cwd: ROOT, timeoutMs: 30_000 },
  );
  if (listed.code !== 0) throw new Error("git ls-files failed");
  for (const file of decoder.decode(listed.stdout).split("\0")) {
    if (file === "") continue;
    const target = `${dir}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), {
      recursive: true,
    });
    // A file deleted but not yet staged is listed and absent.
    await Deno.copyFile(`${ROOT}${file}`, target).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

/**
 * The files of a dry run, relative to `dir`, read from between its "with
 * files:" line and the line that ends the list; every line there must be a
 * file, so a change in deno's format fails here instead of serving less.
 *
 * @param text The dry run's output.
 * @param dir The package's directory.
 * @returns The relative paths.
 */
export function publishedFiles(text: string, dir: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => /with files:$/.test(line));
  if (start < 0) throw new Error(`no file list in:\n${text}`);
  const files: string[] = [];
  const prefix = `file://${dir}/`;
  for (const line of lines.slice(start + 1)) {
    if (/^Success Dry run complete/.test(line)) return files;
    const match = line.match(/^\s+(file:\/\/\S+) \([0-9.]+K?M?B\)$/);
    if (!match) throw new Error(`not a file line: ${JSON.stringify(line)}`);
    if (!match[1].startsWith(prefix)) {
      throw new Error(`outside the package: ${match[1]}`);
    }
    files.push(match[1].slice(prefix.length));
  }
  throw new Error(`the file list does not end:\n${text}`);
}

/** A package served over loopback HTTP. */
export interface ServedPackage extends AsyncDisposable {
  /** The package's root, ending in "/". */
  url: string;
  /** The paths asked for, in order, relative to the root. */
  requests: string[];
}

/**
 * Serves `files` of `dir`, and nothing else, on 127.0.0.1, with each
 * module's bare specifiers rewritten by the package's import map.
 *
 * @param dir The package's directory (with its `deno.json`).
 * @param files The files to serve, relative to `dir`.
 * @returns The server; disposing of it stops it.
 */
export async function servePackage(
  dir: string,
  files: string[],
): Promise<ServedPackage> {
  const config = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
  const imports: Record<string, string> = config.imports ?? {};
  const served = new Set(files);
  const requests: string[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
  }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname.slice(1));
    requests.push(path);
    if (!served.has(path)) return new Response("not found", { status: 404 });
    const type = contentType(path);
    const body = await Deno.readFile(`${dir}/${path}`);
    if (!/\.(ts|js)$/.test(path)) {
      return new Response(body, { headers: { "content-type": type } });
    }
    return new Response(unfurl(decoder.decode(body), imports), {
      headers: { "content-type": type },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

function contentType(path: string): string {
  if (path.endsWith(".ts")) return "application/typescript";
  if (path.endsWith(".js")) return "application/javascript";
  if (path.endsWith(".json")) return "application/json";
  return "text/plain";
}

/**
 * A module's import specifiers that the import map names, rewritten to
 * their targets: what JSR does to a package's sources when it publishes.
 *
 * @example
 * ```ts
 * import { unfurl } from "./_served.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   unfurl(`import { z } from "zod";`, { zod: "npm:zod@^3" }),
 *   `import { z } from "npm:zod@^3";`,
 * );
 * ```
 *
 * @param code The module's text.
 * @param imports The import map (`deno.json`'s `imports`).
 * @returns The rewritten text.
 */
export function unfurl(code: string, imports: Record<string, string>): string {
  return code.replaceAll(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)"([^"./][^"]*)"/g,
    (whole, lead: string, specifier: string) => {
      const exact = imports[specifier];
      if (exact) return `${lead}"${exact}"`;
      const prefix = Object.keys(imports).find((key) =>
        key.endsWith("/") && specifier.startsWith(key)
      );
      return prefix
        ? `${lead}"${imports[prefix]}${specifier.slice(prefix.length)}"`
        : whole;
    },
  );
}

/** Where a user runs the package from: a directory and a `DENO_DIR`. */
export interface UserSide {
  /** A directory with no `deno.json` above it. */
  cwd: string;
  /** The user's cache. */
  denoDir: string;
}

/**
 * A user's side of the served package, made under `dir`: a directory with
 * no `deno.json`, and a `DENO_DIR` of its own whose npm packages are the
 * machine's cache (what the library half resolves from npm, without
 * downloading it again); every module it fetches is fetched anew.
 *
 * @param dir A directory to make, outside any Deno project.
 * @returns The user's side.
 */
export async function makeUserSide(dir: string): Promise<UserSide> {
  const cwd = `${dir}/home`;
  const denoDir = `${dir}/deno_dir`;
  await Deno.mkdir(cwd, { recursive: true });
  await Deno.mkdir(denoDir, { recursive: true });
  const info = await runCommand([Deno.execPath(), "info", "--json"], {
    timeoutMs: 30_000,
  });
  const { npmCache } = JSON.parse(decoder.decode(info.stdout));
  // On a fresh machine the cache may not be there yet.
  await Deno.mkdir(npmCache, { recursive: true });
  await Deno.symlink(npmCache, `${denoDir}/npm`);
  return { cwd, denoDir };
}

/**
 * Runs `deno run -A URL ARGS…` the way a user runs a published package:
 * from a directory with no `deno.json`, with `denoDir` as its cache.
 *
 * @param url The module to run.
 * @param args Its arguments.
 * @param options The working directory, `DENO_DIR` and more environment.
 * @returns Exit code and output.
 */
export async function runServed(
  url: string,
  args: string[],
  options: UserSide & { env?: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await runCommand(
    [Deno.execPath(), "run", "-A", "--quiet", url, ...args],
    {
      cwd: options.cwd,
      env: {
        ...options.env,
        DENO_DIR: options.denoDir,
        DENO_NO_UPDATE_CHECK: "1",
      },
      timeoutMs: 120_000,
    },
  );
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}
