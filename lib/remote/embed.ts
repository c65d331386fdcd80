/**
 * Builds the generated module that carries the remote helper. The helper is
 * a directory of Python modules (`lib/remote/helper/`); it travels as one
 * packed stream, compressed (zlib, as Python's `zlib.decompress` reads it),
 * which the loader checks against its hash and unpacks into the cache.
 *
 * The packed form is a list of entries, each a header line
 * `NAME SIZE\n` followed by SIZE bytes of the file: no tar or zip on the
 * remote side, and a format the loader reads in a few lines.
 *
 * @module
 */
import { deflateSync } from "node:zlib";
import { encodeBase64 } from "../bytes.ts";
import { runCommand } from "../process.ts";

/** One file of the helper: its name in the helper's directory and its text. */
export interface HelperFile {
  /** The file name, such as `daemon.py`; the helper's directory is flat. */
  name: string;
  /** The file's content. */
  text: string;
}

/**
 * Whether a file of `lib/remote/helper/` is shipped: the modules are, their
 * tests and the test fakes (`*_test.py`, `testing.py`) stay behind.
 *
 * @param name A file name in the helper's directory.
 * @returns True for a module the helper runs.
 *
 * @example
 * ```ts
 * import { isShipped } from "./embed.ts";
 * console.log(isShipped("daemon.py"), isShipped("daemon_test.py")); // true false
 * ```
 */
export function isShipped(name: string): boolean {
  return /^[A-Za-z0-9_]+\.py$/.test(name) && !name.endsWith("_test.py") &&
    name !== "testing.py";
}

/**
 * What a first call uploads, read and stripped as `deno task embed` packs
 * it: the helper's shipped files and the loader, each without comments and
 * docstrings ({@linkcode stripForUpload}), in one run of Python.
 *
 * @param remoteDir `lib/remote/`, ending in `/`: the helper's directory and the loader are in it.
 * @returns The stripped files and the loader's stripped source.
 *
 * @example
 * ```ts ignore
 * import { readUpload } from "./embed.ts";
 * const { files, loader } = await readUpload(new URL("./", import.meta.url));
 * ```
 */
export async function readUpload(
  remoteDir: URL,
): Promise<{ files: HelperFile[]; loader: string }> {
  const files = await readHelperFiles(new URL("helper/", remoteDir));
  const loader = {
    name: "loader.py",
    text: await Deno.readTextFile(new URL("loader.py", remoteDir)),
  };
  const stripped = await stripForUpload([...files, loader]);
  return { files: stripped.slice(0, -1), loader: stripped.at(-1)!.text };
}

/**
 * The helper's files as they are uploaded: without comments and docstrings,
 * each removed line left empty so that line numbers in a host's traceback
 * match the source. `upload_strip.py` (beside this module) does the work with
 * Python's own tokenizer and parser, and refuses, naming the module, a result
 * whose syntax tree or statement lines differ from the source's.
 *
 * @param files The helper's shipped files ({@linkcode readHelperFiles}).
 * @returns The same files, stripped, in the same order.
 * @throws {Error} When `python3` is missing or the stripped form would not be the same program.
 *
 * @example
 * ```ts ignore
 * import { stripForUpload } from "./embed.ts";
 * const [file] = await stripForUpload([{ name: "a.py", text: "x = 1  # one\n" }]);
 * console.log(JSON.stringify(file.text)); // "x = 1\n"
 * ```
 */
export async function stripForUpload(
  files: HelperFile[],
): Promise<HelperFile[]> {
  const script = new URL("upload_strip.py", import.meta.url).pathname;
  const input = Object.fromEntries(files.map((f) => [f.name, f.text]));
  const result = await runCommand(["python3", "-I", script], {
    stdin: new TextEncoder().encode(JSON.stringify(input)),
    timeoutMs: 30_000,
  });
  if (result.code !== 0) {
    throw new Error(
      `Cannot strip the helper for its upload: python3 ${script} exited ${result.code}: ${
        new TextDecoder().decode(result.stderr).trim()
      }`,
    );
  }
  const stripped: Record<string, string> = JSON.parse(
    new TextDecoder().decode(result.stdout),
  );
  return files.map(({ name }) => ({ name, text: stripped[name] }));
}

/**
 * Packs the helper's files, sorted by name, into the stream the loader
 * unpacks: each file as `NAME SIZE\n` and its bytes.
 *
 * @param files The helper's files.
 * @returns The packed bytes, before compression.
 *
 * @example
 * ```ts
 * import { packHelper } from "./embed.ts";
 * const packed = packHelper([{ name: "__main__.py", text: "print(1)\n" }]);
 * console.log(new TextDecoder().decode(packed)); // "__main__.py 9\nprint(1)\n"
 * ```
 */
export function packHelper(files: HelperFile[]): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder();
  const parts = [...files].sort((a, b) => a.name < b.name ? -1 : 1)
    .flatMap(({ name, text }) => {
      const body = encoder.encode(text);
      return [encoder.encode(`${name} ${body.length}\n`), body];
    });
  const packed = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    packed.set(part, at);
    at += part.length;
  }
  return packed;
}

/**
 * The content hash that names a helper version in the remote cache.
 *
 * @param packed The packed helper ({@linkcode packHelper}).
 * @returns The first 16 hex digits of its SHA-256.
 *
 * @example
 * ```ts
 * import { helperHash } from "./embed.ts";
 * console.log((await helperHash(new Uint8Array([1]))).length); // 16
 * ```
 */
export async function helperHash(
  packed: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", packed);
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("")
    .slice(0, 16);
}

/**
 * Renders `_helper_source.ts` for the given helper files and loader source.
 *
 * @param files The helper's shipped files ({@linkcode isShipped}).
 * @param loader The bootstrap loader's Python source.
 * @returns TypeScript source text.
 *
 * @example
 * ```ts
 * import { generateEmbeddedSource } from "./embed.ts";
 * const files = [{ name: "__main__.py", text: "print(1)\n" }];
 * const ts = await generateEmbeddedSource(files, "pass\n");
 * console.log(ts.includes("HELPER_HASH")); // true
 * ```
 */
export async function generateEmbeddedSource(
  files: HelperFile[],
  loader: string,
): Promise<string> {
  const packed = packHelper(files);
  return [
    "// Generated by `deno task embed` from lib/remote/helper/ and loader.py. Do not edit.",
    "",
    "/** The remote helper's files, packed, zlib-compressed and base64-encoded: shipped over ssh on first use. */",
    `export const HELPER_PACKED: string = ${
      JSON.stringify(encodeBase64(deflateSync(packed, { level: 9 })))
    };`,
    "",
    "/** Content hash of the packed helper, naming this helper version in the remote cache. */",
    `export const HELPER_HASH: string = ${
      JSON.stringify(await helperHash(packed))
    };`,
    "",
    "/** Source of the bootstrap loader run with `python3 -c`. */",
    `export const LOADER_SOURCE: string = ${JSON.stringify(loader)};`,
    "",
  ].join("\n");
}

/**
 * Renders `_helper_hash.ts`: the helper's hash and the protocol version,
 * alone. Every warm call names the helper and protocol it expects to its
 * agent, and importing them from here spares it the packed helper, which
 * only a bridge that pushes it needs, and the contract (`spec.json`), which
 * only the full command line needs.
 *
 * @param files The helper's shipped files ({@linkcode isShipped}).
 * @param protocolVersion The contract's `PROTOCOL_VERSION`.
 * @returns TypeScript source text.
 *
 * @example
 * ```ts
 * import { generateHashSource } from "./embed.ts";
 * const files = [{ name: "__main__.py", text: "print(1)\n" }];
 * const ts = await generateHashSource(files, 1);
 * console.log(ts.includes("HELPER_HASH")); // true
 * ```
 */
export async function generateHashSource(
  files: HelperFile[],
  protocolVersion: number,
): Promise<string> {
  return [
    "// Generated by `deno task embed` from lib/remote/helper/ and lib/contract/spec.json. Do not edit.",
    "",
    "/** Content hash of the packed helper (as in `_helper_source.ts`), without the helper. */",
    `export const HELPER_HASH: string = ${
      JSON.stringify(await helperHash(packHelper(files)))
    };`,
    "",
    "/** The contract's `PROTOCOL_VERSION`, without the contract. */",
    `export const PROTOCOL_VERSION: number = ${
      JSON.stringify(protocolVersion)
    };`,
    "",
  ].join("\n");
}

/**
 * Reads the helper's shipped files from its directory, sorted by name.
 *
 * @param dir The helper's directory (`lib/remote/helper/`), ending in `/`.
 * @returns Its shipped files.
 *
 * @example
 * ```ts ignore
 * import { readHelperFiles } from "./embed.ts";
 * const files = await readHelperFiles(new URL("./helper/", import.meta.url));
 * ```
 */
export async function readHelperFiles(dir: URL): Promise<HelperFile[]> {
  const names = (await Array.fromAsync(Deno.readDir(dir)))
    .filter((e) => e.isFile && isShipped(e.name)).map((e) => e.name).sort();
  return await Promise.all(
    names.map(async (name) => ({
      name,
      text: await Deno.readTextFile(new URL(name, dir)),
    })),
  );
}

/** The part of `spec.json` the helper's constants are generated from. */
export interface ProtocolSpec {
  /** The protocol version. */
  version: number;
  /** The limits both ends keep. */
  limits: {
    max_frame: number;
    max_buffer: number;
    match_overlap: number;
    input_stall_s: number;
  };
  /** The ops, by name. */
  ops: Record<string, unknown>;
  /** The caps, by name. */
  caps: Record<string, unknown>;
  /** The codes the daemon refuses a request with. */
  daemon_errors: Record<string, unknown>;
  /** The loader's and the helper's exit codes, by number. */
  remote_exits: Record<string, { name: string; by: string }>;
  /** The private terminal modes tracked for replay. */
  tracked_modes: number[];
  /** What a session name may be made of, and how long it may be. */
  session_name: { chars: string; min: number; max: number };
  /** The environment that keeps pagers from waiting. */
  pager_env: Record<string, string>;
}

/** The line that opens the generated constants in the helper. */
export const GENERATED_BEGIN =
  "# BEGIN GENERATED by `deno task embed` from lib/contract/spec.json: edit the spec, not these lines.";
/** The line that closes them. */
export const GENERATED_END = "# END GENERATED";

// A Python literal for a JSON string: JSON's escapes are Python's too, for
// the printable ASCII the spec holds.
function pyStr(text: string): string {
  return JSON.stringify(text);
}

// `NAME = [items]` (or a set), wrapped at the helper's 120 columns.
function pySeq(name: string, items: string[], open: string, close: string) {
  const lines: string[] = [];
  let line = `${name} = ${open}`;
  const indent = " ".repeat(line.length);
  items.forEach((item, i) => {
    const piece = item + (i < items.length - 1 ? ", " : close);
    if (line.length + piece.trimEnd().length > 116 && line.trim() !== "") {
      lines.push(line.trimEnd());
      line = indent;
    }
    line += piece;
  });
  if (!items.length) line += close;
  lines.push(line);
  return lines.join("\n");
}

/**
 * The helper's protocol constants, generated from the contract: flat
 * `NAME = value` lines of Python with literal values only, between
 * {@linkcode GENERATED_BEGIN} and {@linkcode GENERATED_END}, for the
 * helper's `protocol.py`.
 *
 * @param spec The contract, as `lib/contract/spec.json` holds it.
 * @returns Python source, ending in a line break.
 *
 * @example
 * ```ts ignore
 * import { generatePythonProtocol } from "./embed.ts";
 * import spec from "../contract/spec.json" with { type: "json" };
 * console.log(generatePythonProtocol(spec).includes("PROTOCOL = 1\n")); // true
 * ```
 */
export function generatePythonProtocol(spec: ProtocolSpec): string {
  const version = spec.version;
  const exits = Object.entries(spec.remote_exits)
    .filter(([, exit]) => exit.by === "helper")
    .map(([code, exit]) => `EXIT_${exit.name.toUpperCase()} = ${Number(code)}`);
  const errors = Object.keys(spec.daemon_errors).map((code) =>
    `ERR_${code.toUpperCase()} = ${pyStr(code)}`
  );
  const name = spec.session_name;
  return [
    GENERATED_BEGIN,
    `PROTOCOL = ${version}`,
    `MAGIC = b"SESSH-HELPER ${version}\\n"`,
    `SOCKET_NAME = "daemon-${version}.sock"`,
    `REGISTRY_NAME = "sessions-${version}.json"`,
    `MAX_FRAME = ${spec.limits.max_frame}`,
    `MAX_BUFFER = ${spec.limits.max_buffer}`,
    `MATCH_OVERLAP = ${spec.limits.match_overlap}  # characters of earlier text a match may span, as on the client`,
    `INPUT_STALL_S = ${spec.limits.input_stall_s}`,
    `NAME_PATTERN = r"[${name.chars}]{${name.min},${name.max}}"  # a session name, matched whole`,
    "# Terminal modes an attaching terminal must be put in before replay.",
    pySeq(
      "TRACKED_MODES",
      spec.tracked_modes.map((mode) => `b"${mode}"`),
      "{",
      "}",
    ),
    "# Exit codes before the protocol starts (the loader's are in loader.py).",
    ...exits,
    "# Set in every session, so that a program does not stop the agent behind a pager.",
    `AGENT_ENV = {${
      Object.entries(spec.pager_env).map(([k, v]) => `${pyStr(k)}: ${pyStr(v)}`)
        .join(", ")
    }}`,
    "# What this daemon does beyond protocol 1's first form; a client asks a daemon of an older helper only for what it",
    "# lists (lib/contract/spec.json says what each cap means).",
    pySeq("CAPS", Object.keys(spec.caps).map(pyStr), "[", "]"),
    '# The codes of the errors the helper sends (a reply\'s "code"; the client maps each to its SesshError).',
    ...errors,
    GENERATED_END,
    "",
  ].join("\n");
}

/**
 * Puts freshly generated constants in place of the helper's generated
 * region.
 *
 * @param source The helper's source, with one generated region.
 * @param generated What {@linkcode generatePythonProtocol} returned.
 * @returns The source with the region replaced.
 * @throws {Error} When the source has no region, or more than one.
 *
 * @example
 * ```ts
 * import { GENERATED_BEGIN, GENERATED_END, replaceGenerated } from "./embed.ts";
 * const old = `import re\n${GENERATED_BEGIN}\nPROTOCOL = 0\n${GENERATED_END}\nrest\n`;
 * const next = `${GENERATED_BEGIN}\nPROTOCOL = 1\n${GENERATED_END}\n`;
 * console.log(replaceGenerated(old, next).includes("PROTOCOL = 1\n")); // true
 * ```
 */
export function replaceGenerated(source: string, generated: string): string {
  const begin = source.indexOf(GENERATED_BEGIN + "\n");
  const endAt = source.indexOf(GENERATED_END + "\n", begin);
  if (
    begin < 0 || endAt < 0 ||
    source.indexOf(GENERATED_BEGIN, begin + 1) >= 0
  ) {
    throw new Error(
      "The helper needs one generated region, from its BEGIN GENERATED line to its END GENERATED line",
    );
  }
  return source.slice(0, begin) + generated +
    source.slice(endAt + GENERATED_END.length + 1);
}

/**
 * The generated region of the helper's source, as it stands.
 *
 * @param source The helper's source.
 * @returns The region, its BEGIN and END lines included, or null.
 */
export function generatedRegion(source: string): string | null {
  const begin = source.indexOf(GENERATED_BEGIN + "\n");
  const endAt = source.indexOf(GENERATED_END + "\n", begin);
  if (begin < 0 || endAt < 0) return null;
  return source.slice(begin, endAt + GENERATED_END.length + 1);
}
