/**
 * sessh keeps long-lived interactive shells alive on remote hosts and lets
 * programs that can only run one-shot commands drive them over ssh.
 *
 * @example
 * ```ts ignore
 * import { SesshClient } from "@sessh/cli";
 *
 * await using client = await SesshClient.connect({ destination: "me@build-box" });
 * const work = client.session("work");
 * await work.run("cd ~/project && export MODE=ci");
 * const test = await work.run("make test", { timeoutMs: 600_000 });
 * console.log(test.exitCode, test.output);
 * ```
 *
 * @module
 */
export {
  type CallPath,
  type ClientOptions,
  type OpenOptions,
  type OpenResult,
  SesshClient,
  validateName,
} from "./lib/session/client.ts";
export {
  DEFAULT_MAX_OUTPUT,
  type LogsOptions,
  type LogsResult,
  type RunOptions,
  type RunResult,
  type ScreenResult,
  Session,
  type WaitOptions,
  type WaitResult,
} from "./lib/session/session.ts";
export { keyBytes, keysToBytes } from "./lib/session/keys.ts";
export {
  ConnectError,
  type ErrorCode,
  SesshError,
  TimeoutError,
  UsageError,
} from "./lib/errors.ts";
export type { SessionInfo } from "./lib/types.ts";
export type { SshFlags, SshSettings } from "./lib/ssh/options.ts";
export type { Destination } from "./lib/ssh/destination.ts";
export type { MasterInfo } from "./lib/ssh/master.ts";
export { Connection, type RequestOptions } from "./lib/session/connection.ts";
export type { Message } from "./lib/protocol/frame.ts";

// `deno run -A jsr:@sessh/cli VERB …` runs this module: it is then the
// command line; imported, it runs nothing.
if (import.meta.main) {
  const { main } = await import("./cli.ts");
  Deno.exit(await main(Deno.args));
}
