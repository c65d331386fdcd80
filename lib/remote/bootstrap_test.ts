import assert from "node:assert/strict";
import { handshake, HandshakeEnded, PROTOCOL_VERSION } from "./bootstrap.ts";

/** A reader that yields `chunks`, and a writer that keeps what it is given. */
function pipes(chunks: Uint8Array[]) {
  const written: Uint8Array[] = [];
  const reader = ReadableStream.from(chunks).getReader();
  const writer = new WritableStream<Uint8Array>({
    write: (chunk) => void written.push(chunk),
  }).getWriter();
  return { reader, writer, written };
}

Deno.test("handshake() hands over every byte after the magic line unchanged", async () => {
  // A hello reply can come in the magic line's chunk: msgpack maps and
  // arrays start with bytes 0x80–0x9f, which a windows-1252 decoder changes.
  const frames = Uint8Array.from({ length: 256 }, (_, i) => i);
  const head = new TextEncoder().encode(
    `motd\nSESSH-HELPER ${PROTOCOL_VERSION}\n`,
  );
  const { reader, writer } = pipes([
    head.subarray(0, 7),
    Uint8Array.from([...head.subarray(7), ...frames]),
  ]);
  const { leftover } = await handshake(reader, writer);
  assert.deepEqual(leftover, frames);
});

Deno.test("handshake() sends what follows a pushed helper in the same write", async () => {
  const hello = Uint8Array.from([0, 0, 0, 1, 0x80]);
  const { reader, writer, written } = pipes([
    new TextEncoder().encode(`SESSH-HELPER ${PROTOCOL_VERSION}\n`),
  ]);
  const { uploaded } = await handshake(reader, writer, {
    pushHelper: true,
    behind: hello,
  });
  assert.equal(uploaded, true);
  assert.equal(written.length, 1);
  assert.deepEqual(written[0].subarray(-hello.length), hello);
});

Deno.test("handshake() on a bridge that ended without reading the pushed helper reports the end, not the broken pipe", async () => {
  // As on a host without python3: the remote command exits at once, the
  // write of the helper fails, and the output ends.
  const reader = ReadableStream.from([
    new TextEncoder().encode("env: 'python3': No such file or directory\n"),
  ]).getReader();
  const writer = new WritableStream<Uint8Array>({
    write: () => {
      throw new Deno.errors.BrokenPipe("Broken pipe (os error 32)");
    },
  }).getWriter();
  await assert.rejects(
    handshake(reader, writer, { pushHelper: true }),
    (error: Error) => {
      assert.ok(error instanceof HandshakeEnded, String(error));
      assert.match(error.noise, /python3/);
      return true;
    },
  );
});
