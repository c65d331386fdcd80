/**
 * The command handlers behind each verb, for `program.ts` to import once a
 * verb has been parsed. They connect, do the work and return an
 * {@linkcode Outcome}; printing and exiting are left to `cli.ts`.
 *
 * @module
 */
export type {
  CallContext,
  CommonFlags,
  Outcome,
  StreamSink,
  Target,
} from "./call.ts";
export { sshFlags } from "./call.ts";
export {
  openCommand,
  type OpenFlags,
  runCommand,
  type RunFlags,
} from "./verbs/run.ts";
export { keysCommand, sendCommand, type SendFlags } from "./verbs/input.ts";
export {
  logsCommand,
  type LogsFlags,
  screenCommand,
  waitCommand,
  type WaitFlags,
} from "./verbs/read.ts";
export {
  closeCommand,
  type CloseFlags,
  listCommand,
  statusCommand,
} from "./verbs/manage.ts";
export {
  historyCommand,
  resultCommand,
  type ResultFlags,
} from "./verbs/history.ts";
export { eventsCommand, type EventsFlags } from "./verbs/events.ts";
export { secretCommand, type SecretFlags } from "./verbs/secret.ts";
export { forwardCommand, type ForwardFlags } from "./verbs/forward.ts";
export { recordCommand, type RecordFlags } from "./verbs/record.ts";
export { cpCommand, type CpFlags } from "./verbs/cp.ts";
