/**
 * Session names: what a name may be, checked before anything is sent.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import { SESSION_NAME } from "../contract/spec.ts";

/**
 * Checks a session name before anything is sent anywhere.
 *
 * @param name The proposed name.
 * @returns The name.
 * @throws {UsageError} When it is not 1–64 of `A-Z a-z 0-9 . _ -`.
 *
 * @example
 * ```ts
 * import { validateName } from "./name.ts";
 * validateName("build-1"); // ok
 * ```
 */
export function validateName(name: string): string {
  if (!SESSION_NAME.test(name)) {
    throw new UsageError(
      `Invalid session name ${
        JSON.stringify(name)
      }; use 1 to 64 letters, digits, ".", "_" or "-"`,
      "invalid_name",
    );
  }
  return name;
}
