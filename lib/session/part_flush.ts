/**
 * The flushes of a download's part while sftp writes it: the sync before
 * the rename (`AtomicFile.commit()`) stays, and alone makes the guarantee
 * that a reader sees the old file or the whole new one, even after a crash;
 * these only leave it little to write.
 *
 * @module
 */
import { startTimer } from "../timer.ts";

/** How many bytes sftp writes before the part is flushed on the way. */
export const FLUSH_STEP = 16 << 20;
/** How often the part's size is looked at, to see whether a step is full. */
const FLUSH_LOOK_MS = 20;

/** The part being written by another process, and the size it will reach. */
export interface FlushedPart {
  /** Our handle on the part (its size is what the writer wrote). */
  file: Pick<Deno.FsFile, "stat" | "syncData">;
  /** The size it has once whole. */
  total: number;
}

/**
 * Flushes the part to the disk in steps of {@linkcode FLUSH_STEP} while
 * `work` (sftp) writes it, and once more when it holds all `total` bytes
 * (while sftp closes its channel and exits), so that the sync before the
 * rename, which the copy waits for, finds little or nothing left: a sync of
 * 100 MB at the end took 90–160 ms here, after the flushes on the way about
 * 10 ms (issue 21). Steps, not a flush after every look: each flush also
 * commits the journal, and flushing every 20 ms slowed sftp by more than it
 * saved. A flush that fails stops the flushing; the final sync reports what
 * it meets.
 *
 * @param part The part and its final size.
 * @param work What writes it.
 * @returns What `work` returns, once it and any flush under way are done.
 *
 * @example
 * ```ts
 * import { flushingInSteps } from "./part_flush.ts";
 * const path = await Deno.makeTempFile();
 * using file = await Deno.open(path, { write: true });
 * await flushingInSteps({ file, total: 5 }, () => Deno.writeTextFile(path, "hello"));
 * ```
 */
export async function flushingInSteps<T>(
  part: FlushedPart,
  work: () => Promise<T>,
): Promise<T> {
  const { file, total } = part;
  if (total <= 0) return await work();
  let flushed = 0;
  return await everyWhile(FLUSH_LOOK_MS, async () => {
    const size = (await file.stat()).size;
    if (size - flushed >= FLUSH_STEP || size >= total) {
      await file.syncData();
      flushed = size;
    }
    return flushed < total;
  }, work);
}

/**
 * Runs `work`, and `step` every `everyMs` while it runs: one step at a
 * time, each wait counted from the end of the last step, until `step`
 * says it is done (false) or fails (which only stops the steps). The
 * result waits for a step under way.
 *
 * @param everyMs The wait before each step.
 * @param step One step; false when there are no more to take.
 * @param work What the steps go beside.
 * @returns What `work` returns, once it and any step under way are done.
 *
 * @example
 * ```ts
 * import { everyWhile } from "./part_flush.ts";
 * let looks = 0;
 * const work = () => new Promise((resolve) => setTimeout(resolve, 50));
 * await everyWhile(10, () => Promise.resolve(++looks < 100), work);
 * console.log(looks > 0); // true
 * ```
 */
export async function everyWhile<T>(
  everyMs: number,
  step: () => Promise<boolean>,
  work: () => Promise<T>,
): Promise<T> {
  let finished = false;
  let wake = () => {};
  let cancel = () => {};
  const stepping = (async () => {
    while (!finished) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        cancel = startTimer(everyMs, resolve);
      });
      if (finished || !await step()) break;
    }
  })().catch(() => {});
  try {
    return await work();
  } finally {
    finished = true;
    cancel();
    wake();
    await stepping;
  }
}
