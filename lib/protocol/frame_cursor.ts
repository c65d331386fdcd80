/**
 * Following frame boundaries in a byte stream without decoding the frames,
 * for a relay that forwards bytes as they come and must know whether the
 * stream stands between two frames when one side goes away.
 *
 * @module
 */

/**
 * Tracks where the frame in progress ends in a stream of 4-byte big-endian
 * length prefixes and bodies.
 *
 * @example
 * ```ts
 * import { FrameCursor } from "./frame_cursor.ts";
 * import { encodeFrame } from "./frame.ts";
 * const cursor = new FrameCursor();
 * const frame = encodeFrame({ op: "ping", id: 1 });
 * cursor.advance(frame.subarray(0, 5));
 * console.log(cursor.atBoundary); // false
 * cursor.advance(frame.subarray(5));
 * console.log(cursor.atBoundary); // true
 * ```
 */
export class FrameCursor {
  #header = 0;
  #headerBytes = 0;
  #bodyLeft = 0;

  /** Whether every byte seen so far belongs to a complete frame. */
  get atBoundary(): boolean {
    return this.#headerBytes === 0 && this.#bodyLeft === 0;
  }

  /**
   * Moves past bytes of the stream.
   *
   * @param chunk The next bytes, in order.
   */
  advance(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) at += this.#step(chunk, at);
  }

  /**
   * Moves past the rest of the frame in progress and no further.
   *
   * @param chunk The next bytes, in order.
   * @returns How many bytes of `chunk` belonged to that frame.
   */
  finishFrame(chunk: Uint8Array): number {
    let at = 0;
    while (at < chunk.length && !this.atBoundary) at += this.#step(chunk, at);
    return at;
  }

  /** Consumes bytes of the header or the body at `at`; returns how many. */
  #step(chunk: Uint8Array, at: number): number {
    if (this.#bodyLeft > 0) {
      const n = Math.min(this.#bodyLeft, chunk.length - at);
      this.#bodyLeft -= n;
      return n;
    }
    this.#header = this.#header * 256 + chunk[at];
    if (++this.#headerBytes === 4) {
      this.#bodyLeft = this.#header;
      this.#header = this.#headerBytes = 0;
    }
    return 1;
  }
}
