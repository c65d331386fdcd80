/**
 * Regenerates `lib/remote/_helper_source.ts` from the Python files beside it,
 * so that the published module never reads files next to itself at run time.
 * Run with `deno task embed` after editing `lib/remote/*.py`.
 *
 * @module
 */
import { generateEmbeddedSource } from "../lib/remote/embed.ts";

const dir = new URL("../lib/remote/", import.meta.url);
const helper = await Deno.readTextFile(new URL("sessh_helper.py", dir));
const loader = await Deno.readTextFile(new URL("loader.py", dir));
await Deno.writeTextFile(
  new URL("_helper_source.ts", dir),
  await generateEmbeddedSource(helper, loader),
);
console.log("wrote lib/remote/_helper_source.ts");
