/**
 * Regenerates `lib/remote/_helper_source.ts` from the helper's package
 * (`lib/remote/helper/`) and the loader beside it, so that the published
 * module never reads files next to itself at run time. Run with
 * `deno task embed` after editing `lib/remote/helper/*.py` or
 * `lib/remote/loader.py`.
 *
 * @module
 */
import {
  generateEmbeddedSource,
  readHelperFiles,
} from "../lib/remote/embed.ts";

const dir = new URL("../lib/remote/", import.meta.url);
const files = await readHelperFiles(new URL("helper/", dir));
const loader = await Deno.readTextFile(new URL("loader.py", dir));
await Deno.writeTextFile(
  new URL("_helper_source.ts", dir),
  await generateEmbeddedSource(files, loader),
);
console.log("wrote lib/remote/_helper_source.ts");
