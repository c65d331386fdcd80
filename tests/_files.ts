/**
 * Files the copy tests share: a large file that costs no disk (sparse here,
 * bytes on the wire, so a copy of it is still in flight when a test stops
 * it), and a size that says whether a file is there.
 *
 * @module
 */

/**
 * Makes `path` a sparse file of `bytes` zeros.
 *
 * @param path The file to make (replaced if there).
 * @param bytes Its size.
 */
export async function sparseFile(path: string, bytes: number): Promise<void> {
  await Deno.writeFile(path, new Uint8Array(0));
  await Deno.truncate(path, bytes);
}

/**
 * A file's size, without following a link; -1 when there is none.
 *
 * @param path The file.
 * @returns Its size, or -1.
 */
export async function sizeOf(path: string): Promise<number> {
  return (await Deno.lstat(path).catch(() => null))?.size ?? -1;
}

/**
 * Waits until a copy's part holds `bytes`: the copy is then in flight, for
 * a test to stop it there. Fails after 60 s.
 *
 * @param part The part file.
 * @param bytes How much it must hold.
 */
export async function partUnderWay(
  part: string,
  bytes = 4 << 20,
): Promise<void> {
  const until = Date.now() + 60_000;
  while (await sizeOf(part) < bytes) {
    if (Date.now() >= until) throw new Error(`no part at ${part} within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
