/**
 * Port forwards the agent holds when there is no ControlMaster to add them
 * to: one `ssh -N` per forward, started here so that it outlives the call
 * that asked for it, listed, cancelled, and reported once its ssh died.
 *
 * @module
 */
import { spawnPiped } from "../process.ts";
import type { Destination } from "../ssh/destination.ts";
import type { Forward } from "../ssh/forward_spec.ts";
import { sameForward } from "../ssh/forward_spec.ts";
import { forwardArgv } from "../ssh/options.ts";
import type { SshSettings } from "../ssh/settings.ts";
import { SesshError, UsageError } from "../errors.ts";
import type { HeldForwardInfo } from "../transport/agent_protocol.ts";

/**
 * ssh's debug lines (`-v`) that tell a forward is set up. A local listener
 * (`-L`, `-D`) is bound before ssh enters its loop, and with
 * `ExitOnForwardFailure` ssh ends instead when it cannot be ("Local
 * forwarding listening on" is written before the bind, so it tells
 * nothing); a remote one (`-R`) is up once the server says yes.
 */
const UP = {
  L: /^debug1: Entering interactive session/,
  D: /^debug1: Entering interactive session/,
  R: /^debug1: remote forward success for:/,
};
/** Lines of ssh's own messages kept to say why it ended. */
const KEPT_LINES = 3;
/** How long ssh's stderr is still read once it exited. */
const DRAIN_MS = 250;
/** ssh's lines at `-v` that say nothing about why it ended. */
const NOISE = /^(debug\d?:|OpenSSH_|Authenticated to |Transferred: )/;

interface Held {
  forward: Forward;
  child: Deno.ChildProcess;
  /** Why its ssh ended, once it has. */
  died: string | null;
  /** ssh's last lines that are not debug output. */
  said: string[];
}

/** The forwards of one agent, per destination. */
export class HeldForwards {
  #held = new Map<string, Held[]>();
  #onChange: () => void;

  /** @param onChange Called when a forward starts, ends or is cancelled. */
  constructor(onChange: () => void) {
    this.#onChange = onChange;
  }

  /** Whether any forward's ssh still runs (the agent then stays). */
  get alive(): boolean {
    return [...this.#held.values()].some((list) =>
      list.some((held) => held.died === null)
    );
  }

  /**
   * The forwards to a destination, dead ones included.
   *
   * @param key The destination as the user wrote it, and its port.
   * @returns Each forward, its ssh's pid and whether it still runs.
   */
  list(key: string): HeldForwardInfo[] {
    return (this.#held.get(key) ?? []).map(info);
  }

  /**
   * Starts a forward's ssh and waits until ssh says it is set up, or ends.
   * The same forward again is left as it is while its ssh runs; a dead one
   * is replaced.
   *
   * @param key The destination as the user wrote it, and its port.
   * @param dest The destination.
   * @param settings The settings of the call that asked.
   * @param forward The forward.
   * @param timeoutMs How long setting it up may take.
   * @returns The forwards to the destination now.
   * @throws {UsageError} with ssh's reason when it could not be set up.
   */
  async open(
    key: string,
    dest: Destination,
    settings: SshSettings,
    forward: Forward,
    timeoutMs: number,
  ): Promise<HeldForwardInfo[]> {
    const list = this.#held.get(key) ?? [];
    this.#held.set(key, list);
    const same = list.find((held) => sameForward(held.forward, forward));
    if (same?.died === null) return this.list(key);
    if (same) list.splice(list.indexOf(same), 1);
    const child = spawnPiped(forwardArgv(dest, settings, forward), {
      stderr: "piped",
    });
    child.stdin.close().catch(() => {});
    child.stdout.cancel().catch(() => {});
    const held: Held = { forward, child, died: null, said: [] };
    list.push(held);
    const up = Promise.withResolvers<void>();
    const reading = this.#read(held, () => up.resolve());
    const ended = child.status.then(async (status) => {
      // Its last words come after it exits, but a process of its own that
      // holds the pipe (a ProxyJump's ssh) must not hold this wait open.
      await Promise.race([reading, delay(DRAIN_MS)]);
      held.died = status.signal
        ? `ssh was killed by ${status.signal}`
        : `ssh exited ${status.code}${
          held.said.length ? ` (${held.said.join("; ")})` : ""
        }`;
      this.#onChange();
    });
    this.#onChange();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    const first = await Promise.race([up.promise, ended, late]);
    clearTimeout(timer);
    if (held.died !== null || first === "late") {
      if (first === "late") child.kill("SIGKILL");
      await ended;
      if (first === "late") {
        held.died = `ssh did not set the forward up within ${timeoutMs} ms`;
      }
      list.splice(list.indexOf(held), 1);
      throw new UsageError(
        `Cannot forward -${forward.kind} ${forward.spec} to ${
          JSON.stringify(dest.display)
        }: ${held.died}`,
        "forward_refused",
      );
    }
    return this.list(key);
  }

  /**
   * Cancels a forward: its ssh is ended, or its death forgotten.
   *
   * @param key The destination as the user wrote it, and its port.
   * @param forward The forward, however spelled.
   * @returns The forward cancelled and those left.
   * @throws {SesshError} `no_forward` when the agent holds no such forward.
   */
  async cancel(
    key: string,
    destination: string,
    forward: Forward,
  ): Promise<{ cancelled: HeldForwardInfo; forwards: HeldForwardInfo[] }> {
    const list = this.#held.get(key) ?? [];
    const held = list.find((h) => sameForward(h.forward, forward));
    if (!held) {
      const rest = this.list(key);
      throw new SesshError(
        "no_forward",
        `No forward -${forward.kind} ${forward.spec} to cancel to ${
          JSON.stringify(destination)
        }; ${
          rest.length
            ? `forwards held by the local agent: ${
              rest.map((f) => `-${f.kind} ${f.spec}`).join(", ")
            }`
            : "the local agent holds none"
        }`,
        1,
      );
    }
    const cancelled = info(held);
    list.splice(list.indexOf(held), 1);
    if (held.died === null) {
      try {
        held.child.kill("SIGTERM");
      } catch { /* it ended just now */ }
      await held.child.status;
    }
    this.#onChange();
    return { cancelled, forwards: this.list(key) };
  }

  /** Ends every forward's ssh: the agent is going. */
  killAll(): void {
    for (const list of this.#held.values()) {
      for (const held of list) {
        try {
          held.child.kill("SIGTERM");
        } catch { /* ended already */ }
      }
    }
  }

  /**
   * Reads ssh's stderr to its end (a full pipe would stop ssh), keeping its
   * last lines that are not debug output, to say why it ended.
   */
  async #read(held: Held, onUp: () => void): Promise<void> {
    let pending = "";
    try {
      for await (
        const chunk of held.child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        const lines = (pending + chunk).split(/\r?\n/);
        pending = lines.pop() ?? "";
        for (const line of lines) {
          if (UP[held.forward.kind].test(line)) onUp();
          if (line.trim() && !NOISE.test(line)) {
            held.said.push(line.trim());
            if (held.said.length > KEPT_LINES) held.said.shift();
          }
        }
      }
    } catch {
      // ssh was killed.
    }
  }
}

function info(held: Held): HeldForwardInfo {
  return {
    kind: held.forward.kind,
    spec: held.forward.spec,
    pid: held.child.pid,
    state: held.died === null ? "up" : "dead",
    ...(held.died === null ? {} : { why: held.died }),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
