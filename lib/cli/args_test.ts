import assert from "node:assert/strict";
import {
  parseCount,
  parsePort,
  parseSeconds,
  parseSize,
  parseSizeIn,
  parseTimeout,
  splitPayload,
} from "./args.ts";
import { UsageError } from "../errors.ts";

Deno.test("splitPayload() splits at the first -- only", () => {
  assert.deepEqual(splitPayload(["run", "a", "h", "--", "x", "--", "y"]), {
    head: ["run", "a", "h"],
    payload: ["x", "--", "y"],
  });
  assert.deepEqual(splitPayload(["list", "h"]), {
    head: ["list", "h"],
    payload: null,
  });
});

Deno.test("parseSeconds() takes units and refuses anything else", () => {
  assert.equal(parseSeconds("1.5", "--timeout"), 1500);
  assert.equal(parseSeconds("250ms", "--timeout"), 250);
  assert.equal(parseSeconds("2m", "--timeout"), 120_000);
  assert.throws(() => parseSeconds("-1", "--timeout"), UsageError);
});

Deno.test("parseCount() refuses values outside its range and says the range", () => {
  const range = { min: 2, max: 1000 };
  assert.equal(parseCount("2", "--cols", range), 2);
  assert.equal(parseCount("1000", "--cols", range), 1000);
  for (const text of ["1", "1001", "", "1e3", "-5", "3.5"]) {
    assert.throws(() => parseCount(text, "--cols", range), {
      name: "UsageError",
      message: `Invalid --cols ${
        JSON.stringify(text)
      }; give a whole number from 2 to 1000`,
    });
  }
});

Deno.test("parseSizeIn() checks the size after its unit", () => {
  const range = { min: 4096, max: 256 * 1024 ** 2 };
  assert.equal(parseSizeIn("4k", "--buffer-size", range), 4096);
  assert.equal(parseSizeIn("256M", "--buffer-size", range), 256 * 1024 ** 2);
  assert.equal(parseSize("1MiB", "--max-output"), 1024 ** 2);
  assert.throws(() => parseSizeIn("257M", "--buffer-size", range), {
    message: 'Invalid --buffer-size "257M"; give 4k to 256M',
  });
});

Deno.test("parsePort() takes 1 to 65535 and returns text for ssh -p", () => {
  assert.equal(parsePort("2222"), "2222");
  assert.equal(parsePort("022"), "22");
  assert.throws(() => parsePort("0"), UsageError);
  assert.throws(() => parsePort("65536"), UsageError);
});

Deno.test("parseTimeout() takes more than 0 and at most a day", () => {
  assert.equal(parseTimeout("24h", "--timeout"), 86_400_000);
  assert.equal(parseTimeout("1ms", "--timeout"), 1);
  for (const text of ["0", "0.0001", "24.001h", "600h"]) {
    assert.throws(
      () => parseTimeout(text, "--timeout"),
      (error: Error) =>
        error instanceof UsageError &&
        error.message ===
          `Invalid --timeout "${text}"; give more than 0 and at most 24h (86400 s)`,
    );
  }
});
