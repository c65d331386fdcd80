/**
 * `attach`, `watch` and `detach`, the human side of sessh.
 *
 * @module
 */
import { SesshClient } from "../../session/client.ts";
import { validateName } from "../../session/name.ts";
import { UsageError } from "../../errors.ts";
import { attachSession } from "../../attach/attach.ts";
import {
  DEFAULT_DETACH_KEYS,
  parseDetachKeys,
} from "../../attach/detach_keys.ts";
import {
  chooseSession,
  formatPicker,
  nextSessionName,
  parsePick,
  parseRetries,
} from "../../attach/picker.ts";
import { LocalTerminal } from "../../attach/terminal.ts";
import {
  type CommonFlags,
  type Outcome,
  setUpForwards,
  sshFlags,
  type Target,
} from "../call.ts";
import { statusJson } from "../../report/format.ts";
import type { Forward } from "../../ssh/forwards.ts";
import { targetVerb, verb } from "../context.ts";
import { OPS } from "../../contract/spec.ts";

/** Options of `attach`. */
export interface AttachFlags extends CommonFlags {
  /** Always start a new session. */
  new?: boolean;
  /** Attach this existing session. */
  session?: string;
  /** Print the sessions and exit. */
  list?: boolean;
  /** Local detach keys. */
  detachKeys?: string;
  /** Reconnect attempts. */
  retries?: string;
  /** Shell of a new session. */
  shell?: string;
  /** Watch beside the interactive client; keys go nowhere. */
  readOnly?: boolean;
  /** Forwards to set up through the master. */
  forward?: readonly Forward[];
}

/**
 * `attach [NAME] DEST`: attach this terminal to a session.
 *
 * @param positionals `[NAME] DEST [PORT]`.
 * @param flags Options.
 * @param env Environment (for `TERM`).
 * @param verb The verb called, `attach` or `watch`, for messages.
 * @returns The outcome; the exit code is the shell's when it exits.
 */
export async function attachCommand(
  positionals: string[],
  flags: AttachFlags,
  env: Record<string, string | undefined>,
  verb: "attach" | "watch" = "attach",
): Promise<Outcome> {
  const withName = positionals.length >= 2 && !/^\d+$/.test(positionals[1]);
  const [name, dest, port] = withName
    ? positionals
    : [undefined, ...positionals];
  if (dest === undefined) {
    throw new UsageError("Missing DEST; usage: sessh attach [NAME] DEST");
  }
  if (positionals.length > (withName ? 3 : 2)) {
    throw new UsageError(
      `Unexpected argument ${JSON.stringify(positionals.at(-1))} for attach`,
    );
  }
  if (name !== undefined) validateName(name);
  if (flags.session !== undefined) validateName(flags.session);
  const detachKeys = parseDetachKeys(flags.detachKeys ?? DEFAULT_DETACH_KEYS);
  const retries = parseRetries(flags.retries ?? "10");
  const term = flags.list ? null : LocalTerminal.open(verb);
  const clientOptions = { destination: dest, port, ssh: sshFlags(flags) };
  const client = await SesshClient.connect(clientOptions);
  await setUpForwards(client, flags.forward, { dest, port }, flags);
  // A lost session is a record of a shell that died: nothing to attach to.
  const sessions = (await client.list()).filter((s) => !s.lost);
  if (flags.list || !term) {
    await client.disconnect();
    return {
      op: "attach",
      fields: { sessions: sessions.map(statusJson) },
      text: sessions.length ? formatPicker(sessions) : "no sessions\n",
      exitCode: 0,
    };
  }
  let chosen: string | null | undefined = name;
  // A viewer watches what exists: it never starts a session.
  let create = name !== undefined && !flags.readOnly;
  if (chosen === undefined) {
    const choice = chooseSession(sessions, {
      newSession: flags.new,
      session: flags.session,
    });
    if (choice.kind === "attach") chosen = choice.name;
    else if (choice.kind === "new") chosen = nextSessionName(sessions);
    else chosen = await pick(term, sessions);
    create = !flags.readOnly && (choice.kind === "new" ||
      (choice.kind === "pick" && !sessions.some((s) => s.name === chosen)));
  }
  if (chosen === null || chosen === undefined) {
    await client.disconnect();
    await term.restore();
    return { op: "attach", fields: {}, text: "", exitCode: 0 };
  }
  const termName = env.TERM && env.TERM !== "dumb"
    ? env.TERM
    : "xterm-256color";
  const outcome = await attachSession(client, term, {
    client: clientOptions,
    name: chosen,
    create,
    detachKeys,
    retries,
    term: termName,
    readOnly: flags.readOnly ?? false,
  });
  return {
    op: "attach",
    fields: { name: chosen, exit_code: outcome.code },
    text: "",
    notice: outcome.message,
    exitCode: outcome.code,
  };
}

async function pick(
  term: LocalTerminal,
  sessions: Parameters<typeof formatPicker>[0],
) {
  const newName = nextSessionName(sessions);
  await term.write(formatPicker(sessions));
  while (true) {
    await term.write(
      `attach which? (#, n for a new session ${newName}, q to quit): `,
    );
    const line = await readLine(term);
    if (line === null) return null;
    const answer = parsePick(line, sessions);
    if ("error" in answer) {
      await term.write(`${answer.error}\n`);
      continue;
    }
    if (answer.kind === "quit") return null;
    return answer.kind === "new" ? newName : answer.name;
  }
}

async function readLine(term: LocalTerminal): Promise<string | null> {
  let line = "";
  const decoder = new TextDecoder();
  while (!line.includes("\n")) {
    const { value, done } = await term.keys.read();
    if (done) return null;
    line += decoder.decode(value, { stream: true });
  }
  return line.split("\n")[0];
}

/**
 * `detach NAME DEST`: make the session's attached client exit cleanly.
 *
 * @param t NAME DEST [PORT].
 * @param flags Options.
 * @returns The outcome.
 */
export async function detachCommand(
  t: Target,
  flags: CommonFlags,
): Promise<Outcome> {
  await using client = await SesshClient.connect({
    destination: t.dest,
    port: t.port,
    ssh: sshFlags(flags),
  });
  const reply = await client.connection.request(OPS.detach, { name: t.name });
  const detached = Boolean(reply.detached);
  return {
    op: "detach",
    fields: { name: t.name, detached },
    text: detached
      ? `detached the client of ${t.name}\n`
      : `session ${t.name} had no client attached\n`,
    exitCode: 0,
  };
}

/** `attach`, as its grammar in `attach_command.ts` calls it. */
export const attach = verb((
  context,
  flags: AttachFlags,
  first: string,
  second: string | undefined,
  third: string | undefined,
) => {
  const words = [first, second, third].filter((w) => w !== undefined);
  return attachCommand(words, flags, context.env);
});

/** `watch`: `attach --read-only` by its own name. */
export const watch = targetVerb<
  CommonFlags & { detachKeys?: string; retries?: string }
>(({ name, dest, port }, flags, context) => {
  const words = [name, dest, port].filter((w) => w !== undefined);
  return attachCommand(
    words,
    { ...flags, readOnly: true },
    context.env,
    "watch",
  );
});

/** `detach`, as its grammar in `attach_command.ts` calls it. */
export const detach = targetVerb(detachCommand);
