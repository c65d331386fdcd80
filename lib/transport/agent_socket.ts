/**
 * The two exchanges on the agent's socket before frames flow through it
 * untouched: writing all of a buffer, and reading the first frame.
 *
 * @module
 */
import { FrameDecoder, type Message } from "../protocol/frame.ts";
import { startTimer } from "../timer.ts";

/**
 * Writes every byte, however the socket splits the writes.
 *
 * @param conn The socket.
 * @param bytes What to write.
 */
export async function writeAll(
  conn: Deno.UnixConn,
  bytes: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await conn.write(bytes.subarray(written));
  }
}

/**
 * Reads the first frame, and whatever partial frame came behind it (each
 * side waits for the other's first frame before it sends more, so no whole
 * frame can follow). Closes the socket when the time runs out.
 *
 * @param conn The socket.
 * @param timeoutMs How long to wait.
 * @returns The message and the bytes after it, or why there is none.
 */
export async function readFirstFrame(
  conn: Deno.UnixConn,
  timeoutMs: number,
): Promise<{ message: Message; leftover: Uint8Array } | "ended" | "timeout"> {
  const decoder = new FrameDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let timedOut = false;
  const cancelTimer = startTimer(timeoutMs, () => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* closed already */ }
  });
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return timedOut ? "timeout" : "ended";
      const [message] = decoder.push(buffer.subarray(0, n));
      if (message) return { message, leftover: decoder.takePending() };
    }
  } catch {
    return timedOut ? "timeout" : "ended";
  } finally {
    cancelTimer();
  }
}
