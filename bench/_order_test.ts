import assert from "node:assert/strict";
import { roundOrder } from "./_order.ts";

Deno.test("roundOrder() runs every case once a round", () => {
  for (let round = 0; round < 30; round++) {
    assert.deepEqual(
      roundOrder(23, round).toSorted((a, b) => a - b),
      Array.from({ length: 23 }, (_, i) => i),
    );
  }
});

Deno.test("roundOrder() gives a case different neighbours across rounds", () => {
  // The case before each case, per round: rotating one fixed order would
  // keep it the same in every round but one.
  const count = 23;
  for (let c = 0; c < count; c++) {
    const before = new Set<number>();
    for (let round = 0; round < 13; round++) {
      const order = roundOrder(count, round);
      const at = order.indexOf(c);
      if (at > 0) before.add(order[at - 1]);
    }
    assert.notEqual(before.size, 1, `case ${c} always follows one case`);
    assert.ok(before.size >= 5, `case ${c} follows only ${[...before]}`);
  }
});

Deno.test("roundOrder() is the same for the same round", () => {
  assert.deepEqual(roundOrder(10, 7), roundOrder(10, 7));
  assert.notDeepEqual(roundOrder(10, 7), roundOrder(10, 8));
});
