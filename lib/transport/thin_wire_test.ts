import assert from "node:assert/strict";
import { FrameDecoder } from "../protocol/frame.ts";
import { concatBytes } from "../bytes.ts";
import {
  encodeCallRequest,
  encodeRecord,
  MAX_RECORD,
  RECORD,
  RecordReader,
  type ThinCall,
} from "./thin_wire.ts";

const call: ThinCall = {
  argv: ["run", "work", "box", "--", "echo", "é ü"],
  env: { HOME: "/home/me", SESSH_TIMEOUT: "5" },
  cwd: "/tmp",
  stdoutTerminal: false,
  stderrTerminal: true,
  columns: 80,
};

Deno.test("encodeCallRequest() makes a frame the agent's decoder reads", async (t) => {
  // Strings of each msgpack size class: fixstr, str8, str16, str32.
  for (const size of [0, 20, 200, 70_000, 70_000 * 2]) {
    await t.step(`with a value of ${size} bytes`, () => {
      const env = { ...call.env, BIG: "x".repeat(size) };
      const frame = encodeCallRequest("4/1/abc file:///cli.ts", {
        ...call,
        env,
      });
      const [message, ...rest] = new FrameDecoder().push(frame);
      assert.equal(rest.length, 0);
      assert.equal(message.op, "call");
      assert.equal(message.version, "4/1/abc file:///cli.ts");
      assert.deepEqual(JSON.parse(message.call as string), { ...call, env });
    });
  }
});

Deno.test("RecordReader.push() gives records however their bytes are cut", () => {
  const text = new TextEncoder().encode("hello, world\n");
  const stream = new Uint8Array([
    ...encodeRecord(RECORD.stdout, text),
    ...encodeRecord(RECORD.stderr, new Uint8Array(0)),
    ...encodeRecord(RECORD.exit, Uint8Array.of(3)),
  ]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const reader = new RecordReader();
    const records = [
      ...reader.push(stream.subarray(0, cut)),
      ...reader.push(stream.subarray(cut)),
    ];
    // Output may come in parts: the text's bytes, however many parts.
    const stdout = records.filter((r) => r.kind === RECORD.stdout);
    assert.deepEqual(
      records.map((r) => r.kind).filter((k) => k !== RECORD.stdout),
      [2, 3],
      `cut at ${cut}`,
    );
    assert.equal(records[0].kind, RECORD.stdout);
    assert.deepEqual(concatBytes(stdout.map((r) => r.bytes)), text);
    assert.deepEqual(records.at(-1)!.bytes, Uint8Array.of(3));
    assert.equal(reader.partial, false);
  }
});

Deno.test("RecordReader.push() gives output as it comes, and other records whole", () => {
  const out = new Uint8Array(300_000).map((_, i) => i % 251);
  const stream = new Uint8Array([
    ...encodeRecord(RECORD.stdout, out),
    ...encodeRecord(RECORD.deadline, Uint8Array.of(0, 0, 1, 0)),
  ]);
  const reader = new RecordReader();
  const parts = [];
  for (let at = 0; at < stream.length; at += 65_536) {
    const got = reader.push(stream.subarray(at, at + 65_536));
    // Each chunk's output comes with it, not once the record is whole.
    if (at + 65_536 < 5 + out.length) assert.equal(got.length, 1);
    parts.push(...got);
  }
  assert.deepEqual(
    concatBytes(
      parts.filter((r) => r.kind === RECORD.stdout).map((r) => r.bytes),
    ),
    out,
  );
  const last = parts.at(-1)!;
  assert.equal(last.kind, RECORD.deadline);
  assert.deepEqual(last.bytes, Uint8Array.of(0, 0, 1, 0));
});

Deno.test("RecordReader.push() holds a record cut short as partial", () => {
  const reader = new RecordReader();
  const record = encodeRecord(RECORD.stdout, Uint8Array.of(1, 2, 3));
  assert.deepEqual(reader.push(record.subarray(0, 6)), [
    { kind: RECORD.stdout, bytes: Uint8Array.of(1) },
  ]);
  assert.equal(reader.partial, true, "output cut");
  const exit = new RecordReader();
  const code = encodeRecord(RECORD.exit, Uint8Array.of(0));
  assert.deepEqual(exit.push(code.subarray(0, 3)), []);
  assert.equal(exit.partial, true, "a header cut");
  assert.deepEqual(exit.push(code.subarray(3, 5)), []);
  assert.equal(exit.partial, true, "a whole record cut");
});

Deno.test("RecordReader.push() refuses a stream that is not the agent's", () => {
  assert.throws(
    () => new RecordReader().push(Uint8Array.of(9, 0, 0, 0, 0)),
    /unknown kind 9/,
  );
  const huge = new Uint8Array(5);
  huge[0] = RECORD.stdout;
  new DataView(huge.buffer).setUint32(1, MAX_RECORD + 1);
  assert.throws(() => new RecordReader().push(huge), /over/);
});
