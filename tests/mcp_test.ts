/**
 * `sessh mcp` through the MCP SDK's own client, over stdio, against the
 * real sshd: the tools and their schemas, state across calls, long commands
 * polled by id with progress, REPL driving, secrets that never reach the
 * model, and the operator's limits.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { listPids, readCmdline } from "../lib/ssh/procfs.ts";
import { filesHolding } from "./_probes.ts";
import { initializeOverStdio } from "./_mcp.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

type Structured = Record<string, unknown>;

/** An MCP client connected to `sessh mcp FLAGS…` for the fixture. */
async function connectMcp(
  sshd: TestSshd,
  flags: string[] = [],
  env: Record<string, string> = {},
): Promise<Client & AsyncDisposable> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "-A", "--quiet", CLI, "mcp", "-F", sshd.configFile, ...flags],
    env: { ...Deno.env.toObject(), ...sshd.env, ...env },
    stderr: "pipe",
  });
  const client = new Client({ name: "sessh-test", version: "1.0.0" });
  await client.connect(transport);
  return Object.assign(client, {
    [Symbol.asyncDispose]: () => client.close(),
  });
}

/** Calls a tool; its structured result, or its error text as `error`. */
async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  options: {
    onprogress?: (p: { progress: number; message?: string }) => void;
  } = {},
): Promise<Structured & { error?: string; text: string }> {
  const result = await client.callTool(
    { name, arguments: args },
    undefined,
    { onprogress: options.onprogress, timeout: 120_000 },
  );
  const text = (result.content as { type: string; text: string }[])
    .map((c) => c.text).join("");
  if (result.isError) return { error: text, text };
  return { ...(result.structuredContent as Structured), text };
}

Deno.test("sessh mcp serves the sessions as tools", async (t) => {
  await using sshd = await startSshd();
  const secret = `mcp-${crypto.randomUUID()}`;
  await using mcp = await connectMcp(
    sshd,
    ["--allow-secret-env", "MCP_TEST_SECRET"],
    { MCP_TEST_SECRET: secret },
  );
  const at = { destination: sshd.dest, session: "m" };
  const returned: string[] = [];
  const run = async (
    name: string,
    args: Record<string, unknown>,
    options = {},
  ) => {
    const result = await call(mcp, name, { ...at, ...args }, options);
    returned.push(JSON.stringify(result));
    return result;
  };

  await t.step("the tools, each with input and output schemas", async () => {
    const { tools } = await mcp.listTools();
    assert.deepEqual(tools.map((tool: { name: string }) => tool.name).sort(), [
      "close",
      "download",
      "history",
      "keys",
      "list",
      "logs",
      "open",
      "result",
      "run",
      "screen",
      "send",
      "status",
      "type_secret",
      "upload",
      "wait",
    ]);
    for (const tool of tools) {
      const input = tool.inputSchema as { properties: Record<string, unknown> };
      assert.ok("destination" in input.properties, tool.name);
      assert.equal(tool.outputSchema?.type, "object", tool.name);
      assert.ok((tool.description ?? "").length > 80, tool.name);
    }
  });

  await t.step(
    "run returns output and exit code, and the shell keeps its state",
    async () => {
      const first = await run("run", {
        command: "cd /tmp && export MCP_X=$((40+2))",
      });
      assert.equal(first.exit_code, 0, first.error);
      const second = await run("run", { command: "echo $MCP_X $PWD; false" });
      assert.equal(second.output, "42 /tmp\n");
      assert.equal(second.exit_code, 1);
      assert.match(second.text, /\[exit 1\]$/);
    },
  );

  await t.step(
    "a run past its timeout is polled by id, with progress while it waits",
    async () => {
      const progress: string[] = [];
      const slow = await run("run", {
        command: "echo working; sleep 3; echo finished-$((6*7))",
        timeout_seconds: 1,
      }, {
        onprogress: (p: { message?: string }) => progress.push(p.message ?? ""),
      });
      assert.equal(slow.running, true);
      assert.match(slow.text, /still running as command \d+/);
      const polled = await run("result", { command_id: slow.command_id });
      assert.equal(polled.running, true);
      const done = await run("wait", { done: true, timeout_seconds: 20 });
      assert.equal(done.met, true);
      assert.equal(done.command_id, slow.command_id);
      assert.equal(done.output, "working\nfinished-42\n");
      const result = await run("result", { command_id: slow.command_id });
      assert.equal(result.exit_code, 0);
      assert.equal(result.output, "working\nfinished-42\n");
      const history = await run("history", {});
      const commands = history.commands as Structured[];
      assert.equal(commands.at(-1)?.command_id, slow.command_id);
      // A 3-second command reports its progress each second.
      const long = await run("run", { command: "sleep 3; echo slept" }, {
        onprogress: (p: { message?: string }) => progress.push(p.message ?? ""),
      });
      assert.equal(long.exit_code, 0);
      assert.ok(progress.length >= 2, `progress: ${JSON.stringify(progress)}`);
      assert.match(progress.at(-1)!, /^\d+ s: /);
    },
  );

  await t.step("a REPL driven with send and wait", async () => {
    const sent = await run("send", { text: "python3 -q", enter: true });
    assert.ok(Number(sent.bytes) > 0, sent.error);
    assert.equal(
      (await run("wait", { for: ">>> $", timeout_seconds: 20 })).met,
      true,
    );
    await run("send", { text: "6 * 7", enter: true });
    const reply = await run("wait", { for: "^42$", timeout_seconds: 20 });
    assert.equal(reply.met, true, JSON.stringify(reply));
    await run("keys", { keys: ["C-d"] });
    assert.equal(
      (await run("wait", { idle_ms: 500, timeout_seconds: 10 })).met,
      true,
    );
  });

  await t.step(
    "type_secret answers read -s; the secret reaches nothing the model sees",
    async () => {
      const refused = await run("type_secret", { env_var: "MCP_TEST_SECRET" });
      assert.match(refused.error ?? "", /^terminal_echoes: /);
      const notAllowed = await run("type_secret", { env_var: "HOME" });
      assert.match(notAllowed.error ?? "", /not one the operator allowed/);
      const asked = await run("run", {
        command:
          "read -r -s -p 'Password: ' pw; echo; echo len=${#pw}; echo \"again $pw\"",
        timeout_seconds: 1,
      });
      assert.equal(asked.running, true);
      assert.equal(
        (await run("wait", {
          for: "Password: $",
          since: 0,
          timeout_seconds: 20,
        })).met,
        true,
      );
      const typed = await run("type_secret", { env_var: "MCP_TEST_SECRET" });
      assert.equal(typed.typed, true, typed.error);
      const done = await run("wait", { done: true, timeout_seconds: 20 });
      assert.match(
        String(done.output),
        new RegExp(`len=${secret.length}\\nagain \\[REDACTED\\]`),
      );
      await run("logs", { lines: 1000 });
      await run("screen", {});
      assert.ok(
        !returned.some((r) => r.includes(secret)),
        "a tool returned it",
      );
      for (const pid of listPids()) {
        assert.ok(
          !(readCmdline(pid)?.join(" ") ?? "").includes(secret),
          `pid ${pid}`,
        );
      }
      // The remote home, runtime, state and cache directories, the daemon's
      // log and the control directory all live under the fixture's directory.
      assert.deepEqual(
        await filesHolding(sshd.dir, new TextEncoder().encode(secret)),
        [],
      );
    },
  );

  await t.step("status, list and close", async () => {
    const status = await run("status", {});
    assert.equal((status.session as Structured).name, "m");
    const list = await call(mcp, "list", { destination: sshd.dest });
    assert.deepEqual((list.sessions as Structured[]).map((s) => s.name), ["m"]);
    const closed = await run("close", {});
    assert.equal(closed.error, undefined);
    const after = await call(mcp, "list", { destination: sshd.dest });
    assert.deepEqual(after.sessions, []);
  });
});

Deno.test("sessh mcp keeps to the operator's limits", async (t) => {
  await using sshd = await startSshd();

  await t.step("--read-only leaves out the tools that type", async () => {
    await using mcp = await connectMcp(sshd, ["--read-only"]);
    const names = (await mcp.listTools()).tools.map((tool: { name: string }) =>
      tool.name
    );
    for (const typing of ["run", "send", "keys", "type_secret", "upload"]) {
      assert.ok(!names.includes(typing), typing);
    }
    assert.ok(names.includes("logs") && names.includes("result"));
    assert.ok(names.includes("download"));
  });

  await t.step(
    "upload and download byte for byte, in the session's directory, only inside the allowed local directories",
    async () => {
      const local = await Deno.realPath(
        await Deno.makeTempDir({ dir: sshd.dir }),
      );
      await using files = await connectMcp(sshd, ["--allow-local-dir", local]);
      // Several parts: progress comes while it copies.
      const data = new Uint8Array(2 << 20);
      for (let at = 0; at < data.length; at += 65536) {
        crypto.getRandomValues(data.subarray(at, at + 65536));
      }
      await Deno.writeFile(`${local}/data.bin`, data);
      await Deno.mkdir(`${sshd.home}/mcp-files`);
      const at = { destination: sshd.dest, session: "m" };
      assert.equal(
        (await call(files, "run", { ...at, command: "cd ~/mcp-files" }))
          .exit_code,
        0,
      );
      const progress: number[] = [];
      const up = await call(files, "upload", {
        ...at,
        local_path: `${local}/data.bin`,
        remote_path: "data.bin",
      }, { onprogress: (p) => progress.push(p.progress) });
      assert.equal(up.error, undefined);
      assert.equal(up.remote_path, `${sshd.home}/mcp-files/data.bin`);
      assert.equal(up.bytes, data.length);
      assert.deepEqual(
        await Deno.readFile(`${sshd.home}/mcp-files/data.bin`),
        data,
      );
      // The SDK's client handles a notification a tick after the response
      // that follows it, so the last one may be lost; the first is not.
      assert.ok(progress.length >= 1);
      assert.ok(progress[0] > 0 && progress[0] <= data.length, `${progress}`);
      assert.deepEqual(progress, [...progress].sort((a, b) => a - b));
      const down = await call(files, "download", {
        ...at,
        remote_path: "data.bin",
        local_path: `${local}/back.bin`,
      });
      assert.equal(down.local_path, `${local}/back.bin`);
      assert.deepEqual(await Deno.readFile(`${local}/back.bin`), data);
      for (
        const [tool, path] of [["upload", "/etc/passwd"], [
          "download",
          `${local}/../escape.bin`,
        ]]
      ) {
        const refused = await call(files, tool, {
          ...at,
          local_path: path,
          remote_path: "data.bin",
        });
        assert.match(
          refused.error ?? "",
          /^usage: .* is outside the local directories the operator allowed/,
        );
      }
      await assert.rejects(Deno.stat(`${local}/../escape.bin`));
      const missing = await call(files, "download", {
        ...at,
        remote_path: "absent.bin",
        local_path: `${local}/absent.bin`,
      });
      assert.match(missing.error ?? "", /^no_file: /);
    },
  );

  await t.step(
    "--allow-host refuses other destinations before connecting",
    async () => {
      await using mcp = await connectMcp(sshd, ["--allow-host", "build-*"]);
      const refused = await call(mcp, "run", {
        destination: sshd.dest,
        session: "x",
        command: "touch never",
      });
      assert.match(
        refused.error ?? "",
        /is not allowed here: .*--allow-host build-\*/,
      );
    },
  );
});

Deno.test("sessh mcp answers on stdout and exits 0 when its input ends", async () => {
  const reply = await initializeOverStdio(
    [Deno.execPath(), "run", "-A", "--quiet", CLI, "mcp"],
    { env: { DENO_NO_UPDATE_CHECK: "1" } },
  );
  assert.equal(reply.id, 1);
  assert.equal(reply.result.serverInfo.name, "sessh");
});

Deno.test("sessh mcp: parallel run calls on two sessions of one host each return their own finished result", async () => {
  await using sshd = await startSshd();
  await using mcp = await connectMcp(sshd);
  const wrong: string[] = [];
  for (let round = 0; round < 20; round++) {
    const results = await Promise.all([0, 1].map((i) =>
      call(mcp, "run", {
        destination: sshd.dest,
        session: `par${i}`,
        command: `echo par${i}-${round}; (exit ${i + 1})`,
        timeout_seconds: 30,
      })
    ));
    results.forEach((result, i) => {
      if (
        result.error || result.running !== false ||
        result.exit_code !== i + 1 || result.output !== `par${i}-${round}\n`
      ) wrong.push(`round ${round} session ${i}: ${result.text}`);
    });
  }
  assert.deepEqual(wrong, []);
});
