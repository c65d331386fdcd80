/**
 * `deno task bundle`: the command line as one JavaScript file with its npm
 * packages inside, each lazily loaded verb, the terminal renderer and the
 * MCP server in chunks of their own. Beside them goes a `deno.json` turning
 * on "lazy-dynamic-imports": without it `deno run` reads every chunk a
 * literal `import()` names at start, the MCP server's 780 KB among them.
 *
 * ```sh
 * deno run -A scripts/bundle.ts [OUTDIR]   # default: dist
 * ```
 *
 * @module
 */
import { runCommand } from "../lib/process.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** The `deno.json` written beside the bundle. */
export const BUNDLE_CONFIG = {
  // A bundle imports nothing from npm or the network: nothing to lock.
  lock: false,
  unstable: ["lazy-dynamic-imports"],
};

/**
 * Bundles `cli.ts` into `outdir`, with `deno.json` beside it.
 *
 * @param outdir Where the files go.
 * @returns The bundle's entry file.
 * @throws {Error} with deno's message when bundling fails.
 */
export async function bundle(outdir: string): Promise<string> {
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
  await Deno.writeTextFile(
    `${outdir}/deno.json`,
    JSON.stringify(BUNDLE_CONFIG, null, 2) + "\n",
  );
  return `${outdir}/cli.js`;
}

if (import.meta.main) {
  const entry = await bundle(Deno.args[0] ?? `${ROOT}dist`);
  console.log(`wrote ${entry}`);
}
