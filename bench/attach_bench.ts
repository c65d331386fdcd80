/**
 * `deno task bench:attach [--runs N] [--keystrokes N] [--megabytes N] [--json]`:
 * how `sessh attach` feels to a human on a slow link. A throwaway sshd on
 * 127.0.0.1 is reached through a relay that adds 25 ms each way; the
 * client runs in a real terminal (a tmux pane). Measured:
 *
 * - reconnect: from the link coming back (a healed partition, or a reset)
 *   to the first replayed output on the screen;
 * - keystroke echo: one letter typed at the shell prompt until it is
 *   echoed, next to `ssh -t` through the same relay;
 * - throughput: a flood of output until its last line is on the screen,
 *   next to the same command in the `ssh -t` shell.
 *
 * The `ssh -t` baseline is an interactive shell opened once, so that its
 * connection set-up is not timed, just as sessh's is not.
 *
 * @module
 */
import { SesshClient, type Session } from "../mod.ts";
import { runCommand } from "../lib/process.ts";
import { startSshd, type TestSshd } from "../tests/_sshd.ts";
import { type Relay, startRelay } from "../tests/_relay.ts";
import { startPane, type TmuxPane } from "../tests/_tmux.ts";
import { type EchoTimer, startEchoTimer } from "./_echo_timer.ts";
import {
  type AttachReport,
  attachReportJson,
  type AttachRunInfo,
  buildAttachReport,
  formatAttachReport,
  type Measured,
} from "./_attach_report.ts";
import { parseBenchOptions, positiveInteger } from "./_options.ts";

/** The command line's options. */
interface AttachBenchOptions {
  /** Measured repetitions of each reconnect and throughput case. */
  runs: number;
  /** Measured keystrokes per client. */
  keystrokes: number;
  /** Megabytes of output per throughput run. */
  megabytes: number;
  /** Print JSON instead of the table. */
  json?: boolean;
}

/** A terminal client under test, in its pane at a shell prompt. */
interface Client {
  /** `sessh` or `ssh`, used in case keys. */
  key: string;
  /** How the client was started, for the table. */
  label: string;
  /** The terminal the client runs in. */
  pane: TmuxPane;
  /** The shell prompt's line, as the screen shows it. */
  prompt: string;
}

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const SESSION = "bench";
const DELAY_MS = 25;
const COLS = 100;
const ROWS = 30;
const PROMPT = /[#$]$/;
const LOST = /\[sessh\] connection lost; reconnecting/;
/** Letters typed for the echo: rarely printed, so stray output is not mistaken for one. */
const LETTERS = "zqjxkv";
const ECHO_WARMUP = 3;
const RECONNECT_POLL_MS = 10;
const THROUGHPUT_POLL_MS = 25;
const PROMPT_POLL_MS = 5;
const STEP_TIMEOUT_MS = 30_000;
const FLOOD_TIMEOUT_MS = 180_000;

function parseOptions(args: string[]) {
  return parseBenchOptions(
    "deno task bench:attach",
    "time sessh attach against ssh -t through a loopback relay with 25 ms each way",
    {
      runs: {
        brief: "measured repetitions of each reconnect and throughput case",
        parse: positiveInteger,
        default: 5,
      },
      keystrokes: {
        brief: "measured keystrokes per client",
        parse: positiveInteger,
        default: 30,
      },
      megabytes: {
        brief: "megabytes of output per throughput run",
        parse: positiveInteger,
        default: 50,
      },
    },
    args,
  );
}

async function firstLine(argv: string[]): Promise<string> {
  const result = await runCommand(argv, { timeoutMs: STEP_TIMEOUT_MS });
  const decoder = new TextDecoder();
  // ssh -V prints to stderr.
  const text = decoder.decode(result.stdout) + decoder.decode(result.stderr);
  return text.trim().split("\n")[0];
}

async function runInfo(options: AttachBenchOptions): Promise<AttachRunInfo> {
  return {
    deno: await firstLine([Deno.execPath(), "--version"]),
    ssh: await firstLine(["ssh", "-V"]),
    tmux: await firstLine(["tmux", "-V"]),
    cores: navigator.hardwareConcurrency,
    delayMs: DELAY_MS,
    runs: options.runs,
    keystrokes: options.keystrokes,
    megabytes: options.megabytes,
    echoWarmup: ECHO_WARMUP,
    reconnectPollMs: RECONNECT_POLL_MS,
    throughputPollMs: THROUGHPUT_POLL_MS,
  };
}

/** `sessh attach` through the relay, in a pane. */
async function attachClient(sshd: TestSshd, relay: Relay): Promise<Client> {
  const argv = [
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    CLI,
    "attach",
    SESSION,
    sshd.dest,
    "-p",
    String(relay.port),
    "-F",
    sshd.configFile,
  ];
  const pane = await startPane(argv, { cols: COLS, rows: ROWS, env: sshd.env });
  return await atPrompt("sessh", "sessh attach (relay)", pane);
}

/** An interactive `ssh -t` through the relay, in a pane. */
async function sshClient(sshd: TestSshd, relay: Relay): Promise<Client> {
  const argv = [
    "ssh",
    "-t",
    "-p",
    String(relay.port),
    "-F",
    sshd.configFile,
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=accept-new",
    sshd.dest,
  ];
  const pane = await startPane(argv, { cols: COLS, rows: ROWS });
  return await atPrompt("ssh", "ssh -t (relay)", pane);
}

async function atPrompt(
  key: string,
  label: string,
  pane: TmuxPane,
): Promise<Client> {
  try {
    const screen = await pane.waitFor(PROMPT, STEP_TIMEOUT_MS, 50);
    return { key, label, pane, prompt: lastLine(screen) };
  } catch (error) {
    await pane[Symbol.asyncDispose]();
    throw error;
  }
}

function lastLine(screen: string): string {
  return screen.slice(screen.lastIndexOf("\n") + 1);
}

/** Clears the command line and waits until only the prompt is left. */
async function clearLine(client: Client): Promise<void> {
  await client.pane.keys("C-u");
  await client.pane.waitFor(
    new RegExp(`(^|\\n)${escapeRegExp(client.prompt)}$`),
    STEP_TIMEOUT_MS,
    PROMPT_POLL_MS,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Keystroke echo: each sample clears the line, waits a random moment (so
 * that samples do not lock to any timer's phase), then types one letter.
 * The clients take turns, each going first every other round.
 */
async function measureEcho(
  clients: Client[],
  keystrokes: number,
  signal: AbortSignal,
): Promise<Measured[]> {
  const samples = new Map(clients.map((c) => [c.key, [] as number[]]));
  const timers = new Map<string, EchoTimer>();
  try {
    for (const client of clients) {
      timers.set(client.key, await startEchoTimer(client.pane));
    }
    for (let round = 0; round < ECHO_WARMUP + keystrokes; round++) {
      if (round === ECHO_WARMUP) {
        progress(`echo: ${keystrokes} keystrokes each`);
      }
      for (const client of turns(clients, round)) {
        signal.throwIfAborted();
        await clearLine(client);
        await delay(20 + Math.random() * 30);
        const letter = LETTERS[round % LETTERS.length];
        const ms = await timers.get(client.key)!.echoMs(
          letter,
          STEP_TIMEOUT_MS,
        );
        if (round >= ECHO_WARMUP) samples.get(client.key)!.push(ms);
      }
    }
  } finally {
    for (const timer of timers.values()) await timer[Symbol.asyncDispose]();
  }
  return clients.map((c) => ({
    key: `echo-${c.key}`,
    label: `keystroke echo, ${c.label}`,
    samples: samples.get(c.key)!,
  }));
}

/** The clients in the order they take their turn in `round`. */
function turns(clients: Client[], round: number): Client[] {
  return round % 2 === 0 ? clients : clients.toReversed();
}

/**
 * Throughput: types a command that prints `megabytes` MB in lines of 100
 * characters, then a marker line, and times Enter to the marker being on
 * the screen. One unmeasured round of a tenth of the size warms up.
 */
async function measureThroughput(
  clients: Client[],
  options: AttachBenchOptions,
  signal: AbortSignal,
): Promise<Measured[]> {
  const samples = new Map(clients.map((c) => [c.key, [] as number[]]));
  const bytes = options.megabytes * 1_000_000;
  for (let round = 0; round <= options.runs; round++) {
    const warmup = round === 0;
    if (round === 1) progress(`throughput: ${options.runs} runs each`);
    for (const client of turns(clients, round)) {
      signal.throwIfAborted();
      const ms = await floodOnce(
        client,
        warmup ? Math.ceil(bytes / 10) : bytes,
        round,
      );
      if (!warmup) samples.get(client.key)!.push(ms);
    }
  }
  return clients.map((c) => ({
    key: `throughput-${c.key}`,
    label: `${options.megabytes} MB of output, ${c.label}`,
    samples: samples.get(c.key)!,
    megabytes: options.megabytes,
  }));
}

async function floodOnce(
  client: Client,
  bytes: number,
  n: number,
): Promise<number> {
  await clearLine(client);
  // The typed line reads DONE-$((n))-x: only the output matches the marker.
  await client.pane.type(
    `head -c ${bytes} /dev/zero | tr '\\0' x | fold -w 100; echo DONE-$((${n}))-x`,
  );
  const started = performance.now();
  await client.pane.keys("Enter");
  await client.pane.waitFor(
    new RegExp(`^DONE-${n}-x$`, "m"),
    FLOOD_TIMEOUT_MS,
    THROUGHPUT_POLL_MS,
  );
  return performance.now() - started;
}

/** What the reconnect rounds need. */
interface ReconnectRig {
  /** The attached client. */
  client: Client;
  relay: Relay;
  /** The same session, reached directly rather than through the relay. */
  direct: Session;
}

/**
 * Reconnects, alternating which variant goes first; one unmeasured round
 * of each warms up. Returns the time to notice a partition as well.
 */
async function measureReconnect(
  rig: ReconnectRig,
  runs: number,
  signal: AbortSignal,
): Promise<Measured[]> {
  const noticed: number[] = [];
  const partitioned: number[] = [];
  const reset: number[] = [];
  let n = 0;
  for (let round = 0; round <= runs; round++) {
    if (round === 1) progress(`reconnect: ${runs} runs of each variant`);
    const variants = [
      async () => {
        const result = await afterPartition(rig, ++n);
        if (round > 0) {
          noticed.push(result.noticedMs);
          partitioned.push(result.reconnectMs);
        }
      },
      async () => {
        const ms = await afterReset(rig, ++n);
        if (round > 0) reset.push(ms);
      },
    ];
    for (const variant of round % 2 === 0 ? variants : variants.toReversed()) {
      signal.throwIfAborted();
      await variant();
    }
  }
  return [
    {
      key: "partition-noticed",
      label: "partition noticed (cut to message)",
      samples: noticed,
    },
    {
      key: "reconnect-partition",
      label: "reconnect after a partition (heal to output)",
      samples: partitioned,
    },
    {
      key: "reconnect-reset",
      label: "reconnect after a reset (reset to output)",
      samples: reset,
    },
  ];
}

/**
 * Cuts the link until the client says so, has the session print a marker
 * meanwhile, then heals the link and times until the marker is replayed.
 */
async function afterPartition(
  { client, relay, direct }: ReconnectRig,
  n: number,
): Promise<{ noticedMs: number; reconnectMs: number }> {
  await ensureLive(client, n);
  relay.partition();
  try {
    const cut = performance.now();
    await client.pane.waitFor(LOST, STEP_TIMEOUT_MS, RECONNECT_POLL_MS);
    const noticedMs = performance.now() - cut;
    await printMarker(direct, n);
    relay.heal();
    return { noticedMs, reconnectMs: await untilMarker(client, n) };
  } finally {
    // Healing twice is harmless; a failed step must not leave the link cut.
    relay.heal();
  }
}

/**
 * Holds the link while the session prints a marker, then resets every
 * connection and lets new ones through at once, and times until the
 * marker is replayed.
 */
async function afterReset(
  { client, relay, direct }: ReconnectRig,
  n: number,
): Promise<number> {
  await ensureLive(client, n);
  relay.partition();
  try {
    await printMarker(direct, n);
  } finally {
    relay.reset();
    relay.heal();
  }
  return await untilMarker(client, n);
}

/** Runs a command in the attached shell and waits for its output. */
async function ensureLive(client: Client, n: number): Promise<void> {
  await clearLine(client);
  await client.pane.type(`echo LIVE-$((${n}))-x`);
  await client.pane.keys("Enter");
  await client.pane.waitFor(
    new RegExp(`^LIVE-${n}-x$`, "m"),
    STEP_TIMEOUT_MS,
    RECONNECT_POLL_MS,
  );
}

async function printMarker(direct: Session, n: number): Promise<void> {
  const result = await direct.run(`echo MARK-$((${n}))-x`, {
    timeoutMs: STEP_TIMEOUT_MS,
  });
  if (result.exitCode !== 0) {
    throw new Error(`The marker command ended with ${result.exitCode}`);
  }
}

async function untilMarker(client: Client, n: number): Promise<number> {
  const started = performance.now();
  await client.pane.waitFor(
    new RegExp(`^MARK-${n}-x$`, "m"),
    STEP_TIMEOUT_MS,
    RECONNECT_POLL_MS,
  );
  return performance.now() - started;
}

async function connect(sshd: TestSshd): Promise<SesshClient> {
  return await SesshClient.connect({
    destination: sshd.dest,
    ssh: { configFile: sshd.configFile },
    env: { ...Deno.env.toObject(), ...sshd.env },
  });
}

/** Echo and throughput of the attached client next to an `ssh -t` shell. */
async function compareWithSsh(
  sshd: TestSshd,
  relay: Relay,
  attached: Client,
  options: AttachBenchOptions,
  signal: AbortSignal,
): Promise<Measured[]> {
  const ssh = await sshClient(sshd, relay);
  await using _pane = ssh.pane;
  const clients = [attached, ssh];
  return [
    ...await measureEcho(clients, options.keystrokes, signal),
    ...await measureThroughput(clients, options, signal),
  ];
}

async function bench(
  options: AttachBenchOptions,
  signal: AbortSignal,
): Promise<AttachReport> {
  const info = await runInfo(options);
  progress("starting a loopback sshd, a relay and a session");
  await using sshd = await startSshd();
  await using relay = startRelay(sshd.port, { delayMs: DELAY_MS });
  await using direct = await connect(sshd);
  const session = direct.session(SESSION);
  await session.open();
  progress("attaching through the relay");
  const attached = await attachClient(sshd, relay);
  await using _pane = attached.pane;
  // The ssh shell goes away first: the relay's cuts would cut it too.
  const compared = await compareWithSsh(sshd, relay, attached, options, signal);
  const reconnects = await measureReconnect(
    { client: attached, relay, direct: session },
    options.runs,
    signal,
  );
  return buildAttachReport(info, [...reconnects, ...compared]);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function progress(message: string): void {
  console.error(`bench:attach: ${message}`);
}

/**
 * Parses the arguments, runs the benchmark and prints its report. Ctrl-C
 * stops it after the current step; everything it started (sshd, relay,
 * tmux servers, sessions) is cleaned up either way. Other failures are
 * thrown.
 *
 * @param args Arguments after the script name.
 * @returns The exit code: 0, 2 for a usage error, 130 when interrupted.
 *
 * @example
 * ```ts ignore
 * import { main } from "./attach_bench.ts";
 * Deno.exit(await main(["--runs", "3"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const parsed = await parseOptions(args);
  if (typeof parsed === "number") return parsed;
  const options: AttachBenchOptions = parsed;
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    const report = await bench(options, abort.signal);
    console.log(
      options.json ? attachReportJson(report) : formatAttachReport(report),
    );
    return 0;
  } catch (error) {
    if (!abort.signal.aborted) throw error;
    progress("interrupted; cleaned up");
    return 130;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
