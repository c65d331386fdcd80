import assert from "node:assert/strict";
import { DetachMatcher, parseDetachKeys } from "./detach_keys.ts";

Deno.test("parseDetachKeys() reads tmux key names and none", () => {
  assert.deepEqual(parseDetachKeys("C-b d"), new Uint8Array([2, 100]));
  assert.deepEqual(parseDetachKeys("C-a,q"), new Uint8Array([1, 113]));
  assert.deepEqual(parseDetachKeys("C-]"), new Uint8Array([0x1d]));
  assert.equal(parseDetachKeys("none"), null);
  assert.throws(() => parseDetachKeys(" "), /Empty --detach-keys/);
});

Deno.test("DetachMatcher.feed() detaches on the sequence, even split across reads", () => {
  const matcher = new DetachMatcher(new Uint8Array([2, 100]));
  assert.deepEqual(matcher.feed(new Uint8Array([108, 115, 2])), {
    forward: new Uint8Array([108, 115]),
    detach: false,
  });
  assert.deepEqual(matcher.feed(new Uint8Array([100])), {
    forward: new Uint8Array(),
    detach: true,
  });
});

Deno.test("DetachMatcher.feed() releases a held prefix that is not followed by the key", () => {
  const matcher = new DetachMatcher(new Uint8Array([2, 100]));
  assert.deepEqual(
    matcher.feed(new Uint8Array([2, 99])).forward,
    new Uint8Array([2, 99]),
  );
  assert.deepEqual(matcher.feed(new Uint8Array([2, 2, 100])), {
    forward: new Uint8Array([2]),
    detach: true,
  });
});

Deno.test("DetachMatcher.feed() passes every byte through when detaching is off", () => {
  const matcher = new DetachMatcher(null);
  const input = new Uint8Array([2, 100, 3]);
  assert.deepEqual(matcher.feed(input), { forward: input, detach: false });
});
