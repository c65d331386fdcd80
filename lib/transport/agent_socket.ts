/**
 * The exchanges on the agent's socket before frames flow through it
 * untouched: writing all of a buffer, reading a key of fixed length, and
 * reading the first frame. The same on a Unix socket and on TCP.
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
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await conn.write(bytes.subarray(written));
  }
}

/**
 * Reads exactly `length` bytes (a key), and whatever came behind them in
 * the same reads. Nothing else is looked at until the caller has checked
 * them. Closes the socket when the time runs out.
 *
 * @param conn The socket.
 * @param length How many bytes.
 * @param timeoutMs How long to wait.
 * @returns The bytes and the rest, or why there are none.
 */
export async function readPrefix(
  conn: Deno.Conn,
  length: number,
  timeoutMs: number,
): Promise<{ bytes: Uint8Array; rest: Uint8Array } | "ended" | "timeout"> {
  const got = new Uint8Array(64 * 1024);
  let filled = 0;
  let timedOut = false;
  const cancelTimer = startTimer(timeoutMs, () => {
    timedOut = true;
    close(conn);
  });
  try {
    while (filled < length) {
      const n = await conn.read(got.subarray(filled));
      if (n === null) return timedOut ? "timeout" : "ended";
      filled += n;
    }
    return {
      bytes: got.slice(0, length),
      rest: got.slice(length, filled),
    };
  } catch {
    return timedOut ? "timeout" : "ended";
  } finally {
    cancelTimer();
  }
}

/**
 * Reads the first frame, and whatever partial frame came behind it (each
 * side waits for the other's first frame before it sends more, so no whole
 * frame can follow). Closes the socket when the time runs out.
 *
 * @param conn The socket.
 * @param timeoutMs How long to wait.
 * @param start Bytes of the frame read already (behind a key).
 * @returns The message and the bytes after it, or why there is none.
 */
export async function readFirstFrame(
  conn: Deno.Conn,
  timeoutMs: number,
  start: Uint8Array = new Uint8Array(),
): Promise<{ message: Message; leftover: Uint8Array } | "ended" | "timeout"> {
  const decoder = new FrameDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let timedOut = false;
  const cancelTimer = startTimer(timeoutMs, () => {
    timedOut = true;
    close(conn);
  });
  try {
    if (start.length) {
      const [message] = decoder.push(start);
      if (message) return { message, leftover: decoder.takePending() };
    }
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

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed already */ }
}
