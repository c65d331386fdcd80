/**
 * A syntax check of PowerShell where PowerShell cannot run: the
 * tree-sitter-powershell grammar (its WebAssembly build, from npm) parses a
 * script, and every ERROR or MISSING node is reported. It finds syntax
 * errors only; no PowerShell linter (PSScriptAnalyzer) runs here.
 *
 * @module
 */
import { createRequire } from "node:module";
import { Language, type Node, Parser } from "web-tree-sitter";
import "tree-sitter-powershell/package.json" with { type: "json" };

let parser: Promise<Parser> | undefined;

async function load(): Promise<Parser> {
  await Parser.init();
  const wasm = createRequire(import.meta.url).resolve(
    "tree-sitter-powershell/tree-sitter-powershell.wasm",
  );
  const made = new Parser();
  made.setLanguage(await Language.load(await Deno.readFile(wasm)));
  return made;
}

/**
 * The syntax errors of a PowerShell script, as `LINE:COLUMN TYPE` strings.
 *
 * @param source The script's text.
 * @returns The errors; none for a script that parses.
 */
export async function powershellSyntaxErrors(
  source: string,
): Promise<string[]> {
  parser ??= load();
  const tree = (await parser).parse(source);
  if (!tree) throw new Error("tree-sitter returned no tree");
  const errors: string[] = [];
  const walk = (node: Node) => {
    if (node.isError || node.isMissing) {
      const { row, column } = node.startPosition;
      errors.push(
        `${row + 1}:${column + 1} ${
          node.isMissing ? "missing " : ""
        }${node.type}`,
      );
    }
    for (const child of node.children) if (child) walk(child);
  };
  walk(tree.rootNode);
  tree.delete();
  return errors;
}
