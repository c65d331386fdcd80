#!/usr/bin/env -S deno run -A
/**
 * The `sessh` command line: persistent remote shells over ssh.
 *
 * ```sh
 * deno run -A jsr:@sessh/cli run work me@box -- make test
 * ```
 *
 * @module
 */
// Only what every call needs is imported here: `--version` is answered
// before the parser and the library load, at the cost of Deno's own start,
// and every other call loads the thin client or the command line's body
// (`lib/cli/main.ts`). The bundle loads the thin client with this module
// (`scripts/bundle.ts`): a warm call is the commonest, and Deno loads a
// module with the program for less than its first `import()` costs (about
// 0.4 ms); from the sources, where its six modules would cost every
// `--version` 0.5 ms, it is imported when a call may be thin (issue 21).
import { VERSION } from "./lib/cli/context.ts";
import { markPhase, phaseLine } from "./lib/phases.ts";
import { setCliEntry } from "./lib/transport/cli_entry.ts";

// The agent is started from this module, and answers only calls of it.
setCliEntry(import.meta.url);

const VERSION_FLAGS = ["--version", "-v"];
/** The verbs `lib/cli/thin_client.ts` may offer the agent. */
const THIN = /^(run|send|keys|logs|screen|pane|wait|status|list|cp)$/;

function writeSync(stream: typeof Deno.stdout, text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) {
    written += stream.writeSync(bytes.subarray(written));
  }
}

/**
 * Runs the command line and returns the exit code.
 *
 * @param args Arguments after the program name.
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./cli.ts";
 * Deno.exit(await main(["--version"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  markPhase("main");
  if (args.length === 1 && VERSION_FLAGS.includes(args[0])) {
    try {
      writeSync(Deno.stdout, VERSION + "\n");
    } catch (error) {
      // A reader that went away (`| true`), as the full command line says.
      if (error instanceof Deno.errors.BrokenPipe) return 141;
      throw error;
    }
    return 0;
  }
  // The agent a call starts skips the body: it keeps all it compiles.
  if (args[0] === "agent" && args.length === 2 && !args[1].startsWith("-")) {
    return await (await import("./lib/cli/verbs/agent.ts")).serveAgent(args[1]);
  }
  // A call the local agent runs whole loads none of the body (issue 21).
  // The client reads SESSH_AGENT and SESSH_AGENT_THIN with the rest of the
  // environment it sends: a read of its own costs a warm call 0.3 ms.
  if (THIN.test(args[args[0] === "--json" ? 1 : 0])) {
    const code = await (await import("./lib/cli/thin_client.ts")).thinCall(
      args,
    );
    if (code !== null) return code;
  }
  const body = import("./lib/cli/main.ts");
  // The commonest call, `run … -- COMMAND`, needs its handler next: loading
  // it beside the body, rather than after it, overlaps the two loads, a few
  // ms of a warm call (issue 21). The body's own import of it then finds it
  // loaded; a failure here is the body's to report. `run --help` has no
  // `--` and still loads none of the library.
  if (args[args[0] === "--json" ? 1 : 0] === "run" && args.includes("--")) {
    import("./lib/cli/verbs/run.ts").catch(() => {});
  }
  return await (await body).main(args);
}

if (import.meta.main) {
  const code = await main(Deno.args);
  markPhase("written");
  const phases = phaseLine();
  if (phases) writeSync(Deno.stderr, phases);
  Deno.exit(code);
}
