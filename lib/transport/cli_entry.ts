/**
 * Which program runs the local agent. Kept apart, with no imports, so that
 * the command line records itself at no cost to its start-up.
 *
 * @module
 */

/** Where the command line records its own module (see {@linkcode agentEntry}). */
const CLI_ENTRY = Symbol.for("sessh.cliEntry");

/**
 * Records the module that runs the command line, as it loads: the agent is
 * started from it. A script that imports the library is not the command
 * line, so without this record the agent starts from the package's own
 * `cli.ts` beside this module.
 *
 * @param url The command line's `import.meta.url`.
 */
export function setCliEntry(url: string): void {
  (globalThis as Record<symbol, unknown>)[CLI_ENTRY] = url;
}

/**
 * The program that runs the agent: the compiled binary itself, or the
 * module of the command line (the bundle's `cli.js`, a checkout's or the
 * package's `cli.ts`).
 *
 * @returns A path or URL.
 */
export function agentEntry(): string {
  if (Deno.build.standalone) return Deno.execPath();
  const recorded = (globalThis as Record<symbol, unknown>)[CLI_ENTRY];
  return typeof recorded === "string"
    ? recorded
    : new URL("../../cli.ts", import.meta.url).href;
}
