/**
 * The MCP tools' output schemas, derived from the descriptors in
 * `lib/report/shapes.ts` that the `--json` mappings also satisfy, so the
 * schema the model is shown cannot drift from what the tool returns.
 *
 * @module
 */
import { z } from "zod";
import type { FieldType, Shape } from "../report/shapes.ts";

const FIELD: Record<FieldType, () => z.ZodType> = {
  "number": () => z.number(),
  "number?": () => z.number().nullable(),
  "string": () => z.string(),
  "string?": () => z.string().nullable(),
  "boolean": () => z.boolean(),
  "string[]": () => z.array(z.string()),
};

/**
 * A descriptor as a zod raw shape, one zod type per field.
 *
 * @param shape The record's descriptor.
 * @returns The zod shape, for an `outputSchema` or `z.object`.
 *
 * @example
 * ```ts
 * import { zodShape } from "./output_schema.ts";
 * import { OPEN_RESULT } from "../report/shapes.ts";
 * const schema = zodShape(OPEN_RESULT);
 * console.log(schema.pid.safeParse(null).success); // true
 * ```
 */
export function zodShape(shape: Shape): Record<string, z.ZodType> {
  return Object.fromEntries(
    Object.entries(shape).map(([key, type]) => [key, FIELD[type]()]),
  );
}
