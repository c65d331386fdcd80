import assert from "node:assert/strict";
import { z } from "zod";
import { zodShape } from "./output_schema.ts";
import * as shapes from "../report/shapes.ts";

const SAMPLE = {
  "number": 1,
  "string": "a",
  "boolean": true,
  "string[]": ["a"],
} as const;

Deno.test("zodShape() gives each descriptor field its zod type, null only where marked", () => {
  const descriptors = Object.entries(shapes).filter(([, v]) =>
    typeof v === "object"
  ) as [string, shapes.Shape][];
  assert.ok(descriptors.length >= 13);
  for (const [name, shape] of descriptors) {
    const schema = zodShape(shape);
    assert.deepEqual(Object.keys(schema), Object.keys(shape), name);
    for (const [key, type] of Object.entries(shape)) {
      const base = type.replace("?", "") as keyof typeof SAMPLE;
      const field = schema[key];
      assert.ok(field.safeParse(SAMPLE[base]).success, `${name}.${key}`);
      assert.equal(
        field.safeParse(null).success,
        type.endsWith("?"),
        `${name}.${key} null`,
      );
      const wrong = base === "string" ? 1 : "a";
      assert.ok(!field.safeParse(wrong).success, `${name}.${key} wrong`);
    }
    assert.ok(!z.object(schema).safeParse({}).success, `${name} empty`);
  }
});
