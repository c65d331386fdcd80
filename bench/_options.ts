/**
 * Parsing shared by the benchmarks' command lines: whole-number options and
 * one `parseBenchOptions()` that reads them with the same parser as sessh.
 *
 * @module
 */
import {
  buildApplication,
  buildCommand,
  type CommandContext,
  run,
} from "@stricli/core";

/**
 * Parses an option that takes a positive whole number.
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
    throw new Error(`"${value}" is not a positive integer`);
  }
  return Number(value);
}

/**
 * Parses an option that takes a whole number, zero included.
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
    throw new Error(`"${value}" is not a whole number`);
  }
  return Number(value);
}

/** A whole-number option with its default. */
export interface CountOption {
  /** What it sets, for `--help`. */
  brief: string;
  /** Its parser. */
  parse: (value: string) => number;
  /** Its value when not given. */
  default: number;
}

/**
 * Parses a benchmark's arguments: the given whole-number options plus
 * `--json`, and `--help`.
 *
 * @param name The task, e.g. `deno task bench`.
 * @param brief What the benchmark does.
 * @param counts Its whole-number options by name.
 * @param args The arguments after the script name.
 * @returns The options, or the exit code when there is nothing to run (0 after `--help`, 2 after an error, which Stricli has printed).
 *
 * @example
 * ```ts ignore
 * import { parseBenchOptions, positiveInteger } from "./_options.ts";
 * const options = await parseBenchOptions("deno task bench", "time it", {
 *   runs: { brief: "repetitions", parse: positiveInteger, default: 20 },
 * }, Deno.args);
 * ```
 */
export async function parseBenchOptions<K extends string>(
  name: string,
  brief: string,
  counts: Record<K, CountOption>,
  args: string[],
): Promise<(Record<K, number> & { json: boolean }) | number> {
  let parsed: (Record<K, number> & { json: boolean }) | null = null;
  const flags: Record<string, unknown> = {
    json: {
      kind: "boolean",
      brief: "print the figures as JSON",
      default: false,
    },
  };
  for (const [key, option] of Object.entries<CountOption>(counts)) {
    flags[key] = {
      kind: "parsed",
      parse: option.parse,
      brief: option.brief,
      default: String(option.default),
    };
  }
  const command = buildCommand({
    func(values: Record<K, number> & { json: boolean }) {
      parsed = values;
    },
    // The flags are built at run time, so their types are asserted.
    parameters: { flags: flags as never },
    docs: { brief },
  });
  const context: CommandContext & {
    process: { exitCode?: number | string | null };
  } = {
    process: {
      stdout: {
        write: (text: string) =>
          void Deno.stdout.writeSync(new TextEncoder().encode(text)),
      },
      stderr: {
        write: (text: string) =>
          void Deno.stderr.writeSync(new TextEncoder().encode(text)),
      },
    },
  };
  await run(
    buildApplication(command, {
      name,
      scanner: { caseStyle: "allow-kebab-for-camel" },
      documentation: { caseStyle: "convert-camel-to-kebab" },
    }),
    args,
    context,
  );
  if (parsed) return parsed;
  return context.process.exitCode ? 2 : 0;
}
