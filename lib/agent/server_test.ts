import assert from "node:assert/strict";
import { poolKey, runAgent } from "./server.ts";
import {
  AGENT_PROTOCOL,
  agentFiles,
  KEY_LENGTH,
  type LeaseRequest,
  parseAgentKeys,
  parsePort,
} from "../transport/agent_protocol.ts";
import { encodeFrame } from "../protocol/frame.ts";
import {
  encodeCallRequest,
  RECORD,
  RecordReader,
  type ThinRecord,
} from "../transport/thin_wire.ts";

const request = (
  env: Record<string, string>,
  ssh: LeaseRequest["ssh"] = { configFile: "/c", options: [] },
): LeaseRequest => ({
  op: "lease",
  version: "v",
  destination: "box",
  ssh,
  env,
  timeout_ms: 1000,
});

Deno.test("poolKey() is the same whatever order a call lists its environment and flags in", () => {
  assert.equal(
    poolKey(request({ HOME: "/h", SESSH_CONTROL_DIR: "/c" })),
    poolKey(request({ SESSH_CONTROL_DIR: "/c", HOME: "/h" })),
  );
  assert.equal(
    poolKey(request({}, { configFile: "/c", port: "22" })),
    poolKey(request({}, { port: "22", configFile: "/c" })),
  );
});

Deno.test("poolKey() tells apart calls whose ssh would differ", () => {
  assert.notEqual(
    poolKey(request({ SESSH_IDENTITY: "/a" })),
    poolKey(request({ SESSH_IDENTITY: "/b" })),
  );
  assert.notEqual(
    poolKey(request({}, { port: "22" })),
    poolKey(request({}, { port: "2222" })),
  );
});

Deno.test("runAgent() retires after its idle time while calls that borrow nothing keep coming", async () => {
  const dir = await Deno.makeTempDir();
  const controlDir = `${dir}/ctl`;
  const { socket, token } = agentFiles(controlDir, "unix");
  let finished = false;
  const agent = runAgent({ controlDir, idleMs: 1500, listen: "unix" }).then(
    () => {
      finished = true;
    },
  );
  try {
    const deadline = Date.now() + 8000;
    while (!finished && Date.now() < deadline) {
      try {
        const conn = await Deno.connect({ transport: "unix", path: socket });
        const keys = parseAgentKeys(await Deno.readTextFile(token))!;
        await conn.write(new TextEncoder().encode(keys.call));
        await conn.write(encodeFrame({ op: "not-a-lease" }));
        conn.close();
      } catch {
        // Not listening yet, or retired.
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.ok(finished, "the agent is still running after 8 s");
  } finally {
    // A running agent retires once its socket is gone.
    await Deno.remove(socket).catch(() => {});
    await agent;
    await Deno.remove(dir, { recursive: true });
  }
});

/** An agent on TCP in a temporary control directory, stopped on dispose. */
async function tcpAgent() {
  const dir = await Deno.makeTempDir();
  const controlDir = `${dir}/ctl`;
  const files = agentFiles(controlDir, "tcp");
  const running = runAgent({ controlDir, listen: "tcp" });
  const deadline = Date.now() + 10_000;
  let port: number | null = null;
  while (port === null) {
    assert.ok(Date.now() < deadline, "the agent wrote no port file in 10 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
    port = parsePort(await Deno.readTextFile(files.port).catch(() => ""));
  }
  return {
    files,
    port,
    async [Symbol.asyncDispose]() {
      // A running agent retires once its port file is gone.
      await Deno.remove(files.port).catch(() => {});
      await running;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Everything the agent sends on a connection that sends `bytes`. */
async function answerTo(port: number, bytes: Uint8Array): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(bytes);
  const got: number[] = [];
  const buffer = new Uint8Array(1024);
  const timer = setTimeout(() => conn.close(), 8000);
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      got.push(...buffer.subarray(0, n));
      // The agent key and a frame: the call key was taken.
      if (got.length > KEY_LENGTH) break;
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
  return new Uint8Array(got);
}

Deno.test("runAgent() on TCP writes its port to a 0600 file and listens on 127.0.0.1 only", async () => {
  await using agent = await tcpAgent();
  assert.equal((await Deno.stat(agent.files.port)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(agent.files.token)).mode! & 0o777, 0o600);
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.2", port: agent.port }),
    "another loopback address is not served",
  );
  (await Deno.connect({ hostname: "127.0.0.1", port: agent.port })).close();
  assert.match(
    agent.files.port,
    new RegExp(`agent-${AGENT_PROTOCOL}-.*-tcp\\.port$`),
  );
});

Deno.test("runAgent() on TCP closes a connection with a wrong key without a byte, and stays up", async () => {
  await using agent = await tcpAgent();
  const keys = parseAgentKeys(await Deno.readTextFile(agent.files.token))!;
  const encoder = new TextEncoder();
  const lease = encodeFrame({ op: "lease", version: "v" });
  const wrong = keys.call.slice(0, -1) + (keys.call.endsWith("0") ? "1" : "0");
  for (const attempt of [wrong, "x".repeat(KEY_LENGTH), keys.agent]) {
    const bytes = new Uint8Array([...encoder.encode(attempt), ...lease]);
    assert.deepEqual(await answerTo(agent.port, bytes), new Uint8Array());
  }
  const right = await answerTo(
    agent.port,
    new Uint8Array([...encoder.encode(keys.call), ...lease]),
  );
  assert.equal(
    new TextDecoder().decode(right.subarray(0, KEY_LENGTH)),
    keys.agent,
    "the agent is still up and answers the right key with its own",
  );
});

/**
 * Starts a worker that watches `files` from another thread, as closely as
 * lstat allows, while an agent starts on this one; it reports what it saw
 * the first time the socket was there. With `remove`, it then removes the
 * socket and the token, as a call that judged them foreign does.
 */
function watchStart(
  files: { socket: string; token: string },
  remove: boolean,
): Promise<{ socketMode: number; token: string | null }> {
  const code = `
    const { socket, token, remove } = ${
    JSON.stringify({ socket: files.socket, token: files.token, remove })
  };
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      let info;
      try { info = Deno.lstatSync(socket); } catch { continue; }
      let text = null;
      try { text = Deno.readTextFileSync(token); } catch { /* none yet */ }
      if (remove) {
        for (const path of [socket, token]) {
          try { Deno.removeSync(path); } catch { /* gone */ }
        }
      }
      self.postMessage({ socketMode: info.mode & 0o777, token: text });
      self.close();
    }
    self.postMessage({ socketMode: -1, token: null });
    self.close();
  `;
  const worker = new Worker(
    URL.createObjectURL(new Blob([code], { type: "text/javascript" })),
    { type: "module" },
  );
  return new Promise((resolve) => {
    worker.onmessage = (event) => {
      worker.terminate();
      resolve(event.data);
    };
  });
}

Deno.test("runAgent() on a Unix socket: at their paths, its socket is 0600 and its token whole from the first moment, whatever the umask", async () => {
  const dir = await Deno.makeTempDir();
  const controlDir = `${dir}/ctl`;
  await Deno.mkdir(controlDir, { mode: 0o700 });
  const files = agentFiles(controlDir, "unix");
  const umask = Deno.umask(0o022);
  try {
    const seen = watchStart(files, false);
    const running = runAgent({ controlDir, listen: "unix" });
    const first = await seen;
    assert.notEqual(first.socketMode, -1, "the socket appeared within 10 s");
    // A call takes a socket with any group or other bit for someone
    // else's and removes it.
    assert.equal(first.socketMode.toString(8), "600");
    assert.ok(
      first.token !== null && parseAgentKeys(first.token) !== null,
      `the token was whole once the socket was there: ${first.token}`,
    );
    await Deno.remove(files.socket);
    await running;
  } finally {
    Deno.umask(umask);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runAgent() retires when a call removes its files the moment they appear, before it watches them", async () => {
  const dir = await Deno.makeTempDir();
  const controlDir = `${dir}/ctl`;
  await Deno.mkdir(controlDir, { mode: 0o700 });
  const files = agentFiles(controlDir, "unix");
  try {
    const removed = watchStart(files, true);
    const running = runAgent({ controlDir, listen: "unix" });
    assert.notEqual((await removed).socketMode, -1, "the socket appeared");
    // Held by an agent with no socket, the lock would keep every agent a
    // call starts from serving until the idle time (30 minutes) ran out.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      running.then(() => "retired"),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve("still running"), 10_000);
      }),
    ]);
    clearTimeout(timer);
    assert.equal(outcome, "retired");
    const log = await Deno.readTextFile(files.log);
    assert.match(log, /retiring: its (socket or port file|token file) was/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runAgent() gives memory back once after its last call, not between two calls", async () => {
  const dir = await Deno.makeTempDir();
  const controlDir = `${dir}/ctl`;
  const { socket, token } = agentFiles(controlDir, "unix");
  const AFTER_MS = 300;
  let releases = 0;
  let released = () => {};
  const running = runAgent({
    controlDir,
    listen: "unix",
    releaseAfterMs: AFTER_MS,
    releaseMemory: () => {
      releases++;
      released();
      return Promise.resolve();
    },
  });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** The next release, or a failure after 10 s. */
  const nextRelease = () =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("no release in 10 s")),
        10_000,
      );
      released = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  /** A call that stays open until closed (the agent waits for its lease). */
  const open = async () => {
    const conn = await Deno.connect({ transport: "unix", path: socket });
    const keys = parseAgentKeys(await Deno.readTextFile(token))!;
    await conn.write(new TextEncoder().encode(keys.call));
    return conn;
  };
  /** A call that the agent declines and ends. */
  const call = async () => {
    const conn = await open();
    await conn.write(encodeFrame({ op: "not-a-lease" }));
    const timer = setTimeout(() => conn.close(), 8000);
    try {
      const buffer = new Uint8Array(1024);
      while (await conn.read(buffer) !== null);
    } finally {
      clearTimeout(timer);
      try {
        conn.close();
      } catch { /* closed by the timer */ }
    }
  };
  try {
    const deadline = Date.now() + 10_000;
    // Its socket is there once it listens (the token came before).
    while (!await Deno.stat(socket).then(() => true, () => false)) {
      assert.ok(Date.now() < deadline, "the agent did not listen in 10 s");
      await sleep(50);
    }
    // A call that ends with another right behind it: nothing between them.
    await call();
    const held = await open();
    await sleep(4 * AFTER_MS);
    assert.equal(releases, 0, "released between two calls");
    // The last call ends: once after it, and not again while none comes.
    let release = nextRelease();
    held.close();
    await release;
    await sleep(4 * AFTER_MS);
    assert.equal(releases, 1, "released more than once after the last call");
    // The next burst of calls earns the next release.
    release = nextRelease();
    await call();
    await release;
    assert.equal(releases, 2);
  } finally {
    // A running agent retires once its socket is gone.
    await Deno.remove(socket).catch(() => {});
    await running;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runAgent() says a thin call is alive while it runs quiet, between its records", async () => {
  const dir = await Deno.makeTempDir();
  const controlDir = `${dir}/ctl`;
  const { socket, token } = agentFiles(controlDir, "unix");
  const agent = runAgent({
    controlDir,
    listen: "unix",
    version: "v",
    aliveMs: 20,
    runCall: async (_call, io) => {
      // Quiet for many beats, then a flood of records a beat must not cut.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await Promise.all(
        Array.from(
          { length: 50 },
          () => io.send(RECORD.stdout, new Uint8Array(100_000).fill(7)),
        ),
      );
      return 0;
    },
  });
  try {
    let conn: Deno.Conn | null = null;
    for (let i = 0; i < 200 && conn === null; i++) {
      conn = await Deno.connect({ transport: "unix", path: socket })
        .catch(() => null);
      if (conn === null) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(conn, "the agent did not listen");
    const keys = parseAgentKeys(await Deno.readTextFile(token))!;
    await conn.write(new TextEncoder().encode(keys.call));
    await conn.write(encodeCallRequest("v", {
      argv: ["status", "w", "box"],
      env: Deno.env.toObject(),
      cwd: dir,
      stdoutTerminal: false,
      stderrTerminal: false,
      columns: null,
    }));
    const reader = new RecordReader();
    const records: ThinRecord[] = [];
    const buffer = new Uint8Array(65_536);
    let skip = KEY_LENGTH;
    // Records cut into one another read as garbage, which may never end.
    const stuck = setTimeout(() => conn.close(), 20_000);
    while (records.at(-1)?.kind !== RECORD.exit) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      const chunk = buffer.subarray(Math.min(skip, n), n);
      skip = Math.max(0, skip - n);
      for (const record of reader.push(chunk)) {
        records.push({ kind: record.kind, bytes: record.bytes.slice() });
      }
    }
    clearTimeout(stuck);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
    const kinds = records.map((r) => r.kind);
    const firstOutput = kinds.indexOf(RECORD.stdout);
    assert.ok(
      kinds.slice(0, firstOutput).filter((k) => k === RECORD.alive).length >=
        2,
      `beats before the output: ${kinds.slice(0, firstOutput)}`,
    );
    const output = records.filter((r) => r.kind === RECORD.stdout);
    assert.equal(output.reduce((n, r) => n + r.bytes.length, 0), 5_000_000);
    assert.ok(output.every((r) => r.bytes.every((b) => b === 7)));
    assert.equal(kinds.at(-1), RECORD.exit);
  } finally {
    await Deno.remove(socket).catch(() => {});
    await agent;
    await Deno.remove(dir, { recursive: true });
  }
});
