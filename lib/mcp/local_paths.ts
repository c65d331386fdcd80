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
 * existing file; for a write, the file (which may not exist yet, in a
 * directory that does), or `nameInDirectory` inside an existing directory.
 *
 * @param path The path the model gave.
 * @param dirs The allowed directories.
 * @param use Whether the file is read or written.
 * @param options The name in a directory, the working directory.
 * @returns The resolved path, symlinks followed.
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
  // The file's own real path (it may be a link), or its directory's for a
  // file still to be made.
  const real = await Deno.realPath(target).catch(async () => {
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
  });
  const roots = await Promise.all(
    dirs.map((dir) => Deno.realPath(dir).catch(() => null)),
  );
  const inside = roots.some((root) =>
    root !== null &&
    (real === root || real.startsWith(root === "/" ? "/" : `${root}/`))
  );
  if (!inside) {
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
