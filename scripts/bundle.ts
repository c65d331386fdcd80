/**
 * `deno task bundle`: the command line as one JavaScript file with its npm
 * packages inside, each lazily loaded verb, the terminal renderer and the
 * MCP server in chunks of their own.
 *
 * Deno reads, at start, every module a literal `import()` names, unless the
 * root `deno.json` turns on "lazy-dynamic-imports": a user's `deno run
 * jsr:@sessh/cli/cli` has no such file, and there, served over the network,
 * that cost every chunk, the MCP server's 780 KB among them, on every call
 * (issue 21). So the chunks' own `import("./x-HASH.js")` become a
 * template, `` import(`./x-${"HASH.js"}`) ``, which Deno does not follow
 * until it runs (`String("./x.js")` would do as well, but `deno publish`
 * warns of it as "unanalyzable"; the template it resolves against the files
 * beside it). The chunk's name stays in the template's fixed part: Deno
 * matches a template against the files of its directory as a module loads,
 * and `./${"x.js"}`, which matches every file of the bundle, cost each call
 * 2-3 ms before `cli.js` ran its first line. The `deno.json` written beside
 * them turns the same on for a bundle run from its own directory, and keeps
 * a lockfile out of it.
 *
 * What every call loads at start goes the other way: the thin client comes
 * with the entry rather than by a first `import()`, in one chunk with the
 * leaves it shares with the rest ({@linkcode joinEntryChunks}).
 *
 * ```sh
 * deno run -A scripts/bundle.ts [OUTDIR]   # default: dist
 * ```
 *
 * @module
 */
import { runCommand } from "../lib/process.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * The types of the entry's one export, for JSR: a JavaScript entry without
 * them is a warning at `deno publish` ("unsupported-javascript-entrypoint").
 */
export const ENTRY_TYPES = `/**
 * Runs the command line and returns the exit code.
 *
 * @param args Arguments after the program name.
 * @returns The exit code.
 */
export function main(args: string[]): Promise<number>;
`;

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
  // The bundler writes into a directory of its own: what it wrote is then
  // known, and a chunk of an earlier bundle in `outdir` (its name carries
  // another hash) is not taken for one of this bundle's.
  const fresh = await Deno.makeTempDir({ prefix: "sessh-bundle-" });
  const written = new Map<string, string>();
  try {
    const result = await runCommand([
      Deno.execPath(),
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--code-splitting",
      "--outdir",
      fresh,
      `${ROOT}cli.ts`,
    ], { cwd: ROOT, timeoutMs: 120_000 });
    if (result.code !== 0) {
      throw new Error(
        `deno bundle failed: ${new TextDecoder().decode(result.stderr)}`,
      );
    }
    for (const { name } of Deno.readDirSync(fresh)) {
      if (name.endsWith(".js")) {
        written.set(name, await Deno.readTextFile(`${fresh}/${name}`));
      }
    }
  } finally {
    await Deno.remove(fresh, { recursive: true });
  }
  written.set("cli.js", eagerThinClient(written.get("cli.js") ?? ""));
  const files = joinEntryChunks(written);
  await Deno.mkdir(outdir, { recursive: true });
  await removeStaleChunks(outdir, new Set(files.keys()));
  for (const [name, code] of files) {
    const lazy = lazyImports(code);
    await Deno.writeTextFile(
      `${outdir}/${name}`,
      name === "cli.js"
        ? withTypes(eagerFunctions(lazy))
        : name === ENTRY_CHUNK
        ? eagerFunctions(lazy)
        : lazy,
    );
  }
  const entry = `${outdir}/cli.js`;
  await Deno.writeTextFile(`${outdir}/cli.d.ts`, ENTRY_TYPES);
  await Deno.writeTextFile(
    `${outdir}/deno.json`,
    JSON.stringify(BUNDLE_CONFIG, null, 2) + "\n",
  );
  return entry;
}

/**
 * The bundler's name for a chunk: its module's name, a dash and an
 * eight-character hash of its content.
 */
const CHUNK_NAME = /^[\w.-]+-[A-Z0-9]{8}\.js$/;

/**
 * Removes from `outdir` the chunks of earlier bundles: they would pile up
 * with every bundle, and `deno publish` ships the whole directory. Only
 * files named as the bundler names chunks go, and none that `keep` holds.
 *
 * @param outdir The bundle's directory.
 * @param keep The names of this bundle's files.
 */
async function removeStaleChunks(
  outdir: string,
  keep: ReadonlySet<string>,
): Promise<void> {
  for await (const { name, isFile } of Deno.readDir(outdir)) {
    if (isFile && CHUNK_NAME.test(name) && !keep.has(name)) {
      await Deno.remove(`${outdir}/${name}`);
    }
  }
}

/** The entry with its types named. */
function withTypes(code: string): string {
  return afterShebang(code, '// @ts-self-types="./cli.d.ts"\n');
}

/** `code` with `lines` first, after its `#!` line if it has one. */
function afterShebang(code: string, lines: string): string {
  if (!code.startsWith("#!")) return lines + code;
  const end = code.indexOf("\n") + 1;
  return code.slice(0, end) + lines + code.slice(end);
}

/**
 * The entry's `import()` of the thin client's chunk, as the bundler writes
 * it (before {@linkcode lazyImports}): `cli.ts` imports the client only
 * when a call may be thin, so that a `--version` from the sources loads
 * none of it.
 */
const THIN_CLIENT_IMPORT = /\bimport\("(\.\/thin_client-\w+\.js)"\)/g;

/**
 * Loads the thin client's chunk with the entry: in the bundle, whose
 * static modules cost little, a warm call then pays no first `import()`
 * (about 0.4 ms, issue 21).
 *
 * @example
 * ```ts
 * import { eagerThinClient } from "./bundle.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   eagerThinClient(`await (await import("./thin_client-AB12.js")).thinCall(a)`),
 *   `import * as thinClient from "./thin_client-AB12.js";\n` +
 *     "await (await Promise.resolve(thinClient)).thinCall(a)",
 * );
 * ```
 *
 * @param code The entry's JavaScript.
 * @returns The same code, the chunk imported statically.
 * @throws {Error} When the entry has no such `import()` or more than one.
 */
export function eagerThinClient(code: string): string {
  const chunks = [...code.matchAll(THIN_CLIENT_IMPORT)].map((m) => m[1]);
  if (chunks.length !== 1) {
    throw new Error(
      `cli.js should import() the thin client's chunk once, found ${chunks.length}; keep cli.ts's import() of lib/cli/thin_client.ts`,
    );
  }
  return afterShebang(
    code.replace(THIN_CLIENT_IMPORT, "Promise.resolve(thinClient)"),
    `import * as thinClient from "${chunks[0]}";\n`,
  );
}

/**
 * A static import of a file beside it, the whole statement, as the bundler
 * writes them: `import "./x.js";`, `import { a, b } from "./x.js";` (over
 * lines) or `import * as x from "./x.js";`.
 */
const STATIC_IMPORT =
  /^import\s*(?:(?:\{[^}]*\}|\*\s*as\s+\w+)\s*from\s*)?"\.\/([\w.-]+\.js)";\n/gm;

/** A top-level declaration's name, as the bundler writes them. */
const TOP_LEVEL_NAME =
  /^(?:var|let|const|(?:async\s+)?function\*?|class)\s+([\w$]+)/gm;

/** The file {@linkcode joinEntryChunks} makes. */
export const ENTRY_CHUNK = "cli_static.js";

/**
 * Joins the chunks `cli.js` loads statically (the thin client and the
 * leaves it shares with the rest of the command line) into one,
 * {@linkcode ENTRY_CHUNK}: every call reads, parses and instantiates each
 * module it loads at start, and a warm call then loads two rather than
 * nine (issue 21). The chunks keep their order of evaluation, each after
 * those it imports; the others import from the joined one instead.
 *
 * @example
 * ```ts
 * import { ENTRY_CHUNK, joinEntryChunks } from "./bundle.ts";
 * import assert from "node:assert/strict";
 *
 * const files = joinEntryChunks(new Map([
 *   ["cli.js", 'import { b } from "./b.js";\nb();\n'],
 *   ["b.js", 'import { a } from "./a.js";\nfunction b() { a(); }\nexport { b };\n'],
 *   ["a.js", "function a() {}\nexport { a };\n"],
 *   ["main.js", 'import { a } from "./a.js";\na();\n'],
 * ]));
 * assert.deepEqual([...files.keys()], ["cli.js", "main.js", ENTRY_CHUNK]);
 * assert.equal(files.get("main.js"), `import { a } from "./${ENTRY_CHUNK}";\na();\n`);
 * assert.equal(
 *   files.get(ENTRY_CHUNK),
 *   "function a() {}\nexport { a };\nfunction b() { a(); }\nexport { b };\n",
 * );
 * assert.throws(() => joinEntryChunks(new Map([
 *   ["cli.js", 'import "./a.js";\nimport "./b.js";\n'],
 *   ["a.js", "var x = 1;\n"],
 *   ["b.js", "var x = 2;\n"],
 * ])), /declare "x"/);
 * ```
 *
 * @param files The bundle's JavaScript files by name, `cli.js` among them.
 * @returns The files after the join.
 * @throws {Error} When two of the chunks declare the same name: joined,
 *   they would not load.
 */
export function joinEntryChunks(
  files: ReadonlyMap<string, string>,
): Map<string, string> {
  const imported = (name: string) =>
    [...(files.get(name) ?? "").matchAll(STATIC_IMPORT)].map((m) => m[1]);
  const order: string[] = [];
  const visit = (name: string) => {
    if (order.includes(name) || !files.has(name)) return;
    for (const next of imported(name)) visit(next);
    order.push(name);
  };
  for (const name of imported("cli.js")) visit(name);
  const declared = new Set<string>();
  for (const name of order) {
    for (const [, declaration] of files.get(name)!.matchAll(TOP_LEVEL_NAME)) {
      if (declared.has(declaration)) {
        throw new Error(
          `Two chunks of cli.js declare "${declaration}", so they cannot be joined into ${ENTRY_CHUNK}`,
        );
      }
      declared.add(declaration);
    }
  }
  const joined = order.map((name) =>
    files.get(name)!.replace(STATIC_IMPORT, "")
  )
    .join("");
  const result = new Map<string, string>();
  for (const [name, code] of files) {
    if (order.includes(name)) continue;
    // Two imports of the joined chunk stay two statements: ES modules allow it.
    result.set(
      name,
      order.reduce(
        (text, chunk) => text.replaceAll(`"./${chunk}"`, `"./${ENTRY_CHUNK}"`),
        code,
      ),
    );
  }
  result.set(ENTRY_CHUNK, joined);
  return result;
}

/**
 * A top-level function declaration over lines, as the bundler prints them:
 * its first line ends with `{`, its body is indented, and its closing brace
 * is alone at the start of a line.
 */
const TOP_LEVEL_FUNCTION =
  /^((?:async )?function\*? ?([\w$]+)\([^\n]*\{\n[\s\S]*?\n)\}$/gm;

/**
 * Has V8 compile a file's top-level functions with the file rather than at
 * their first call: each becomes a function expression in parentheses,
 * which V8 takes for one about to be called. Compiled with the module, they
 * come from Deno's code cache at every start after the first, where a
 * lazily compiled one is parsed and compiled again by every call that runs
 * it: a warm thin call runs most of its entry's functions once (0.35 ms of
 * a warm call on a 2-core machine, issue 21). A function declaration is
 * hoisted and such a `var` is not, so a file whose top-level code calls a
 * function above its declaration would fail as it loads; the bundler's
 * entry and its joined chunk call none (the bundle's tests run both).
 *
 * @example
 * ```ts
 * import { eagerFunctions } from "./bundle.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   eagerFunctions("async function f(a) {\n  return a;\n}\nawait f(1);\n"),
 *   "var f = (async function f(a) {\n  return a;\n});\nawait f(1);\n",
 * );
 * ```
 *
 * @param code A chunk's JavaScript.
 * @returns The same code with its top-level functions compiled eagerly.
 */
export function eagerFunctions(code: string): string {
  return code.replaceAll(TOP_LEVEL_FUNCTION, "var $2 = ($1});");
}

/**
 * A chunk's literal `import("./name-HASH.js")`, as the bundler writes them
 * (`[name]-[hash]`): its name, and its hash with the extension.
 */
const CHUNK_IMPORT = /\bimport\("\.\/([\w.-]+-)([\w]+\.js)"\)/g;

/**
 * Hides the chunks' relative `import()` from Deno's look-ahead: the same
 * call, on a template that is not a plain literal, whose fixed part (the
 * chunk's name) matches that chunk alone among the files beside it.
 *
 * @example
 * ```ts
 * import { lazyImports } from "./bundle.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   lazyImports(`await import("./run-AB12.js")`),
 *   "await import(`./run-${\"AB12.js\"}`)",
 * );
 * ```
 *
 * @param code A chunk's JavaScript.
 * @returns The same code with each such `import()` made lazy.
 */
export function lazyImports(code: string): string {
  return code.replaceAll(CHUNK_IMPORT, 'import(`./$1${"$2"}`)');
}

if (import.meta.main) {
  const entry = await bundle(Deno.args[0] ?? `${ROOT}dist`);
  console.log(`wrote ${entry}`);
}
