/**
 * Building the bundle the way `deno task bundle` does, for the test that
 * runs it and the benchmark that times it.
 *
 * @module
 */
import { runCommand } from "../lib/process.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * Bundles `cli.ts` into `outdir`, the renderer in a chunk of its own.
 *
 * @param outdir Where the files go.
 * @returns The bundle's entry file.
 * @throws {Error} with deno's message when bundling fails.
 */
export async function buildBundle(outdir: string): Promise<string> {
  const result = await runCommand([
    Deno.execPath(),
    "bundle",
    "--quiet",
    "--platform",
    "deno",
    "--code-splitting",
    "--outdir",
    outdir,
    `${ROOT}cli.ts`,
    // The MCP server, which the bundle imports by a computed path.
    `${ROOT}lib/mcp/server.ts`,
  ], { cwd: ROOT, timeoutMs: 120_000 });
  if (result.code !== 0) {
    throw new Error(
      `deno bundle failed: ${new TextDecoder().decode(result.stderr)}`,
    );
  }
  return `${outdir}/cli.js`;
}

/**
 * The argv that runs the bundle as `sessh VERB -F CONFIG [via…] REST…`: the
 * ssh flags go right after the verb, where the parser expects them.
 *
 * @param bundle The bundle's entry file.
 * @param configFile The ssh config (`-F`).
 * @param via More ssh flags (a relay's `-p PORT`), or none.
 * @param args The verb and the rest of the arguments.
 * @returns The argv.
 */
export function bundledArgv(
  bundle: string,
  configFile: string,
  via: string[],
  args: string[],
): string[] {
  const [verb, ...rest] = args;
  return [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    bundle,
    verb,
    "-F",
    configFile,
    ...via,
    ...rest,
  ];
}
