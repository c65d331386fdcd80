/**
 * Regenerates the helper's protocol constants (the generated region of
 * `lib/remote/helper/protocol.py`) from `lib/contract/spec.json`, then
 * `lib/remote/_helper_source.ts` from the helper's package
 * (`lib/remote/helper/`, stripped of comments and docstrings) and the loader
 * beside it, and `_helper_hash.ts`
 * (its hash and the protocol version alone, for the warm path), so that the published
 * module never reads files next to itself at run time. Run with
 * `deno task embed` after editing the spec, `lib/remote/helper/*.py` or
 * `lib/remote/loader.py`.
 *
 * @module
 */
import {
  generateEmbeddedSource,
  generateHashSource,
  generatePythonProtocol,
  readUpload,
  replaceGenerated,
} from "../lib/remote/embed.ts";
import { SPEC } from "../lib/contract/spec.ts";

const dir = new URL("../lib/remote/", import.meta.url);
const protocolUrl = new URL("helper/protocol.py", dir);
const before = await Deno.readTextFile(protocolUrl);
const protocol = replaceGenerated(before, generatePythonProtocol(SPEC));
if (protocol !== before) {
  await Deno.writeTextFile(protocolUrl, protocol);
  console.log("wrote lib/remote/helper/protocol.py (its generated constants)");
}
const { files, loader } = await readUpload(dir);
await Deno.writeTextFile(
  new URL("_helper_source.ts", dir),
  await generateEmbeddedSource(files, loader),
);
console.log("wrote lib/remote/_helper_source.ts");
await Deno.writeTextFile(
  new URL("_helper_hash.ts", dir),
  await generateHashSource(files, SPEC.version),
);
console.log("wrote lib/remote/_helper_hash.ts");
