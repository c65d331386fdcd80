/**
 * A socket as a {@linkcode Channel}, read and written directly. Its
 * `readable` and `writable` would do the same, but the first web stream a
 * process makes loads the runtime's streams code, which cost a warm call
 * several milliseconds (its "client set up" phase).
 *
 * @module
 */
import type { Channel } from "./connection.ts";

/** The most one read takes. */
const READ_SIZE = 64 * 1024;

/**
 * The connection as a channel. Writes go out whole and in the order they
 * were made, as a stream's writer queues them: the connection hands over
 * frames without waiting for the last write to finish.
 *
 * @param conn The connection, past whatever was read of it already.
 * @param leftover Bytes read past that point, which the reader of the
 *   channel takes first.
 * @returns The channel.
 *
 * @example
 * ```ts ignore
 * import { connChannel } from "./conn_channel.ts";
 * const conn = await Deno.connect({ transport: "unix", path: "/run/agent.sock" });
 * const channel = connChannel(conn, new Uint8Array());
 * await channel.writer.write(new TextEncoder().encode("hello"));
 * ```
 */
export function connChannel(conn: Deno.Conn, leftover: Uint8Array): Channel {
  // Only for read(): the connection reads into its decoder (readInto).
  let buffer: Uint8Array | undefined;
  let queue: Promise<void> = Promise.resolve();
  const writeAll = async (bytes: Uint8Array) => {
    let written = 0;
    while (written < bytes.length) {
      written += await conn.write(bytes.subarray(written));
    }
  };
  return {
    reader: {
      async read() {
        buffer ??= new Uint8Array(READ_SIZE);
        const n = await conn.read(buffer);
        return n === null
          ? { done: true, value: undefined }
          : { done: false, value: buffer.slice(0, n) };
      },
      cancel() {
        try {
          conn.close();
        } catch { /* closed already */ }
        return Promise.resolve();
      },
    },
    writer: {
      write(bytes: Uint8Array) {
        const done = queue.then(() => writeAll(bytes));
        queue = done.catch(() => {});
        return done;
      },
      close() {
        const done = queue.then(async () => {
          try {
            await conn.closeWrite();
          } catch { /* closed already */ }
        });
        queue = done;
        return done;
      },
    },
    readInto: (target) => conn.read(target),
    leftover,
  };
}
