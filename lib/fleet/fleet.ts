/**
 * `SesshFleet`: one call on many hosts, each through its own
 * {@linkcode SesshClient}, with the same bounds for all.
 *
 * @module
 */
import { type ClientOptions, SesshClient } from "../session/client.ts";
import type { RunOptions, RunResult } from "../session/run.ts";
import { DEFAULT_PARALLEL, fanOut, type HostResult } from "./fan_out.ts";

export type { HostResult };

/** How a {@linkcode SesshFleet} reaches its hosts and bounds its calls. */
export interface FleetOptions
  extends Omit<ClientOptions, "destination" | "signal"> {
  /**
   * Hosts in flight at once.
   * @default {32}
   */
  parallel?: number;
  /**
   * Each host's deadline for one call, connecting included, in
   * milliseconds. Past it the host's result is a `timeout` error and the
   * others go on.
   * @default {60000}
   */
  deadlineMs?: number;
}

/** Options of one call on a fleet. */
export interface FleetCallOptions {
  /**
   * This call's deadline per host, in milliseconds.
   * @default {FleetOptions.deadlineMs}
   */
  deadlineMs?: number;
  /** Stops the call on every host. */
  signal?: AbortSignal;
}

/**
 * Clients of many hosts, connected on first use and kept for the next
 * call, and calls on all of them at once that yield each host's result as
 * it finishes. A dead or slow host costs its own deadline, never the
 * others' time.
 *
 * @example
 * ```ts ignore
 * import { SesshFleet } from "@sessh/cli";
 * await using fleet = new SesshFleet(["gpu01", "gpu02"], { deadlineMs: 30_000 });
 * for await (const r of fleet.run("train", "nvidia-smi -L")) {
 *   console.log(r.host, r.ok ? r.value.output : r.error.message);
 * }
 * ```
 */
export class SesshFleet implements AsyncDisposable {
  /** The hosts, in the order given. */
  readonly hosts: readonly string[];
  #options: FleetOptions;
  #clients = new Map<string, Promise<SesshClient>>();

  /**
   * Makes a fleet; nothing connects until the first call.
   *
   * @param hosts Destinations, as `SesshClient.connect` takes them (see
   * `expandHosts` for ranges such as `gpu[01-08]`).
   * @param options ssh flags, warm path, `parallel`, `deadlineMs`.
   */
  constructor(hosts: readonly string[], options: FleetOptions = {}) {
    const parallel = options.parallel ?? DEFAULT_PARALLEL;
    if (!Number.isInteger(parallel) || parallel < 1) {
      throw new RangeError(
        `parallel must be a whole number from 1, not ${parallel}`,
      );
    }
    this.hosts = [...new Set(hosts)];
    this.#options = options;
  }

  #client(
    host: string,
    budgetMs: number,
    signal: AbortSignal,
  ): Promise<SesshClient> {
    let client = this.#clients.get(host);
    if (!client) {
      const { parallel: _, deadlineMs: __, ...clientOptions } = this.#options;
      client = SesshClient.connect({
        ...clientOptions,
        destination: host,
        connectTimeoutMs: Math.min(
          clientOptions.connectTimeoutMs ?? budgetMs,
          budgetMs,
        ),
        signal,
      });
      this.#clients.set(host, client);
      // A host that could not be reached is tried afresh by the next call.
      client.catch(() => this.#clients.delete(host));
    }
    return client;
  }

  /**
   * Calls `call` with every host's client and yields each host's result as
   * it finishes. Breaking out of the loop aborts the hosts still in flight.
   *
   * @param call One host's work; `signal` aborts at its deadline.
   * @param options The deadline and a signal.
   * @returns The results, one per host, in the order they finish.
   *
   * @example
   * ```ts ignore
   * for await (const r of fleet.each((client) => client.list())) {
   *   if (r.ok) console.log(r.host, r.value.length, "sessions");
   * }
   * ```
   */
  each<T>(
    call: (
      client: SesshClient,
      host: string,
      signal: AbortSignal,
    ) => Promise<T>,
    options: FleetCallOptions = {},
  ): AsyncGenerator<HostResult<T>, void, undefined> {
    return this.#each(
      (client, host, signal) => call(client, host, signal),
      options,
    );
  }

  #each<T>(
    call: (
      client: SesshClient,
      host: string,
      signal: AbortSignal,
      started: number,
    ) => Promise<T>,
    options: FleetCallOptions,
  ): AsyncGenerator<HostResult<T>, void, undefined> {
    const deadlineMs = options.deadlineMs ?? this.#options.deadlineMs ?? 60_000;
    return fanOut(this.hosts, async (host, signal) => {
      const started = performance.now();
      const client = await this.#client(host, deadlineMs, signal);
      return call(client, host, signal, started);
    }, {
      parallel: this.#options.parallel,
      deadlineMs,
      signal: options.signal,
    });
  }

  /**
   * Runs `command` in the session `name` on every host (opening it where
   * it is missing), as `Session.run` does on one.
   *
   * @param name The session, on every host.
   * @param command The command text.
   * @param options As `Session.run`'s, plus the deadline; the wait
   * (`timeoutMs`) defaults to what is left of the deadline after connecting,
   * so a slow command comes back `running` with its cursor.
   * @returns The results, one per host, in the order they finish.
   *
   * @example
   * ```ts ignore
   * for await (const r of fleet.run("work", "uptime")) {
   *   console.log(r.host, r.ok ? r.value.exitCode : r.error.code);
   * }
   * ```
   */
  run(
    name: string,
    command: string,
    options: RunOptions & FleetCallOptions = {},
  ): AsyncGenerator<HostResult<RunResult>, void, undefined> {
    const { deadlineMs, signal, ...run } = options;
    const bound = deadlineMs ?? this.#options.deadlineMs ?? 60_000;
    return this.#each(async (client, _host, abort, started) => {
      return await client.session(name).run(command, {
        ...run,
        // Half a second before the deadline, so that the wait's own end
        // (running, with a cursor) comes back rather than a timeout.
        timeoutMs: run.timeoutMs ??
          Math.max(0, bound - 500 - (performance.now() - started)),
        signal: abort,
      });
    }, { deadlineMs: bound, signal });
  }

  /** Disconnects every client; masters stay up for the next call. */
  async disconnect(): Promise<void> {
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.allSettled(clients.map(async (c) => (await c).disconnect()));
  }

  /** Same as {@linkcode SesshFleet.disconnect}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect();
  }
}
