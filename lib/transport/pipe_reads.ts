/**
 * A child's stdout read into one buffer that lasts. A stream's default
 * reader allocates a fresh 64 KiB chunk for every read (and the
 * collector then frees it); the local agent passes every byte of a follow
 * or a copy from ssh's stdout to a call's socket, and its relay loop took a
 * third less CPU per megabyte without that. A BYOB reader reads where it
 * is told, so one buffer serves every read.
 *
 * @module
 */
import type { Channel } from "./connection.ts";
import { PIPE_SIZE } from "./pipe_size.ts";

/**
 * The most one read takes at first: a pipe holds 64 KiB unless widened
 * (`pipe_size.ts`), and a larger buffer would only cost an idle bridge
 * memory.
 */
const READ_SIZE = 64 * 1024;

/**
 * The most one read takes once a read filled the buffer: a widened pipe
 * then holds more, which a flood's reader takes in one piece.
 */
const FLOOD_READ_SIZE = PIPE_SIZE;

/** The reading side of a {@linkcode Channel} over a child's stdout. */
export type PipeReads = Required<
  Pick<Channel, "reader" | "readInto" | "readView">
>;

/**
 * Takes over `stdout` (unlocked) and reads it three ways: `readView` into
 * the one buffer, `readInto` through it into the caller's, and `reader` in
 * chunks of their own for whoever keeps what it reads. One read at a time.
 *
 * @param stdout The child's stdout, with no reader.
 * @param onFlood Called once, at the first read that fills the first
 *   buffer: a flood, for which the caller may widen the pipe.
 * @returns The three readers and its cancel.
 *
 * @example
 * ```ts
 * import { pipeReads } from "./pipe_reads.ts";
 * const child = new Deno.Command("echo", { args: ["hi"], stdout: "piped" })
 *   .spawn();
 * const reads = pipeReads(child.stdout);
 * const view = await reads.readView();
 * console.log(new TextDecoder().decode(view!)); // "hi\n"
 * await child.status;
 * ```
 */
export function pipeReads(
  stdout: ReadableStream<Uint8Array>,
  onFlood?: () => void,
): PipeReads {
  const byob = stdout.getReader({ mode: "byob" });
  // Made at the first read: a bridge opened and never read holds nothing.
  // A read transfers it to the stream and back, so it is taken again from
  // what each read returns.
  let buffer: ArrayBuffer | undefined;
  const took = (
    { value, done }: ReadableStreamReadResult<Uint8Array>,
  ): Uint8Array | null => {
    if (done || !value) return null;
    buffer = value.buffer as ArrayBuffer;
    // Full: a flood, which a widened pipe brings in larger pieces. This
    // view keeps the small buffer; the next read takes the large one.
    if (value.length === READ_SIZE && buffer.byteLength === READ_SIZE) {
      buffer = new ArrayBuffer(FLOOD_READ_SIZE);
      onFlood?.();
    }
    return value;
  };
  // Chained, not awaited: every read of a run's reply and events goes
  // through here, and each async layer cost a promise and a turn of the
  // microtask queue more.
  const readView = (limit = Infinity): Promise<Uint8Array | null> => {
    buffer ??= new ArrayBuffer(READ_SIZE);
    const size = Math.min(limit, buffer.byteLength);
    return byob.read(new Uint8Array(buffer, 0, size)).then(took);
  };
  const copyInto = (target: Uint8Array) => (view: Uint8Array | null) => {
    if (view === null) return null;
    target.set(view);
    return view.length;
  };
  return {
    readView: () => readView(),
    readInto: (target) => readView(target.length).then(copyInto(target)),
    reader: {
      async read() {
        const { value, done } = await byob.read(new Uint8Array(READ_SIZE));
        return done || !value
          ? { done: true, value: undefined }
          : { done: false, value };
      },
      cancel: (reason?: unknown) => byob.cancel(reason),
    },
  };
}
