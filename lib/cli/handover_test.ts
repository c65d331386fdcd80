import assert from "node:assert/strict";
import { FOLLOW_LINE, parseFollowLine } from "./handover.ts";

Deno.test("parseFollowLine() reads the helper's lines and leaves ssh's own alone", () => {
  assert.deepEqual(parseFollowLine(`${FOLLOW_LINE}start 0`), {
    kind: "start",
    cursor: 0,
  });
  assert.deepEqual(parseFollowLine(`${FOLLOW_LINE}gap 10 4096`), {
    kind: "gap",
    start: 10,
    end: 4096,
  });
  assert.deepEqual(parseFollowLine(`${FOLLOW_LINE}exit 3`), {
    kind: "exit",
    status: 3,
  });
  assert.deepEqual(
    parseFollowLine(`${FOLLOW_LINE}error no_session No session named "x"`),
    { kind: "error", code: "no_session", message: 'No session named "x"' },
  );
  for (
    const line of [
      "Connection to box closed.",
      `${FOLLOW_LINE}start`,
      `${FOLLOW_LINE}gap 1`,
      `${FOLLOW_LINE}gap 1 x`,
      `${FOLLOW_LINE}exit -1`,
      `${FOLLOW_LINE}stop 1`,
      ` ${FOLLOW_LINE}exit 0`,
    ]
  ) assert.equal(parseFollowLine(line), null, line);
});
