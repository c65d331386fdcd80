/**
 * The release's files, built by the same commands here and in the release
 * workflow (`.github/workflows/release.yml`): one executable per target
 * from `deno compile`, the MCP server and the terminal renderer inside (the
 * literal `import()`s that load them put them in the graph it embeds), and
 * a `SHA256SUMS` over them in the format `sha256sum -c` reads.
 *
 * ```sh
 * deno run -A scripts/release.ts compile [--target TARGET] [--outdir DIR]
 * deno run -A scripts/release.ts sums DIR
 * deno run -A scripts/release.ts check-tag TAG
 * ```
 *
 * Without `--target`, `compile` builds for this machine into `dist/sessh`:
 * that is `deno task compile`.
 *
 * @module
 */
import { runCommand } from "../lib/process.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** The targets of a release, each an asset `sessh-TARGET[.exe]`. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** One of {@linkcode TARGETS}. */
export type Target = typeof TARGETS[number];

/**
 * The file name of a target's executable in a release.
 *
 * @param target The `deno compile --target`.
 * @returns `sessh-TARGET`, with `.exe` for Windows.
 */
export function assetName(target: Target): string {
  return `sessh-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/**
 * The `deno compile` argv for one target, or for this machine.
 *
 * @param output The executable to write.
 * @param target The target, or none for this machine.
 * @returns The argv, `deno` first.
 */
export function compileArgv(output: string, target?: Target): string[] {
  return [
    Deno.execPath(),
    "compile",
    // A binary is run as a command: it asks no question at start.
    "-A",
    ...(target ? ["--target", target] : []),
    "--output",
    output,
    `${ROOT}cli.ts`,
  ];
}

/**
 * `SHA256SUMS` of the files directly in `dir`: one `HASH  NAME` line each,
 * sorted by name, the sums file itself left out.
 *
 * @param dir The release's directory.
 * @returns The file's text.
 */
export async function sha256Sums(dir: string): Promise<string> {
  const names = [...Deno.readDirSync(dir)]
    .filter((entry) => entry.isFile && entry.name !== "SHA256SUMS")
    .map((entry) => entry.name)
    .sort();
  const lines = [];
  for (const name of names) {
    if (/\s/.test(name)) {
      throw new Error(`Cannot sum "${name}": it has a space`);
    }
    const digest = await crypto.subtle.digest(
      "SHA-256",
      await Deno.readFile(`${dir}/${name}`),
    );
    const hex = Array.from(new Uint8Array(digest))
      .map((byte) => byte.toString(16).padStart(2, "0")).join("");
    lines.push(`${hex}  ${name}\n`);
  }
  return lines.join("");
}

/**
 * Refuses a tag that is not `v` and the version in `deno.json`, so that the
 * binaries and the JSR package of one release carry one version.
 *
 * @param tag The pushed tag, e.g. `v0.1.0`.
 * @param version The package's version.
 * @throws {Error} when they differ.
 */
export function checkTag(tag: string, version: string): void {
  if (tag !== `v${version}`) {
    throw new Error(
      `Tag "${tag}" does not match deno.json's version "${version}"; ` +
        `tag v${version}, or change the version first`,
    );
  }
}

async function main(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  const flag = (name: string) => {
    const at = rest.indexOf(name);
    return at < 0 ? undefined : rest[at + 1];
  };
  if (command === "compile") {
    const target = flag("--target") as Target | undefined;
    if (target !== undefined && !TARGETS.includes(target)) {
      throw new Error(
        `Unknown target "${target}"; one of ${TARGETS.join(", ")}`,
      );
    }
    const outdir = flag("--outdir") ?? `${ROOT}dist`;
    const output = `${outdir}/${target ? assetName(target) : "sessh"}`;
    const result = await runCommand(compileArgv(output, target), {
      timeoutMs: 600_000,
    });
    await Deno.stderr.write(result.stderr);
    if (result.code !== 0) {
      throw new Error(`deno compile exited ${result.code}`);
    }
    console.log(`wrote ${output}`);
  } else if (command === "sums" && rest.length === 1) {
    await Deno.writeTextFile(
      `${rest[0]}/SHA256SUMS`,
      await sha256Sums(rest[0]),
    );
    console.log(`wrote ${rest[0]}/SHA256SUMS`);
  } else if (command === "check-tag" && rest.length === 1) {
    const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
    checkTag(rest[0], config.version);
  } else {
    throw new Error(
      "Usage: release.ts compile [--target TARGET] [--outdir DIR] | sums DIR | check-tag TAG",
    );
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error(`release.ts: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
