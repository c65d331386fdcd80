/**
 * The local paths the MCP file tools may use: inside the directories the
 * operator allowed, judged after symlinks are resolved, so that a model can
 * neither read nor overwrite files elsewhere (`~/.ssh`, shell start-up
 * files).
 *
 * @module
 */
import { SesshError } from "../errors.ts";

/** Options of {@linkcode confinedPath}. */
export interface ConfinedOptions {
  /** For a write into an existing directory: the file's name in it. */
  nameInDirectory?: string;
  /**
   * What a relative path is taken in.
   * @default {Deno.cwd()}
   */
  cwd?: string;
}

/**
 * The real path of `path` when it lies in one of `dirs`: for a read, an
 * existing file, links followed; for a write, the file in its real
 * directory (the name itself not followed: a write replaces a link there),
 * or `nameInDirectory` inside an existing directory. A path that cannot be
 * resolved is never inside.
 *
 * @param path The path the model gave.
 * @param dirs The allowed directories.
 * @param use Whether the file is read or written.
 * @param options The name in a directory, the working directory.
 * @returns The resolved path.
 * @throws {SesshError} `usage` for a path outside `dirs`, `no_file` for a
 *   missing file or directory.
 *
 * @example
 * ```ts ignore
 * import { confinedPath } from "./local_paths.ts";
 * await confinedPath("build/out.log", ["/work/project"], "write"); // "/work/project/build/out.log"
 * await confinedPath("../.ssh/id_ed25519", ["/work/project"], "read"); // throws: outside
 * ```
 */
export async function confinedPath(
  path: string,
  dirs: readonly string[],
  use: "read" | "write",
  options: ConfinedOptions = {},
): Promise<string> {
  const absolute = path.startsWith("/")
    ? path
    : `${options.cwd ?? Deno.cwd()}/${path}`;
  const info = await Deno.stat(absolute).catch(() => null);
  if (use === "read" && !info?.isFile) {
    throw new SesshError("no_file", `No file ${JSON.stringify(path)} here`);
  }
  const target = use === "write" && info?.isDirectory
    ? `${absolute.replace(/\/+$/, "")}/${nameOf(options.nameInDirectory)}`
    : absolute;
  const roots = await realRoots(dirs);
  // A file read is judged where its links lead. A file written is judged on
  // the directory it is made in: the write renames a new file over the name
  // (see lib/fs/atomic_file.ts), so a link there is replaced, not followed.
  const real = use === "read"
    ? await Deno.realPath(target).catch(() => null)
    : await realParentOf(target);
  if (real === null || !within(real, roots)) {
    throw new SesshError(
      "usage",
      `${
        JSON.stringify(path)
      } is outside the local directories the operator allowed (${
        dirs.join(", ")
      }; sessh mcp --allow-local-dir DIR)`,
    );
  }
  return real;
}

/**
 * The real paths of the allowed directories; one that cannot be resolved
 * allows nothing.
 *
 * @param dirs The directories the operator named.
 * @returns Their real paths.
 */
export async function realRoots(dirs: readonly string[]): Promise<string[]> {
  const roots = await Promise.all(
    dirs.map((dir) => Deno.realPath(dir).catch(() => null)),
  );
  return roots.filter((root) => root !== null);
}

function within(real: string, roots: readonly string[]): boolean {
  return roots.some((root) =>
    real === root || real.startsWith(root === "/" ? "/" : `${root}/`)
  );
}

/** `target` with its directory resolved (the name itself is not followed). */
async function realParentOf(target: string): Promise<string> {
  const cut = target.replace(/\/+$/, "").lastIndexOf("/");
  const parent = target.slice(0, cut) || "/";
  const name = target.slice(cut + 1);
  const realParent = await Deno.realPath(parent).catch(() => null);
  if (realParent === null || name === "" || name === "." || name === "..") {
    throw new SesshError(
      "no_file",
      `No directory ${JSON.stringify(parent)} here to write ${
        JSON.stringify(name)
      } into`,
    );
  }
  return `${realParent.replace(/\/$/, "")}/${name}`;
}

/** A file name from the host, refused when it could climb out. */
function nameOf(name: string | undefined): string {
  if (!name || name === "." || name === ".." || name.includes("/")) {
    throw new SesshError(
      "usage",
      "local_path is a directory: give the file's path in it",
    );
  }
  return name;
}
