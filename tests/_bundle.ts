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
  ], { cwd: ROOT, timeoutMs: 120_000 });
  if (result.code !== 0) {
    throw new Error(
      `deno bundle failed: ${new TextDecoder().decode(result.stderr)}`,
    );
  }
  return `${outdir}/cli.js`;
}
