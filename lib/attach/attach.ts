/**
 * `sessh attach`: a human's terminal on a session, as a plain byte stream,
 * that survives the network. A heartbeat notices a dead or frozen link
 * within 3 s; the client then retires the stuck master, connects afresh with
 * backoff and re-attaches, replaying what it missed.
 *
 * @module
 */
import { type ClientOptions, SesshClient } from "../session/client.ts";
import { ConnectError, SesshError } from "../errors.ts";
import { stopMaster } from "../ssh/master.ts";
import { bytesField } from "../session/wire.ts";
import type { Message } from "../protocol/frame.ts";
import { DetachMatcher } from "./detach_keys.ts";
import {
  applyModeChanges,
  buildReplay,
  buildResync,
  modeReset,
  type Modes,
} from "./replay.ts";
import type { LocalTerminal } from "./terminal.ts";
import { concatBytes } from "../bytes.ts";
import { EVENTS, OPS } from "../contract/spec.ts";

/** Backoff between reconnect attempts, then 2 s for every further one. */
export const BACKOFF_MS: readonly number[] = [125, 250, 500, 1000, 2000];
// A link silent for DEAD_AFTER_MS is dead. Silence counts from the last
// frame received, which came before the cut, so a cut is noticed within
// DEAD_AFTER_MS + TICK_MS (2.75 s); a ping every PING_MS keeps an idle live
// link from looking dead.
const TICK_MS = 250;
const PING_MS = 500;
const DEAD_AFTER_MS = 2500;
// A tick this late means the process itself was stopped (SIGSTOP, Ctrl-Z of
// a wrapper, a debugger): its silence says nothing about the link.
const STOPPED_AFTER_MS = 1000;

/** How an attach ended. */
export interface AttachOutcome {
  /** Exit code for the command line. */
  code: number;
  /** A line for the terminal after raw mode is left, if any. */
  message?: string;
}

/** Options of {@linkcode attachSession}. */
export interface AttachOptions {
  /** How to reach the host (used again to reconnect). */
  client: ClientOptions;
  /** The session to attach. */
  name: string;
  /** Start the session when it is missing. */
  create: boolean;
  /** The detach key bytes, or null for none. */
  detachKeys: Uint8Array | null;
  /** Reconnect attempts after an ambiguous disconnect (Infinity: forever). */
  retries: number;
  /** TERM for a new session. */
  term: string;
  /**
   * Watch beside the interactive client: the same screen, live, while keys
   * go nowhere (the detach keys leave) and the size stays the session's.
   */
  readOnly?: boolean;
}

type Ending =
  | { kind: "exit"; status: number }
  | { kind: "detached"; by: "key" | "remote" }
  | { kind: "signal"; code: number }
  | { kind: "lost"; why: string };

const SIGNAL_CODES: Record<string, number> = {
  SIGHUP: 129,
  SIGINT: 130,
  SIGTERM: 143,
};

/**
 * Attaches the local terminal to a session until the shell exits, the user
 * detaches, or reconnecting fails.
 *
 * @param first A connected client.
 * @param term The local terminal, not yet in raw mode.
 * @param options Session, detach keys, retries.
 * @returns The exit code and a closing message.
 */
export async function attachSession(
  first: SesshClient,
  term: LocalTerminal,
  options: AttachOptions,
): Promise<AttachOutcome> {
  const matcher = new DetachMatcher(options.detachKeys);
  let client = first;
  let modes: Modes = {};
  let since: number | undefined;
  // Whether the shell's output left the cursor at the start of a line: the
  // closing message then needs no line break of its own to stand alone.
  let atLineStart = true;
  let onKeys: (bytes: Uint8Array) => void = () => {};
  let interrupt: ((ending: Ending) => void) | null = null;
  let signalled: number | null = null;
  term.enterRaw((signal) => {
    signalled = SIGNAL_CODES[signal] ?? 1;
    interrupt?.({ kind: "signal", code: signalled });
  });
  // Reads keys until stdin ends or restore() releases the reader.
  void (async () => {
    while (true) {
      const { value, done } = await term.keys.read().catch(() => ({
        value: undefined,
        done: true,
      }));
      if (done || !value) return;
      onKeys(value);
    }
  })();
  try {
    while (true) {
      const ending = await attachOnce(client, term, options, {
        since,
        steal: since !== undefined,
        matcher,
        setKeys: (fn) => onKeys = fn,
        setInterrupt: (fn) => interrupt = fn,
        onOutput: (offset, data) => {
          since = offset + data.length;
          if (data.length > 0) atLineStart = data[data.length - 1] === 0x0a;
          modes = applyModeChanges(modes, data);
        },
        modes: () => modes,
        onModes: (m) => modes = m,
      });
      if (ending.kind === "exit") return { code: ending.status };
      if (ending.kind === "signal") return { code: ending.code };
      if (ending.kind === "detached") {
        const detached = `[detached from ${options.name}]`;
        return { code: 0, message: atLineStart ? detached : `\n${detached}` };
      }
      client.abandon();
      if (signalled !== null) return { code: signalled };
      const next = await reconnect(
        client,
        term,
        options,
        matcher,
        (fn) => onKeys = fn,
      );
      if ("code" in next) return next;
      client = next;
    }
  } catch (error) {
    if (
      error instanceof SesshError &&
      ["no_session", "session_exited"].includes(error.code)
    ) {
      await term.write("\r\x1b[K");
      const status = /status (\d+)/.exec(error.message)?.[1];
      return {
        code: status !== undefined ? Number(status) : 1,
        message: `sessh: session ${options.name} is gone: ${error.message}`,
      };
    }
    throw error;
  } finally {
    onKeys = () => {};
    await term.restore(modeReset(modes));
    await client.disconnect().catch(() => {});
  }
}

interface OnceHooks {
  since?: number;
  steal: boolean;
  matcher: DetachMatcher;
  setKeys: (fn: (bytes: Uint8Array) => void) => void;
  setInterrupt: (fn: ((ending: Ending) => void) | null) => void;
  onOutput: (offset: number, data: Uint8Array) => void;
  modes: () => Modes;
  onModes: (modes: Modes) => void;
}

async function attachOnce(
  client: SesshClient,
  term: LocalTerminal,
  options: AttachOptions,
  hooks: OnceHooks,
): Promise<Ending> {
  const conn = client.connection;
  const name = options.name;
  const size = term.size();
  const fields: Message = options.readOnly ? { name, read_only: true } : {
    name,
    cols: size.cols,
    rows: size.rows,
    steal: hooks.steal,
    // Only the first attach may start the session: after a cut, a missing
    // session means that it ended.
    create: options.create && !hooks.steal
      ? { name, term: options.term, agent_env: false }
      : null,
  };
  if (hooks.since !== undefined) fields.since = hooks.since;
  // Open before the request: output follows the reply at once. The
  // connection is this attach's alone, so a terminal that cannot keep up
  // may stop its reading, and the daemon then skips it ahead.
  using events = conn.subscribe(name, { overflow: "pause" });
  const reply = await conn.request(OPS.attach, fields, { timeoutMs: 15_000 });
  const data = bytesField(reply.data);
  const replayModes = (reply.modes ?? {}) as Modes;
  const replay = buildReplay(data, replayModes, Boolean(reply.evicted));
  hooks.onModes(applyModeChanges(replayModes, data));
  if (hooks.since !== undefined) await term.write("\r\x1b[K");
  await term.write(replay);
  hooks.onOutput(Number(reply.start), data);

  let finish!: (ending: Ending) => void;
  const ended = new Promise<Ending>((resolve) => finish = resolve);
  let over = false;
  const end = (ending: Ending) => {
    if (!over) finish(ending);
    over = true;
  };
  hooks.setInterrupt(end);
  let hinted = false;
  hooks.setKeys((bytes) => {
    const { forward, detach } = hooks.matcher.feed(bytes);
    if (forward.length && options.readOnly) {
      // Keys go nowhere: a bell each time, and once a line that says why.
      void term.write(
        hinted
          ? "\x07"
          : "\x07\r\n[sessh] watching read-only: keys go nowhere; the detach keys leave\r\n",
      );
      hinted = true;
    } else if (forward.length) {
      conn.request(OPS.input, { name, data: forward }).catch(() => {});
    }
    if (detach) {
      // A viewer just leaves: a detach request would detach the session's
      // interactive client, not this one.
      if (!options.readOnly) {
        conn.request(OPS.detach, { name }, { timeoutMs: 2000 }).catch(() => {});
      }
      end({ kind: "detached", by: "key" });
    }
  });
  // A viewer keeps the session's size: the interactive client sets it.
  if (!options.readOnly) {
    term.watchResize((next) => {
      conn.request(OPS.resize, { name, cols: next.cols, rows: next.rows })
        .catch(() => {});
    });
  }
  let lastTick = performance.now();
  let lastPing = -Infinity;
  let awake = lastTick;
  const heartbeat = setInterval(() => {
    const now = performance.now();
    if (now - lastTick > STOPPED_AFTER_MS) awake = now;
    lastTick = now;
    if (now - lastPing >= PING_MS) {
      lastPing = now;
      conn.request(OPS.ping, {}, { timeoutMs: 10_000 }).catch(() => {});
    }
    const silentMs = Math.min(conn.silentForMs, now - awake);
    if (silentMs > DEAD_AFTER_MS && !conn.backlogged) {
      end({
        kind: "lost",
        why: `no answer for ${(silentMs / 1000).toFixed(1)} s`,
      });
    }
  }, TICK_MS);
  const endedNull = ended.then(() => null);
  try {
    while (!over) {
      const first = await Promise.race([events.next(250), endedNull]);
      if (over) break;
      if (!first) {
        if (conn.lostError) end({ kind: "lost", why: conn.lostError.message });
        continue;
      }
      // Output that is already queued goes out in one terminal write.
      const batch = [first];
      for (
        let more = events.take();
        more && batch.length < 64;
        more = events.take()
      ) {
        batch.push(more);
      }
      let output: Uint8Array[] = [];
      let offset = -1;
      const flush = async () => {
        if (!output.length) return;
        const chunk = concatBytes(output);
        output = [];
        await term.write(chunk);
        hooks.onOutput(offset, chunk);
      };
      for (const event of batch) {
        if (event.ev === EVENTS.output) {
          if (!output.length) offset = Number(event.offset);
          output.push(bytesField(event.data));
        } else if (event.ev === EVENTS.resync) {
          await flush();
          await resync(term, hooks, event);
        } else if (event.ev === EVENTS.exit) {
          end({ kind: "exit", status: Number(event.status) });
        } else if (event.ev === EVENTS.detached) {
          end({ kind: "detached", by: "remote" });
        }
      }
      await flush();
    }
    return await ended;
  } finally {
    clearInterval(heartbeat);
    hooks.setInterrupt(null);
    hooks.setKeys(() => {});
  }
}

/** The daemon skipped output this client could not take: redraw from its tail. */
async function resync(term: LocalTerminal, hooks: OnceHooks, event: Message) {
  const data = bytesField(event.data);
  const modes = (event.modes ?? {}) as Modes;
  await term.write(
    buildResync(hooks.modes(), { data, modes, skipped: Number(event.skipped) }),
  );
  hooks.onModes(modes);
  hooks.onOutput(Number(event.start), data);
}

async function reconnect(
  stale: SesshClient,
  term: LocalTerminal,
  options: AttachOptions,
  matcher: DetachMatcher,
  setKeys: (fn: (bytes: Uint8Array) => void) => void,
): Promise<SesshClient | AttachOutcome> {
  let giveUp = false;
  let wake: () => void = () => {};
  setKeys((bytes) => {
    // Keystrokes typed while disconnected would land in a different state
    // later: drop them, audibly, but still honour the detach key.
    if (matcher.feed(bytes).detach) {
      giveUp = true;
      wake();
    } else {
      void term.write("\x07");
    }
  });
  // The old master may be stuck on a dead TCP connection and still answer
  // `ssh -O check`; never reuse it. Stopping it can take a while: the user
  // hears of the cut meanwhile.
  const stopping = stopMaster(stale.destination, stale.settings, {
    timeoutMs: 1000,
  }).catch(() => {});
  const limit = options.retries === Infinity ? "∞" : String(options.retries);
  let lastError = "";
  for (let attempt = 1; attempt <= options.retries && !giveUp; attempt++) {
    await term.write(
      `\r\x1b[K[sessh] connection lost; reconnecting (attempt ${attempt}/${limit})…` +
        (options.detachKeys ? " (the detach keys give up)" : ""),
    );
    const delay = BACKOFF_MS[attempt - 1] ?? 2000;
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, delay);
    });
    if (giveUp) break;
    await stopping;
    try {
      return await SesshClient.connect({
        ...options.client,
        connectTimeoutMs: 10_000,
      });
    } catch (error) {
      lastError = (error as Error).message;
      if (!(error instanceof ConnectError) && !(error instanceof SesshError)) {
        throw error;
      }
    }
  }
  await stopping;
  await term.write("\r\x1b[K");
  if (giveUp) {
    return {
      code: 0,
      message: `[detached from ${options.name}; it keeps running]`,
    };
  }
  return {
    code: 255,
    message:
      `sessh: could not reconnect to ${options.name} after ${options.retries} attempts` +
      (lastError ? `: ${lastError}` : "") +
      "; the session keeps running, attach again later",
  };
}
