/**
 * Fails when the documentation of `mod.ts` links to a symbol it does not
 * export. `deno doc --lint` checks that each export is documented and that
 * its types are exported, but not where a `{@link}` points; the rendered
 * docs then show a link to an internal function as plain text, unannounced.
 * Run by `deno task ok`: `deno run --allow-run scripts/doc_links.ts mod.ts`.
 *
 * @module
 */

/** A `{@link X}`, `{@linkcode X}` or `{@linkplain X}` and its target. */
const LINK = /\{@link(?:code|plain)?\s+([^\s|}]+)/g;

/**
 * The link targets in `deno doc --json` output that name no exported symbol.
 *
 * @param doc The parsed output of `deno doc --json`.
 * @returns Each unresolved target once, sorted.
 *
 * @example
 * ```ts
 * import { unresolvedLinks } from "./doc_links.ts";
 * const doc = {
 *   nodes: {
 *     "file:///mod.ts": {
 *       symbols: [{ name: "a", jsDoc: "See {@linkcode b} and {@link a.x}" }],
 *     },
 *   },
 * };
 * console.log(unresolvedLinks(doc)); // ["b"]
 * ```
 */
export function unresolvedLinks(
  doc: { nodes: Record<string, { symbols: { name: string }[] }> },
): string[] {
  const modules = Object.values(doc.nodes);
  const exported = new Set(
    modules.flatMap((module) => module.symbols.map((symbol) => symbol.name)),
  );
  const text = JSON.stringify(modules);
  const missing = new Set<string>();
  for (const [, target] of text.matchAll(LINK)) {
    if (target.includes("://")) continue;
    if (!exported.has(target.split(/[.#]/)[0])) missing.add(target);
  }
  return [...missing].sort();
}

if (import.meta.main) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...Deno.args],
    stderr: "inherit",
  }).output();
  if (!output.success) Deno.exit(output.code);
  const missing = unresolvedLinks(
    JSON.parse(new TextDecoder().decode(output.stdout)),
  );
  if (missing.length > 0) {
    console.error(
      `Links to symbols ${Deno.args.join(" ")} does not export: ${
        missing.join(", ")
      }`,
    );
    Deno.exit(1);
  }
}
