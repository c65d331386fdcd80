/**
 * `sessh mcp` as an operator sets it up to be trusted, through the MCP
 * SDK's own client over the real sshd: calls a human must approve
 * (elicitation accepted, declined, and a client that cannot ask), the
 * audit log line by line, and profiles that give one destination read-write
 * and another read-only in one server.
 */
import assert from "node:assert/strict";
import { startSshd, type TestSshd } from "./_sshd.ts";
import { call, CLI, connectMcp } from "./_mcp.ts";
import { runCommand } from "../lib/process.ts";

type AuditLine = Record<string, unknown>;

/** The audit log's lines, parsed. */
function auditLines(path: string): AuditLine[] {
  const text = Deno.readTextFileSync(path);
  assert.ok(text.endsWith("\n"), "each line ends with a newline");
  return text.trimEnd().split("\n").map((line) => JSON.parse(line));
}

/** Checks one audit line field by field; `time` and `duration_ms` by form. */
function assertLine(line: AuditLine, expected: AuditLine, started: number) {
  const { time, duration_ms, ...rest } = line;
  assert.match(String(time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const at = Date.parse(String(time));
  assert.ok(at >= started - 1000 && at <= Date.now(), `time ${time}`);
  assert.ok(
    Number.isInteger(duration_ms) && (duration_ms as number) >= 0,
    `duration_ms ${duration_ms}`,
  );
  assert.deepEqual(rest, expected);
}

/** An ssh config where `build` and `prod` both reach the fixture. */
async function twoHosts(sshd: TestSshd): Promise<string> {
  const config = `${sshd.dir}/two_hosts_config`;
  await Deno.writeTextFile(
    config,
    [
      "Host build prod",
      "  HostName 127.0.0.1",
      `  Port ${sshd.port}`,
      `  User ${sshd.user}`,
      `  IdentityFile ${sshd.identity}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${sshd.knownHosts}`,
      "  GlobalKnownHostsFile /dev/null",
      "",
    ].join("\n"),
  );
  return config;
}

Deno.test("sessh mcp asks the human before the calls the operator named", async (t) => {
  await using sshd = await startSshd();
  const audit = `${sshd.dir}/approval.jsonl`;
  const marker = (name: string) => `${sshd.home}/${name}`;
  const exists = (path: string) =>
    Deno.stat(path).then(() => true, () => false);
  const flags = [
    "--confirm-command",
    "^touch ",
    "--confirm",
    "close",
    "--audit",
    audit,
  ];
  const at = { destination: sshd.dest, session: "ok" };
  const started = Date.now();

  await t.step(
    "accepted: the question shows the exact command, destination and session, then it runs",
    async () => {
      const asked: string[] = [];
      await using mcp = await connectMcp(sshd, flags, {}, {
        elicit: (message) => {
          asked.push(message);
          return "accept";
        },
      });
      const plain = await call(mcp, "run", { ...at, command: "echo plain" });
      assert.equal(plain.exit_code, 0, plain.error);
      assert.deepEqual(asked, [], "a command no rule names runs unasked");
      const ran = await call(mcp, "run", {
        ...at,
        command: "touch ~/accepted\n",
      });
      assert.equal(ran.exit_code, 0, ran.error);
      assert.deepEqual(asked, [
        [
          `The model asks to call run on "${sshd.dest}", session "ok".`,
          'Command: "touch ~/accepted\\n"',
          "Accept to let it run; decline to refuse it.",
        ].join("\n"),
      ]);
      assert.ok(await exists(marker("accepted")));
      const closed = await call(mcp, "close", at);
      assert.equal(closed.error, undefined);
      assert.equal(asked.length, 2);
      assert.match(asked[1], /^The model asks to call close on /);
    },
  );

  await t.step("declined: refused, and nothing runs", async () => {
    await using mcp = await connectMcp(sshd, flags, {}, {
      elicit: () => "decline",
    });
    const refused = await call(mcp, "run", {
      ...at,
      command: "touch ~/declined",
    });
    assert.equal(
      refused.error,
      "usage: The human declined this run call; it was not run",
    );
    assert.equal(await exists(marker("declined")), false);
  });

  await t.step(
    "a client that cannot elicit: refused, never a silent allow",
    async () => {
      await using mcp = await connectMcp(sshd, flags);
      const refused = await call(mcp, "run", {
        ...at,
        command: "touch ~/unasked",
      });
      assert.equal(
        refused.error,
        "usage: The operator requires a human to approve this run call, and this MCP client cannot ask one (it does not support elicitation); it was not run",
      );
      assert.equal(await exists(marker("unasked")), false);
    },
  );

  await t.step(
    "a question that fails in the client: refused, and nothing runs",
    async () => {
      await using mcp = await connectMcp(sshd, flags, {}, {
        elicit: () => {
          throw new Error("the dialog crashed");
        },
      });
      const refused = await call(mcp, "run", {
        ...at,
        command: "touch ~/failed",
      });
      assert.match(
        refused.error ?? "",
        /^usage: The operator requires a human to approve this run call, and no answer came \(.*the dialog crashed\); it was not run$/,
      );
      assert.equal(await exists(marker("failed")), false);
    },
  );

  await t.step("each call is one audit line with its decision", () => {
    const lines = auditLines(audit);
    assert.equal(lines.length, 6);
    const run = (command: string) => ({
      tool: "run",
      destination: sshd.dest,
      session: "ok",
      arguments: { ...at, command },
    });
    assertLine(lines[0], {
      ...run("echo plain"),
      decision: "allowed",
      exit_code: 0,
    }, started);
    assertLine(lines[1], {
      ...run("touch ~/accepted\n"),
      decision: "confirmed",
      exit_code: 0,
    }, started);
    assertLine(lines[2], {
      tool: "close",
      destination: sshd.dest,
      session: "ok",
      arguments: at,
      decision: "confirmed",
    }, started);
    assertLine(lines[3], {
      ...run("touch ~/declined"),
      decision: "declined",
      error: "usage: The human declined this run call; it was not run",
    }, started);
    assertLine(lines[4], {
      ...run("touch ~/unasked"),
      decision: "refused",
      error:
        "usage: The operator requires a human to approve this run call, and this MCP client cannot ask one (it does not support elicitation); it was not run",
    }, started);
    assert.equal(lines[5].decision, "refused");
    assert.equal(lines[5].tool, "run");
    assert.equal(Deno.statSync(audit).mode! & 0o777, 0o600);
  });
});

Deno.test("sessh mcp --audit logs a call before its reply, with no secret value", async () => {
  await using sshd = await startSshd();
  const audit = `${sshd.dir}/audit.jsonl`;
  const secret = `audit-${crypto.randomUUID()}`;
  await using mcp = await connectMcp(
    sshd,
    ["--allow-secret-env", "MCP_AUDIT_SECRET", "--audit", audit],
    { MCP_AUDIT_SECRET: secret },
  );
  const at = { destination: sshd.dest, session: "s" };
  const started = Date.now();
  const asked = await call(mcp, "run", {
    ...at,
    command: "read -r -s -p 'Password: ' pw; echo; echo \"got $pw\"",
    timeout_seconds: 1,
  });
  assert.equal(asked.running, true, asked.error);
  // Written before the reply: the line is there as soon as the call returns.
  assertLine(auditLines(audit)[0], {
    tool: "run",
    destination: sshd.dest,
    session: "s",
    arguments: {
      ...at,
      command: "read -r -s -p 'Password: ' pw; echo; echo \"got $pw\"",
      timeout_seconds: 1,
    },
    decision: "allowed",
  }, started);
  const prompt = await call(mcp, "wait", {
    ...at,
    for: "Password: $",
    since: 0,
    timeout_seconds: 20,
  });
  assert.equal(prompt.met, true, prompt.error);
  const typed = await call(mcp, "type_secret", {
    ...at,
    env_var: "MCP_AUDIT_SECRET",
  });
  assert.equal(typed.typed, true, typed.error);
  const done = await call(mcp, "wait", {
    ...at,
    done: true,
    timeout_seconds: 20,
  });
  assert.equal(done.met, true, done.error);
  // The model pastes the value it must never have; the log keeps it out.
  await call(mcp, "send", { ...at, text: `: ${secret}` });
  const lines = auditLines(audit);
  assert.deepEqual(lines.map((line) => [line.tool, line.decision]), [
    ["run", "allowed"],
    ["wait", "allowed"],
    ["type_secret", "allowed"],
    ["wait", "allowed"],
    ["send", "allowed"],
  ]);
  assertLine(lines[2], {
    tool: "type_secret",
    destination: sshd.dest,
    session: "s",
    arguments: { ...at, env_var: "MCP_AUDIT_SECRET" },
    decision: "allowed",
  }, started);
  assertLine(lines[3], {
    tool: "wait",
    destination: sshd.dest,
    session: "s",
    arguments: { ...at, done: true, timeout_seconds: 20 },
    decision: "allowed",
    exit_code: 0,
  }, started);
  assert.deepEqual(lines[4].arguments, { ...at, text: ": [secret]" });
  assert.ok(!Deno.readTextFileSync(audit).includes(secret));
});

Deno.test("sessh mcp --profiles: one destination read-write, another read-only, in one server", async () => {
  await using sshd = await startSshd();
  const config = await twoHosts(sshd);
  const profiles = `${sshd.dir}/profiles.json`;
  await Deno.writeTextFile(
    profiles,
    JSON.stringify({
      profiles: {
        build: { allow: ["build"] },
        production: { allow: ["prod"], read_only: true },
      },
    }),
  );
  const audit = `${sshd.dir}/profiles.jsonl`;
  await using mcp = await connectMcp(sshd, [
    "-F",
    config,
    "--profiles",
    profiles,
    "--audit",
    audit,
  ]);
  const names = (await mcp.listTools()).tools.map((tool: { name: string }) =>
    tool.name
  );
  assert.ok(names.includes("run") && names.includes("logs"));

  const built = await call(mcp, "run", {
    destination: "build",
    session: "p",
    command: "echo built > ~/profile-marker",
  });
  assert.equal(built.exit_code, 0, built.error);
  const readOnly =
    'usage: The destination "prod" is read-only here (profile production): only logs, screen, wait, status, list, result and history may be used on it';
  for (
    const [tool, args] of [
      ["run", { command: "rm ~/profile-marker" }],
      ["send", { text: "rm ~/profile-marker", enter: true }],
      ["close", {}],
    ] as const
  ) {
    const refused = await call(mcp, tool, {
      destination: "prod",
      session: "p",
      ...args,
    });
    assert.equal(refused.error, readOnly, tool);
  }
  assert.equal(
    await Deno.readTextFile(`${sshd.home}/profile-marker`),
    "built\n",
  );
  // The same session, seen from production: reading is allowed.
  const logs = await call(mcp, "logs", { destination: "prod", session: "p" });
  assert.equal(logs.error, undefined);
  assert.match(String(logs.output), /echo built/);
  const other = await call(mcp, "list", { destination: sshd.dest });
  assert.equal(
    other.error,
    `usage: The destination "${sshd.dest}" is not allowed here: it matches none of the operator's profiles (build, production)`,
  );
  assert.deepEqual(
    auditLines(audit).map((line) => [
      line.tool,
      line.destination,
      line.decision,
    ]),
    [
      ["run", "build", "allowed"],
      ["run", "prod", "refused"],
      ["send", "prod", "refused"],
      ["close", "prod", "refused"],
      ["logs", "prod", "allowed"],
      ["list", sshd.dest, "refused"],
    ],
  );
  assert.equal(auditLines(audit)[1].error, readOnly);
});

Deno.test("sessh mcp refuses a bad --profiles file, --confirm or --audit path before serving (exit 2)", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/bad.json`,
      '{"profiles": {"prod": {"allow": ["prod"], "read_only": "yes"}}}',
    );
    await Deno.writeTextFile(`${dir}/target`, "keep\n");
    await Deno.symlink(`${dir}/target`, `${dir}/link.jsonl`);
    const table: [flags: string[], message: string][] = [
      [
        ["--profiles", `${dir}/bad.json`],
        `Invalid --profiles file "${dir}/bad.json": profiles.prod.read_only: Expected boolean, received string`,
      ],
      [
        ["--confirm", "rn"],
        '--confirm "rn" is not a tool; name one of open, run, send, keys, type_secret, close, upload, download, logs, screen, wait, status, list, result, history',
      ],
      [
        ["--confirm-command", "("],
        '--confirm-command "(" is not a regular expression: Invalid regular expression: /(/: Unterminated group',
      ],
      [
        ["--audit", `${dir}/link.jsonl`],
        `Refusing the log file "${dir}/link.jsonl": it is a symbolic link; name the file itself`,
      ],
    ];
    for (const [flags, message] of table) {
      await t.step(flags.join(" "), async () => {
        const result = await runCommand(
          [Deno.execPath(), "run", "-A", "--quiet", CLI, "mcp", ...flags],
          { timeoutMs: 60_000, stdin: new Uint8Array() },
        );
        const stderr = new TextDecoder().decode(result.stderr);
        assert.equal(result.code, 2, stderr);
        assert.ok(stderr.includes(message), stderr);
        assert.equal(new TextDecoder().decode(result.stdout), "");
      });
    }
    assert.equal(await Deno.readTextFile(`${dir}/target`), "keep\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sessh mcp runs each call once, and stops waiting on a run the client cancels", async () => {
  await using sshd = await startSshd();
  const audit = `${sshd.dir}/cancel.jsonl`;
  await using mcp = await connectMcp(sshd, ["--audit", audit]);
  const at = { destination: sshd.dest, session: "cancel" };
  const marks = `${sshd.dir}/marks`;
  for (let i = 0; i < 3; i++) {
    const marked = await call(mcp, "run", {
      ...at,
      command: `echo ${i} >> ${marks}`,
    });
    assert.equal(marked.exit_code, 0, marked.error);
  }
  assert.equal(Deno.readTextFileSync(marks), "0\n1\n2\n");

  const cancel = new AbortController();
  const long = mcp.callTool(
    { name: "run", arguments: { ...at, command: "sleep 60" } },
    undefined,
    { signal: cancel.signal, timeout: 120_000 },
  );
  long.catch(() => {});
  const until = Date.now() + 30_000;
  const running = async () =>
    ((await call(mcp, "status", at)).session as { running: unknown }).running;
  while (!await running()) {
    assert.ok(Date.now() < until, "the sleep never started");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  cancel.abort();
  // The server ends the call, and logs it, while the command runs on.
  const logged = () =>
    auditLines(audit).some((line) =>
      (line.arguments as { command: string }).command === "sleep 60"
    );
  while (!logged()) {
    assert.ok(Date.now() < until, "the cancelled run was never logged");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(await running(), "the sleep ended before its call was given up");
  assert.equal(
    (await call(mcp, "keys", { ...at, keys: ["C-c"] })).error,
    undefined,
  );
});
