import assert from "node:assert/strict";
import {
  Mailbox,
  MAX_QUEUED_BYTES,
  MAX_QUEUED_EVENTS,
  PAUSE_QUEUED_BYTES,
} from "./mailbox.ts";

const host = { ended: false, release() {}, waiting() {}, taken() {} };
const PART = 1 << 20;

function output(offset: number) {
  return { ev: "output", name: "w", offset, data: new Uint8Array(PART) };
}

// An event handed straight to a waiting consumer is never taken from the
// queue: counted anyway, 8 MiB of them would turn all later output into gaps.
Deno.test("Mailbox counts toward its limit only the output that waits in it", async () => {
  using mailbox = new Mailbox("w", host);
  // Each part goes straight to a consumer that waits for it.
  for (let offset = 0; offset < 2 * MAX_QUEUED_BYTES; offset += PART) {
    const next = mailbox.next(1000);
    mailbox.deliver(output(offset));
    assert.equal((await next)?.offset, offset);
  }
  mailbox.deliver(output(2 * MAX_QUEUED_BYTES));
  assert.equal(mailbox.take()?.ev, "output");
});

// A follow that pauses its connection holds a few frames of output, not
// MAX_QUEUED_EVENTS of them: 256 frames of 256 KiB would be 64 MiB.
Deno.test("Mailbox with overflow: pause is full past PAUSE_QUEUED_BYTES of output and drained at half", () => {
  using mailbox = new Mailbox("w", host, { overflow: "pause" });
  const quarter = PAUSE_QUEUED_BYTES / 4;
  const part = (offset: number, size: number) => ({
    ev: "output",
    name: "w",
    offset,
    data: new Uint8Array(size),
  });
  for (let i = 0; i < 4; i++) mailbox.deliver(part(i * quarter, quarter));
  assert.equal(mailbox.full, false, "at the limit, not past it");
  mailbox.deliver(part(PAUSE_QUEUED_BYTES, 1));
  assert.ok(mailbox.size < MAX_QUEUED_EVENTS / 2);
  assert.equal(mailbox.full, true);
  mailbox.take();
  mailbox.take();
  assert.equal(mailbox.drained, false, "still over half the bytes");
  mailbox.take();
  assert.equal(mailbox.drained, true);
});
