import assert from "node:assert/strict";
import { BoundedCollector, readRange, stripPromptTail } from "./output.ts";
import type { Connection } from "../transport/connection.ts";
import type { Message } from "../protocol/frame.ts";

/** A daemon's `read` over `size` bytes (byte i is i mod 251), 4 MiB per reply. */
function fakeDaemon(size: number) {
  const asked: Message[] = [];
  const connection = {
    request(op: string, fields: Message): Promise<Message> {
      assert.equal(op, "read");
      asked.push(fields);
      const since = Number(fields.since ?? 0);
      const until = Math.min(Number(fields.until ?? size), size);
      const end = Math.min(until, since + 4 * 1024 * 1024);
      const data = new Uint8Array(end - since).map((_, i) => (since + i) % 251);
      return Promise.resolve({
        data,
        start: since,
        end,
        evicted: false,
        buffer_end: size,
      });
    },
  } as unknown as Connection;
  return { connection, asked };
}

Deno.test("readRange() with keep reads only the head and tail of a long range", async () => {
  const size = 64 * 1024 * 1024;
  const keep = 1024 * 1024;
  const { connection, asked } = fakeDaemon(size);
  const range = await readRange(connection, "s", { since: 0 }, { keep });
  assert.equal(range.splitAt, keep);
  assert.equal(range.data.length, 2 * keep);
  assert.equal(range.data[0], 0);
  assert.equal(range.data[keep], (size - keep) % 251);
  assert.equal(range.end, size);
  assert.ok(asked.length <= 3, `${asked.length} reads`);
});

Deno.test("readRange() without keep returns the whole range", async () => {
  const { connection } = fakeDaemon(9 * 1024 * 1024);
  const range = await readRange(connection, "s", { since: 0 });
  assert.equal(range.data.length, 9 * 1024 * 1024);
  assert.equal(range.splitAt, undefined);
});

Deno.test("BoundedCollector keeps the head and the tail of what streams by", () => {
  const seen = new BoundedCollector(3);
  for (const piece of ["ab", "cde", "fg", "hij"]) {
    seen.push(new TextEncoder().encode(piece));
  }
  const { data, splitAt } = seen.take();
  assert.equal(new TextDecoder().decode(data), "abchij");
  assert.equal(splitAt, 3);
  assert.equal(seen.bytes, 10);
  const small = new BoundedCollector(8);
  small.push(new TextEncoder().encode("tiny"));
  assert.deepEqual(small.take(), { data: new TextEncoder().encode("tiny") });
});

Deno.test("stripPromptTail() removes zsh's PROMPT_SP tail and nothing else", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  const text = (data: Uint8Array) => new TextDecoder().decode(data);
  const mark = "\x1b[1m\x1b[7m%\x1b[27m\x1b[1m\x1b[0m";
  assert.equal(text(stripPromptTail(bytes(`50%${mark}   \r \r`))), "50%");
  assert.equal(text(stripPromptTail(bytes("done\r\n\r \r"))), "done\r\n");
  for (const kept of ["", "\r", "a\r \rb", "ok\r\n", " \r", "\r \r\n"]) {
    assert.equal(text(stripPromptTail(bytes(kept))), kept);
  }
});
