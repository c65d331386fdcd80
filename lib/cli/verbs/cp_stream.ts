/**
 * `cp`'s upload of one file as a raw stream over an ssh channel of the
 * master: the helper's `put` role (`helper/stream.py`) takes the bytes with
 * nothing between it and ssh, where sftp's request windows and its writes
 * cost more than the channel (issue 21). The request (path, size, mode)
 * goes as a JSON line on the channel's stdin, never on the command line.
 * The host writes a part beside the target, syncs it and renames it over
 * the target once every byte came; a stream cut short removes the part, so
 * that a copy cut short leaves the old file. Downloads stay with sftp: its
 * `get` went as fast, and reading a pipe here cost more than sftp's
 * protocol.
 *
 * @module
 */
import { partPathOf } from "../../fs/atomic_file.ts";
import { onInterrupt } from "../../interrupt.ts";
import { spawnPiped } from "../../process.ts";
import type { Message } from "../../protocol/frame.ts";
import type { SesshClient } from "../../session/client.ts";
import { planUpload, type TransferResult } from "../../session/files.ts";
import { clientArgv, directArgv } from "../../ssh/options.ts";
import { bridgeFailure } from "../../transport/bridge.ts";
import { remoteError } from "../../transport/connection.ts";
import { markPhase } from "../../phases.ts";

/** Bytes read from the local file per write to the channel. */
const CHUNK = 1 << 20;

/** The helper's reply line: as a daemon's reply, `code` and `message` when not ok. */
type StreamReply = Message & { ok: boolean; path?: string };

/**
 * Sends one file anew (no resume, not a tree) through the helper's stream.
 *
 * @param client The connected client (its daemon plans the copy).
 * @param localPath The file to send.
 * @param remotePath Where to put it (a directory takes it under its name).
 * @param options Called with the bytes sent and the total.
 * @returns What was copied.
 * @throws {SesshError} `no_file`, `file_denied` or `remote` as the host
 *   says; ssh's failure as a bridge's.
 */
export async function uploadViaStream(
  client: SesshClient,
  localPath: string,
  remotePath: string,
  options: { onProgress?: (copied: number, total: number) => void } = {},
): Promise<TransferResult> {
  // The loader's source (60 KB) loads while the daemon plans.
  const bootstrap = import("../../remote/bootstrap.ts");
  bootstrap.catch(() => {});
  const plan = await planUpload(client.connection, localPath, remotePath);
  markPhase("planned");
  const { bridgeCommand, handshake, HandshakeEnded } = await bootstrap;
  const command = bridgeCommand({
    role: "put",
    noProcfs: client.settings.noProcfs,
  });
  const argv = client.master
    ? clientArgv(client.destination, client.settings, command, {
      controlPath: client.master.controlPath,
    })
    : directArgv(client.destination, client.settings, command);
  const child = spawnPiped(argv, { stderr: "piped" });
  const stderr = new Response(child.stderr).text().catch(() => "");
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  };
  const failed = async () =>
    bridgeFailure(client.destination, (await child.status).code, await stderr);
  // The host removes the part when the stream ends short.
  using _ = onInterrupt(async () => {
    kill();
    await child.status;
    return `${plan.remotePath} on the host left as it was; removed ${
      partPathOf(plan.remotePath)
    } there`;
  });
  const reader = child.stdout.getReader();
  const writer = child.stdin.getWriter();
  try {
    const { leftover } = await handshake(reader, writer).catch(
      async (error) => {
        throw error instanceof HandshakeEnded ? await failed() : error;
      },
    );
    // A write refused (the helper answered an error and left) is told by
    // the reply.
    await send(writer, plan, options).catch(() => {});
    const line = await firstLine(reader, leftover);
    const reply = line === null ? null : parseReply(line);
    if (reply === null) throw await failed();
    if (!reply.ok) throw remoteError(reply);
    await child.status;
    markPhase("streamed");
    return {
      remotePath: reply.path ?? plan.remotePath,
      localPath: plan.localPath,
      bytes: plan.total,
      resumedFrom: 0,
    };
  } finally {
    kill();
  }
}

/** The request line, then the file's bytes; a file that shrank sends fewer. */
async function send(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  plan: { localPath: string; remotePath: string; total: number; mode: number },
  options: { onProgress?: (copied: number, total: number) => void },
): Promise<void> {
  const { total } = plan;
  await writer.write(
    new TextEncoder().encode(
      `${
        JSON.stringify({ path: plan.remotePath, size: total, mode: plan.mode })
      }\n`,
    ),
  );
  using file = await Deno.open(plan.localPath, { read: true });
  // Two buffers: the next is read while the channel takes the last.
  const buffers = [new Uint8Array(CHUNK), new Uint8Array(CHUNK)];
  let writing: Promise<void> = Promise.resolve();
  let sent = 0;
  for (let i = 0; sent < total; i ^= 1) {
    const data = await fill(
      file,
      buffers[i].subarray(0, Math.min(CHUNK, total - sent)),
    );
    if (data.length === 0) break;
    await writing;
    writing = writer.write(data);
    sent += data.length;
    options.onProgress?.(sent, total);
  }
  await writing;
  await writer.close();
}

/** Reads up to the reply's line; null when the output ends first. */
async function firstLine(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  leftover: Uint8Array,
): Promise<string | null> {
  let got = leftover;
  while (got.indexOf(10) < 0) {
    const { value, done } = await reader.read();
    if (done) return null;
    const grown = new Uint8Array(got.length + value.length);
    grown.set(got);
    grown.set(value, got.length);
    got = grown;
  }
  return new TextDecoder().decode(got.subarray(0, got.indexOf(10)));
}

function parseReply(line: string): StreamReply | null {
  try {
    const reply = JSON.parse(line);
    return typeof reply === "object" && reply !== null &&
        typeof reply.ok === "boolean"
      ? reply as StreamReply
      : null;
  } catch {
    return null;
  }
}

/** Fills `into` from the file's position; fewer bytes only at its end. */
async function fill(file: Deno.FsFile, into: Uint8Array): Promise<Uint8Array> {
  let filled = 0;
  while (filled < into.length) {
    const n = await file.read(into.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return into.subarray(0, filled);
}
