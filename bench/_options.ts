/**
 * Parsing shared by the benchmarks' command lines.
 *
 * @module
 */
import { InvalidArgumentError } from "commander";

/**
 * Commander's parser for options that take a positive whole number.
 *
 * @param value The option's text.
 * @returns The number.
 *
 * @example
 * ```ts
 * import { positiveInteger } from "./_options.ts";
 * console.log(positiveInteger("20")); // 20
 * ```
 */
export function positiveInteger(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) {
    throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  }
  return Number(value);
}

/**
 * Commander's parser for options that take a whole number, zero included.
 *
 * @param value The option's text.
 * @returns The number.
 *
 * @example
 * ```ts
 * import { nonNegativeInteger } from "./_options.ts";
 * console.log(nonNegativeInteger("0")); // 0
 * ```
 */
export function nonNegativeInteger(value: string): number {
  if (!/^(0|[1-9]\d*)$/.test(value)) {
    throw new InvalidArgumentError(`"${value}" is not a whole number`);
  }
  return Number(value);
}
