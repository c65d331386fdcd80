/**
 * Regenerates the helper's protocol constants from `lib/protocol/spec.json`
 * (the generated region of `lib/remote/sessh_helper.py`), then
 * `lib/remote/_helper_source.ts` from the Python files, so that the
 * published module never reads files next to itself at run time.
 * Run with `deno task embed` after editing the spec or `lib/remote/*.py`.
 *
 * @module
 */
import {
  generateEmbeddedSource,
  generatePythonProtocol,
  replaceGenerated,
} from "../lib/remote/embed.ts";
import { SPEC } from "../lib/protocol/spec.ts";

const dir = new URL("../lib/remote/", import.meta.url);
const helperUrl = new URL("sessh_helper.py", dir);
const before = await Deno.readTextFile(helperUrl);
const helper = replaceGenerated(before, generatePythonProtocol(SPEC));
if (helper !== before) {
  await Deno.writeTextFile(helperUrl, helper);
  console.log("wrote lib/remote/sessh_helper.py (its generated constants)");
}
const loader = await Deno.readTextFile(new URL("loader.py", dir));
await Deno.writeTextFile(
  new URL("_helper_source.ts", dir),
  await generateEmbeddedSource(helper, loader),
);
console.log("wrote lib/remote/_helper_source.ts");
