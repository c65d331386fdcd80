/**
 * Building the bundle the way `deno task bundle` does, for the test that
 * runs it and the benchmark that times it.
 *
 * @module
 */
export { bundle as buildBundle } from "../scripts/bundle.ts";

/**
 * The argv that runs the bundle as `sessh VERB -F CONFIG [via…] REST…`: the
 * ssh flags go right after the verb, where the parser expects them.
 *
 * @param bundle The bundle's entry file.
 * @param configFile The ssh config (`-F`).
 * @param via More ssh flags (a relay's `-p PORT`), or none.
 * @param args The verb and the rest of the arguments.
 * @returns The argv.
 */
export function bundledArgv(
  bundle: string,
  configFile: string,
  via: string[],
  args: string[],
): string[] {
  const [verb, ...rest] = args;
  return [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    bundle,
    verb,
    "-F",
    configFile,
    ...via,
    ...rest,
  ];
}
