/**
 * `status`, `list` and `close`: describe sessions and end them.
 *
 * @module
 */
import {
  type CommonFlags,
  connect,
  listedForwards,
  type Outcome,
  type Place,
  type Target,
} from "../call.ts";
import { type FleetFlags, hostsVerb, targetHostsVerb } from "../hosts.ts";
import {
  callPathJson,
  formatList,
  formatStatus,
  listTable,
  statusJson,
} from "../../report/format.ts";

/**
 * `status NAME DEST`: master, session, running command, cwd, times, buffer.
 *
 * @param t NAME DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function statusCommand(
  t: Target,
  flags: CommonFlags,
): Promise<Outcome> {
  await using client = await connect(t, flags);
  const info = await client.session(t.name).status();
  const master = client.master && { alive: true, pid: client.master.pid };
  const path = callPathJson(client.path);
  const forwards = await listedForwards(client, t, flags);
  return {
    op: "status",
    fields: { master, path, forwards, session: statusJson(info) },
    text: formatStatus(info, master, client.path) +
      forwards.map((f) => `forward: -${f.kind} ${f.spec}\n`).join(""),
    exitCode: 0,
  };
}

/**
 * `list DEST`: every session of this user on the host.
 *
 * @param t DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function listCommand(
  t: Place,
  flags: CommonFlags,
): Promise<Outcome> {
  await using client = await connect(t, flags);
  const sessions = await client.list();
  const forwards = await listedForwards(client, t, flags);
  return {
    op: "list",
    fields: { sessions: sessions.map(statusJson), forwards },
    text: formatList(sessions),
    table: listTable(sessions),
    exitCode: 0,
  };
}

/** How a closed shell ended, in words: 129 is the hang-up `close` sends. */
function shellEnd(status: number): string {
  return status === 129
    ? "the shell was hung up"
    : `shell exit status ${status}`;
}

/** Options of `close`. */
export interface CloseFlags extends CommonFlags {
  /** Leave the ssh master running. */
  keepMaster?: boolean;
  /** Milliseconds between SIGHUP and SIGKILL. */
  grace?: number;
}

/**
 * `close NAME DEST`: end the session; stop the master when none is left.
 *
 * @param t NAME DEST [PORT].
 * @param flags Options (`keepMaster`, `grace`).
 * @returns The outcome.
 */
export async function closeCommand(
  t: Target,
  flags: CloseFlags,
): Promise<Outcome> {
  const graceMs = flags.grace ?? 2000;
  await using client = await connect(t, flags);
  const status = await client.session(t.name).close({ graceMs });
  // Lost sessions are records, not shells: they need no master.
  const left = (await client.list()).filter((s) => !s.lost);
  let masterStopped = false;
  // Without a master (SESSH_CONTROL_MASTER=no) there is none to stop.
  if (left.length === 0 && !flags.keepMaster && client.master !== null) {
    await client.disconnect();
    await client.stopMaster();
    masterStopped = true;
  }
  return {
    op: "close",
    fields: {
      name: t.name,
      status,
      master_stopped: masterStopped,
      sessions_left: left.length,
    },
    text: `${
      status === null
        ? `forgot lost session ${t.name}`
        : `closed session ${t.name} (${shellEnd(status)})`
    }${masterStopped ? "; master stopped" : ""}\n`,
    exitCode: 0,
  };
}

/** `status`, as its grammar in `manage_command.ts` calls it. */
export const status = targetHostsVerb<CommonFlags & FleetFlags>(
  "status",
  statusCommand,
);

/** `list`, as its grammar in `manage_command.ts` calls it. */
export const list = hostsVerb("list", 0, (
  context,
  flags: CommonFlags & FleetFlags,
  dest: string,
  port: string | undefined,
) => listCommand({ dest, port, env: context.env }, flags));

/** `close`, as its grammar in `manage_command.ts` calls it. */
export const close = targetHostsVerb<CloseFlags & FleetFlags>(
  "close",
  closeCommand,
);
