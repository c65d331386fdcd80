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
  type DisconnectOptions,
  SesshClient,
} from "./lib/session/client.ts";
export {
  type CloseOptions,
  type CommandRecord,
  type CommandResult,
  DEFAULT_MAX_OUTPUT,
  type FollowOptions,
  type FollowPiece,
  type LogsOptions,
  type LogsResult,
  type RecordOptions,
  type ResultOptions,
  type RunOptions,
  type RunResult,
  type ScreenResult,
  type SendOptions,
  Session,
  type SessionEvent,
  type WaitOptions,
  type WaitResult,
} from "./lib/session/session.ts";
export type { OpenOptions, OpenResult } from "./lib/session/open.ts";
export type {
  RemoteFileInfo,
  TransferOptions,
  TransferResult,
} from "./lib/session/files.ts";
export { quoteShell, sh, type ShellValue } from "./lib/session/shell_quote.ts";
export {
  type CommandFailedDetails,
  CommandFailedError,
  type ConnectDetails,
  ConnectError,
  type ConnectionLostDetails,
  ConnectionLostError,
  type DaemonGoneDetails,
  DaemonGoneError,
  type Delivery,
  ERROR_CODES,
  type ErrorCode,
  type ErrorDetails,
  SesshError,
  type SessionDetails,
  SessionError,
  type TimeoutDetails,
  TimeoutError,
  UsageError,
  type WorkDetails,
} from "./lib/errors.ts";
export {
  type FleetCallOptions,
  type FleetOptions,
  type HostResult,
  SesshFleet,
} from "./lib/fleet/fleet.ts";
export { expandHosts, parseHostsFile } from "./lib/fleet/host_set.ts";
export type { SessionInfo } from "./lib/types.ts";
export type { Screen } from "./lib/render/screen.ts";
export type { SshFlags, SshSettings } from "./lib/ssh/settings.ts";
export type { Destination } from "./lib/ssh/destination.ts";
export type { MasterInfo } from "./lib/ssh/master.ts";
export type { Transport } from "./lib/transport/bridge.ts";

// `deno run -A jsr:@sessh/cli VERB …` runs this module: it is then the
// command line; imported, it runs nothing. Served (from JSR) it hands off to
// the bundle published beside it, which starts in half the time of the
// sources (issue 21); from a checkout, to `cli.ts`. Neither specifier is a
// literal, so that Deno does not load either ahead of the call, nor with the
// library.
if (import.meta.main) {
  const { main } = import.meta.url.startsWith("file:")
    ? await import(`./cli${".ts"}`)
    : await import(`./dist/cli${".js"}`);
  Deno.exit(await main(Deno.args));
}
