/**
 * `sessh mcp` through the MCP SDK's own client, over stdio, against the
 * real sshd: the tools and their schemas, state across calls, long commands
 * polled by id with progress, REPL driving, secrets that never reach the
 * model, and the operator's limits.
 */
import assert from "node:assert/strict";
import { startSshd, usesControlMaster } from "./_sshd.ts";
import { listPids, readCmdline } from "../lib/ssh/procfs.ts";
import { filesHolding } from "./_probes.ts";
import {
  call,
  CLI,
  connectMcp,
  initializeOverStdio,
  type McpClient,
} from "./_mcp.ts";
import * as shapes from "../lib/report/shapes.ts";

type Structured = Record<string, unknown>;

/** A JSON schema object's property types: `number`, or `number?` if nullable. */
function propertyTypes(schema: unknown): Record<string, string> {
  type Property = {
    type?: string | string[];
    anyOf?: { type: string }[];
    items?: { type: string };
  };
  const properties = (schema as { properties: Record<string, Property> })
    .properties;
  return Object.fromEntries(
    Object.entries(properties).map(([key, { type, anyOf, items }]) => [
      key,
      // A nullable field: its type and null, as a list of types or as
      // `anyOf` (what zod writes for a nullable object or array).
      Array.isArray(type)
        ? `${type.find((t) => t !== "null")}?`
        : anyOf
        ? `${anyOf.find((t) => t.type !== "null")?.type}?`
        : type === "array"
        ? `${items?.type}[]`
        : String(type),
    ]),
  );
}

/** A tool as tools/list gives it (the parts checked). */
type ListedTool = {
  name: string;
  description?: string;
  annotations?: Record<string, unknown>;
};

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

  await t.step(
    "the tools, each with input and output schemas and hints true to what it does",
    async () => {
      const { tools } = await mcp.listTools();
      assert.deepEqual(
        tools.map((tool: { name: string }) => tool.name).sort(),
        [
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
        ],
      );
      for (const tool of tools) {
        const input = tool.inputSchema as {
          properties: Record<string, unknown>;
        };
        assert.ok("destination" in input.properties, tool.name);
        assert.equal(tool.outputSchema?.type, "object", tool.name);
        assert.ok((tool.description ?? "").length > 20, tool.name);
      }
      const observes = {
        readOnlyHint: true,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: true,
      };
      const acts = {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: true,
      };
      const expected: Record<string, typeof acts> = {
        open: { ...acts, destructiveHint: false, idempotentHint: true },
        run: acts,
        send: acts,
        keys: acts,
        type_secret: acts,
        close: { ...acts, idempotentHint: true },
        upload: { ...acts, idempotentHint: true },
        download: { ...acts, idempotentHint: true },
        logs: observes,
        screen: observes,
        wait: observes,
        status: observes,
        list: observes,
        result: observes,
        history: observes,
      };
      assert.deepEqual(
        Object.fromEntries(
          tools.map((tool: ListedTool) => [tool.name, tool.annotations]),
        ),
        expected,
      );
    },
  );

  await t.step(
    "the workflow is said once, in the instructions; descriptions are short and in the tools' own terms",
    async () => {
      const instructions = mcp.getInstructions() ?? "";
      assert.match(instructions, /^sessh keeps shells alive on remote hosts/);
      assert.match(instructions, /wait with done: true/);
      const { tools } = await mcp.listTools();
      let total = 0;
      for (const tool of tools) {
        const description = tool.description ?? "";
        total += description.length;
        assert.ok(!description.includes("--"), `${tool.name}: ${description}`);
        assert.ok(!description.includes("sessh keeps"), tool.name);
      }
      // 4,433 characters when each repeated the workflow.
      assert.ok(total < 2000, `${total} characters`);
    },
  );

  await t.step(
    "the output schemas are the descriptors of lib/report/shapes.ts",
    async () => {
      const schemas = Object.fromEntries(
        (await mcp.listTools()).tools.map((
          tool: { name: string; outputSchema?: unknown },
        ) => [tool.name, tool.outputSchema]),
      );
      // deno-lint-ignore no-explicit-any
      const inner = (schema: any, key: string) =>
        schema.properties[key].items ?? schema.properties[key];
      const derived = {
        open: propertyTypes(schemas.open),
        run: propertyTypes(schemas.run),
        runHost: propertyTypes(inner(schemas.run, "results")),
        runSummary: propertyTypes(inner(schemas.run, "summary")),
        wait: propertyTypes(schemas.wait),
        result: propertyTypes(schemas.result),
        history: propertyTypes(inner(schemas.history, "commands")),
        status: propertyTypes(inner(schemas.status, "session")),
        status_path: propertyTypes(inner(schemas.status, "path")),
        list: propertyTypes(inner(schemas.list, "sessions")),
        send: propertyTypes(schemas.send),
        keys: propertyTypes(schemas.keys),
        type_secret: propertyTypes(schemas.type_secret),
        close: propertyTypes(schemas.close),
        logs: propertyTypes(schemas.logs),
        screen: propertyTypes(schemas.screen),
        upload: propertyTypes(schemas.upload),
        download: propertyTypes(schemas.download),
      };
      assert.deepEqual(derived, {
        open: shapes.OPEN_RESULT,
        // With destinations, run returns results per host and a summary.
        run: { ...shapes.RUN_RESULT, results: "object[]", summary: "object" },
        runHost: {
          ...shapes.FLEET_HOST,
          ...shapes.RUN_RESULT,
          error: "object",
        },
        runSummary: shapes.FLEET_SUMMARY,
        wait: shapes.WAIT_RESULT,
        result: shapes.COMMAND_RESULT,
        history: shapes.COMMAND_RECORD,
        status: shapes.SESSION_INFO,
        status_path: shapes.CALL_PATH,
        list: shapes.SESSION_INFO,
        send: shapes.SEND_RESULT,
        keys: shapes.KEYS_RESULT,
        type_secret: shapes.SECRET_RESULT,
        close: shapes.CLOSE_RESULT,
        logs: shapes.LOGS_RESULT,
        screen: shapes.SCREEN_RESULT,
        upload: shapes.FILE_TRANSFER,
        download: shapes.FILE_TRANSFER,
      });
    },
  );

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

  await t.step("screen says when a full-screen program holds it", async () => {
    await run("send", {
      text:
        "printf '\\033[?1049h%s' full-$((6*7)); read; printf '\\033[?1049l'",
      enter: true,
    });
    assert.equal(
      (await run("wait", { for: "full-42", timeout_seconds: 20 })).met,
      true,
    );
    const full = await run("screen", {});
    assert.equal(full.alt_screen, true, JSON.stringify(full));
    assert.equal(
      (full.lines as string[])[full.cursor_row as number],
      "full-42",
    );
    await run("send", { text: "", enter: true });
    assert.equal(
      (await run("wait", { done: true, timeout_seconds: 20 })).exit_code,
      0,
    );
    assert.equal((await run("screen", {})).alt_screen, false);
  });

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
    assert.equal(
      (status.path as Structured).transport,
      usesControlMaster() ? "controlmaster" : "direct",
    );
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

  await t.step("--read-only offers only the tools that observe", async () => {
    await using mcp = await connectMcp(sshd, [
      "--read-only",
      "--allow-secret-env",
      "HOME",
    ]);
    const { tools } = await mcp.listTools();
    assert.deepEqual(tools.map((tool: ListedTool) => tool.name).sort(), [
      "history",
      "list",
      "logs",
      "result",
      "screen",
      "status",
      "wait",
    ]);
    for (const tool of tools) {
      assert.equal(tool.annotations?.readOnlyHint, true, tool.name);
    }
    const refused = await mcp.callTool({
      name: "close",
      arguments: { destination: sshd.dest, session: "m" },
    });
    assert.equal(refused.isError, true);
  });

  await t.step(
    "type_secret is offered only when a secret is allowed",
    async () => {
      await using mcp = await connectMcp(sshd);
      const names = (await mcp.listTools()).tools.map((tool: ListedTool) =>
        tool.name
      );
      assert.ok(names.includes("run"));
      assert.ok(!names.includes("type_secret"));
      await using allowed = await connectMcp(sshd, [
        "--allow-secret-file",
        "/dev/null",
      ]);
      const tool = (await allowed.listTools()).tools.find((tool: ListedTool) =>
        tool.name === "type_secret"
      );
      assert.match(tool?.description ?? "", /named by env_var or file/);
    },
  );

  await t.step(
    "open starts only a shell the host lists in /etc/shells",
    async () => {
      await using mcp = await connectMcp(sshd);
      const at = { destination: sshd.dest, session: "sh" };
      for (const shell of ["/usr/bin/mktemp", "mktemp", "/bin/../bin/sh"]) {
        const refused = await call(mcp, "open", { ...at, shell });
        assert.match(
          refused.error ?? "",
          new RegExp(
            `^bad_shell: Shell "${
              shell.replaceAll(".", "\\.")
            }" is not a login shell`,
          ),
        );
      }
      assert.deepEqual(
        (await call(mcp, "list", { destination: sshd.dest })).sessions,
        [],
      );
      const opened = await call(mcp, "open", { ...at, shell: "/bin/sh" });
      assert.equal(opened.shell, "/bin/sh", opened.error);
      await call(mcp, "close", at);
    },
  );

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

  await t.step(
    "a run refused by its input schema, the host limits or a human never reaches the host",
    async () => {
      // Each refusal is checked by what reached the host, not only by the
      // error the model reads: a run sent before its refusal would leave
      // its file behind.
      const exists = (name: string) =>
        Deno.stat(`${sshd.home}/${name}`).then(() => true, () => false);
      await using mcp = await connectMcp(sshd);
      const at = { destination: sshd.dest, session: "refused" };
      const small = await call(mcp, "run", {
        ...at,
        command: "touch ~/small-output",
        max_output: 10,
      });
      assert.match(small.error ?? "", /Input validation error/);
      // A misspelt argument is refused by name, not dropped: dropped, the
      // run would wait the default 60 s instead of the 600 meant.
      const misspelt = await call(mcp, "run", {
        ...at,
        command: "touch ~/misspelt-argument",
        timeout_second: 600,
      });
      assert.match(
        misspelt.error ?? "",
        /Input validation error[^]*timeout_second/,
      );
      const both = await call(mcp, "run", {
        ...at,
        destinations: [sshd.dest],
        command: "touch ~/both-destinations",
      });
      assert.equal(
        both.error,
        "usage: Give destination or destinations, not both",
      );
      await using limited = await connectMcp(sshd, ["--allow-host", "x-*"]);
      const host = await call(limited, "run", {
        ...at,
        command: "touch ~/other-host",
      });
      assert.match(host.error ?? "", /is not allowed here/);
      await using asking = await connectMcp(sshd, ["--confirm", "run"], {}, {
        elicit: () => "decline",
      });
      const declined = await call(asking, "run", {
        ...at,
        command: "touch ~/declined",
      });
      assert.match(declined.error ?? "", /declined/);
      // A run after them in the same session ends after anything they sent.
      const ran = await call(mcp, "run", { ...at, command: "touch ~/ran" });
      assert.equal(ran.exit_code, 0, ran.error);
      assert.ok(await exists("ran"));
      for (
        const name of [
          "small-output",
          "misspelt-argument",
          "both-destinations",
          "other-host",
          "declined",
        ]
      ) {
        assert.equal(await exists(name), false, name);
      }
    },
  );
});

Deno.test("sessh mcp --allow-host judges the host the destination parser returns", async (t) => {
  await using sshd = await startSshd();
  // Every name below reaches the fixture, so one wrongly allowed connects.
  const config = `${sshd.dir}/lab_config`;
  await Deno.writeTextFile(
    config,
    [
      "Host lab1 lab1. LAB1 lab11 aud3",
      "  HostName 127.0.0.1",
      `  Port ${sshd.port}`,
      `  IdentityFile ${sshd.identity}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${sshd.knownHosts}`,
      "  GlobalKnownHostsFile /dev/null",
      "",
    ].join("\n"),
  );
  const me = sshd.user;
  const marker = `${sshd.dir}/pwned`;
  const notAllowed = /^usage: The destination .* is not allowed here/;
  const table: [
    flags: string[],
    destination: string,
    expected: RegExp | null,
  ][] = [
    [["--allow-host", "lab*"], `${me}@lab1`, null],
    [["--allow-host", "lab*"], `ssh://${me}@lab1:${sshd.port}`, null],
    [["--allow-host", "lab*"], "labaud3@aud3", notAllowed],
    [["--allow-host", "lab*"], `lab1@aud3`, notAllowed],
    [["--allow-host", "lab*"], `ssh://lab1@aud3:${sshd.port}`, notAllowed],
    [["--allow-host", "lab*"], `${me}@LAB1`, notAllowed],
    [
      ["--allow-host", "lab*"],
      `-oProxyCommand=touch${marker}`,
      /^invalid_destination: Destination "-oProxyCommand=.*" begins with "-"/,
    ],
    [
      ["--allow-host", "lab*"],
      `ssh://-oProxyCommand=touch${marker}@lab1`,
      /^invalid_destination: User "-oProxyCommand=.*" begins with "-"/,
    ],
    [
      ["--allow-host", "lab*"],
      `${me}@lab1 -oProxyCommand=touch${marker}`,
      /^invalid_destination: .* contains whitespace or control characters/,
    ],
    [
      ["--allow-host", "lab*"],
      `${me}@lab1\0.evil`,
      /^usage: destination ".*" contains a NUL byte/,
    ],
    [
      ["--allow-host", "lab*"],
      `${me}@lab\uFFFD1`,
      /^usage: destination ".*" contains U\+FFFD/,
    ],
    [["--allow-host", "lab1"], `${me}@lab1.`, notAllowed],
    [["--allow-host", "lab1"], `${me}@lab11`, notAllowed],
    [["--allow-host", "*@aud3"], `${me}@aud3`, null],
    [["--allow-host", "*@aud3"], "aud3", notAllowed],
  ];
  const servers = new Map<string, McpClient>();
  try {
    for (const [flags, destination, expected] of table) {
      await t.step(
        `${flags.join(" ")}: ${JSON.stringify(destination)}`,
        async () => {
          const key = flags.join(" ");
          if (!servers.has(key)) {
            servers.set(key, await connectMcp(sshd, [...flags, "-F", config]));
          }
          const listed = await call(servers.get(key)!, "list", { destination });
          if (expected === null) {
            assert.equal(listed.error, undefined, listed.error);
            assert.deepEqual(listed.sessions, []);
          } else {
            assert.match(listed.error ?? "", expected);
          }
        },
      );
    }
  } finally {
    for (const server of servers.values()) await server[Symbol.asyncDispose]();
  }
  assert.equal(await Deno.stat(marker).then(() => true, () => false), false);
});

Deno.test("sessh mcp refuses NUL and invalid UTF-8 in names, destinations and paths, naming the field", async (t) => {
  await using sshd = await startSshd();
  const local = await Deno.realPath(await Deno.makeTempDir({ dir: sshd.dir }));
  await using mcp = await connectMcp(sshd, ["--allow-local-dir", local]);
  const at = { destination: sshd.dest, session: "b" };
  const table: [
    tool: string,
    args: Record<string, unknown>,
    field: string,
    fault: string,
  ][] = [
    [
      "download",
      { ...at, remote_path: "x", local_path: `${local}/a\0b` },
      "local_path",
      "a NUL byte",
    ],
    [
      "upload",
      { ...at, remote_path: "x", local_path: `${local}/a\uFFFD` },
      "local_path",
      "U\\+FFFD",
    ],
    [
      "download",
      { ...at, remote_path: "x\0y", local_path: `${local}/c` },
      "remote_path",
      "a NUL byte",
    ],
    [
      "download",
      { ...at, remote_path: "x\uD800", local_path: `${local}/c` },
      "remote_path",
      "a lone UTF-16 surrogate",
    ],
    ["logs", { ...at, session: "b\uFFFD" }, "session", "U\\+FFFD"],
    ["open", { ...at, session: "b\0" }, "session", "a NUL byte"],
    ["open", { ...at, shell: "/bin/sh\0-x" }, "shell", "a NUL byte"],
    ["list", { destination: "sessh-test\uFFFD" }, "destination", "U\\+FFFD"],
  ];
  for (const [tool, args, field, fault] of table) {
    await t.step(`${tool} ${field}: ${fault}`, async () => {
      const refused = await call(mcp, tool, args);
      assert.match(
        refused.error ?? "",
        new RegExp(
          `^usage: ${field} ".*" contains ${fault}[^;]*; give it as valid UTF-8 text$`,
        ),
      );
    });
  }
  assert.deepEqual([...Deno.readDirSync(local)], []);
  assert.deepEqual(
    (await call(mcp, "list", { destination: sshd.dest })).sessions,
    [],
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
