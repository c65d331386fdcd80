import assert from "node:assert/strict";
import { Mailbox, MAX_QUEUED_BYTES } from "./mailbox.ts";

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
