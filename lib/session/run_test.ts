import assert from "node:assert/strict";
import { runCommand } from "./run.ts";
import { type FakeAnswer, FakeLink, readAnswer } from "./_fake_link.ts";
import { remoteError } from "../transport/connection.ts";
import type { Message } from "../protocol/frame.ts";
import {
  ConnectionLostError,
  SesshError,
  TimeoutError,
  UsageError,
} from "../errors.ts";

const encoder = new TextEncoder();

/** The helper's reply to a `run` it typed at `offset` as command `seq`. */
function typed(seq: number, offset: number): FakeAnswer {
  return () => ({ seq, offset, typed: true, cols: 80, created: false });
}

/** The "started" event of command `seq` (its preexec marker at `offset`). */
function started(seq: number, offset: number): Message {
  return { ev: "started", name: "work", offset, seq };
}

/**
 * The "done" event the helper sends the run's owner (`report_done`): the
 * output from `start` comes along unless `output` is null (too big for a
 * reply), and then `end` says where it stopped.
 */
function done(
  seq: number,
  start: number,
  output: string | null,
  fields: Message & { end?: number } = {},
): Message {
  const data = output === null ? null : encoder.encode(output);
  return {
    ev: "done",
    name: "work",
    seq,
    start,
    end: start + (data?.length ?? 0),
    exit: 0,
    data,
    evicted: false,
    ...fields,
  };
}

Deno.test("runCommand() returns the exit status and text of the done event", async () => {
  const link = new FakeLink({ answers: { run: typed(7, 1000) } });
  link.push(
    started(7, 1006),
    done(7, 1006, "hello\r\nworld\r\n", { exit: 2 }),
  );
  const result = await runCommand(link, "work", "echo hello; echo world", {});
  assert.deepEqual(
    { ...result, durationMs: 0 },
    {
      commandId: 7,
      exitCode: 2,
      output: "hello\nworld\n",
      truncated: false,
      outputStart: 1006,
      cursor: 1020,
      running: false,
      durationMs: 0,
      created: false,
      shellExit: null,
      evicted: false,
      superseded: false,
    },
  );
  assert.deepEqual(link.requests, [{
    op: "run",
    fields: {
      name: "work",
      command: encoder.encode("echo hello; echo world"),
      force: false,
      create: { name: "work", agent_env: true },
      ready_timeout_ms: 15_000,
    },
    timeoutMs: 17_000,
  }]);
});

Deno.test("runCommand() renders the output as a terminal shows it", async (t) => {
  await t.step("without zsh's mark of a missing final newline", async () => {
    const link = new FakeLink({ answers: { run: typed(1, 0) } });
    const zshMark = "\x1b[1m\x1b[7m%\x1b[27m\x1b[1m\x1b[0m" + " ".repeat(79);
    link.push(done(1, 0, `no newline${zshMark}\r \r`));
    const result = await runCommand(link, "work", "printf 'no newline'", {});
    assert.equal(result.output, "no newline\n");
  });
  await t.step("with progress overwritten and colours dropped", async () => {
    const link = new FakeLink({ answers: { run: typed(1, 0) } });
    link.push(done(1, 0, "\x1b[32mok\x1b[0m\r\n10%\r100%\r\n"));
    const result = await runCommand(link, "work", "fetch", {});
    assert.equal(result.output, "ok\n100%\n");
  });
});

Deno.test("runCommand() keeps the head and tail of output over maxOutput", async () => {
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i}\r\n`);
  const link = new FakeLink({ answers: { run: typed(1, 0) } });
  link.push(done(1, 0, lines.join("")));
  const result = await runCommand(link, "work", "seq", { maxOutput: 300 });
  assert.equal(result.truncated, true);
  assert.ok(result.output.startsWith("line 0\nline 1\n"), result.output);
  assert.ok(result.output.endsWith("line 198\nline 199\n"), result.output);
  assert.match(result.output, /\n\[… \d+ bytes omitted …\]\n/);
  assert.ok(encoder.encode(result.output).length <= 300);
  assert.equal(result.cursor, lines.join("").length);
});

Deno.test("runCommand() reads the output a done event did not carry", async () => {
  // The buffer holds what the command printed and the prompt after it.
  const printed = "built 3 targets\r\n";
  const link = new FakeLink({
    answers: {
      run: typed(4, 200),
      read: readAnswer(`make\r\n${printed}$ `, { base: 200 }),
    },
  });
  link.push(
    started(4, 206),
    done(4, 206, null, { end: 206 + printed.length, exit: 0 }),
  );
  const result = await runCommand(link, "work", "make", {});
  assert.equal(result.output, "built 3 targets\n");
  assert.equal(result.exitCode, 0);
  assert.equal(result.cursor, 223);
  assert.equal(result.outputStart, 206);
  assert.deepEqual(link.ops, ["run", "read"]);
  assert.deepEqual(link.requests[1].fields, {
    name: "work",
    since: 206,
    until: 223,
    max: 200 * 1024,
  });
});

Deno.test("runCommand() reports the command a forced run superseded", async () => {
  const link = new FakeLink({ answers: { run: typed(3, 0) } });
  link.push(
    started(3, 10),
    done(3, 10, "waiting\r\n", { exit: null, superseded: true }),
  );
  const result = await runCommand(link, "work", "sleep 100", {});
  assert.equal(result.superseded, true);
  assert.equal(result.exitCode, null);
  assert.equal(result.running, false);
  assert.equal(result.output, "waiting\n");
  assert.equal(result.cursor, 19);
});

Deno.test("runCommand() with force waits past the done of the command it superseded", async () => {
  const link = new FakeLink({ answers: { run: typed(4, 50) } });
  link.push(
    done(3, 10, null, { end: 50, exit: null, superseded: true }),
    started(4, 60),
    done(4, 60, "ok\r\n", { exit: 0 }),
  );
  const result = await runCommand(link, "work", "true", { force: true });
  assert.equal(link.requests[0].fields.force, true);
  assert.equal(result.commandId, 4);
  assert.equal(result.superseded, false);
  assert.equal(result.exitCode, 0);
  assert.equal(result.output, "ok\n");
  assert.equal(result.cursor, 64);
});

Deno.test("runCommand() returns the shell's status when the shell exits", async (t) => {
  await t.step("after the done the helper sends as it ends", async () => {
    const link = new FakeLink({ answers: { run: typed(2, 0) } });
    // `end_session`: the command ends without a status, then the shell.
    link.push(
      started(2, 6),
      done(2, 6, "bye\r\n", { exit: null }),
      { ev: "exit", name: "work", status: 3 },
    );
    const result = await runCommand(link, "work", "exit 3", {});
    assert.equal(result.exitCode, 3);
    assert.equal(result.shellExit, 3);
    assert.equal(result.running, false);
    assert.equal(result.output, "bye\n");
    assert.deepEqual(link.ops, ["run"]);
  });
  await t.step("with no done at all", async () => {
    const link = new FakeLink({ answers: { run: typed(2, 0) } });
    link.push(started(2, 6), { ev: "exit", name: "work", status: 137 });
    const result = await runCommand(link, "work", "kill -9 $$", {});
    assert.equal(result.exitCode, 137);
    assert.equal(result.shellExit, 137);
    assert.equal(result.running, false);
    assert.equal(result.output, "");
    assert.equal(result.cursor, 6);
  });
});

Deno.test("runCommand() ignores events of other sessions and commands", async () => {
  const link = new FakeLink({ answers: { run: typed(5, 0) } });
  link.push(
    { ev: "exit", name: "other", status: 1 },
    done(9, 0, "not mine\r\n", { name: "other" }),
    done(4, 0, "older\r\n"),
    started(5, 8),
    done(5, 8, "mine\r\n", { exit: 0 }),
  );
  const result = await runCommand(link, "work", "echo mine", {});
  assert.equal(result.output, "mine\n");
  assert.equal(result.commandId, 5);
  assert.equal(result.shellExit, null);
});

Deno.test("runCommand() past timeoutMs returns running: true with the output so far", async () => {
  const link = new FakeLink({
    answers: {
      run: typed(7, 1000),
      read: readAnswer("make\r\ncompiling a.c\r\n", { base: 1000 }),
    },
  });
  link.push(started(7, 1006));
  const result = await runCommand(link, "work", "make", { timeoutMs: 5 });
  assert.equal(result.running, true);
  assert.equal(result.exitCode, null);
  assert.equal(result.output, "compiling a.c\n");
  assert.equal(result.outputStart, 1006);
  assert.equal(result.cursor, 1021);
  assert.deepEqual(link.requests[1], {
    op: "read",
    fields: { name: "work", since: 1006, max: 200 * 1024 },
    timeoutMs: 1500,
  });
});

Deno.test("runCommand() aborted while waiting rejects with the signal's reason", async (t) => {
  await t.step("AbortError by default", async () => {
    const controller = new AbortController();
    const link = new FakeLink({ answers: { run: typed(7, 1000) } });
    link.push(started(7, 1006));
    const call = runCommand(link, "work", "make", {
      signal: controller.signal,
    });
    await link.waiting();
    controller.abort();
    await assert.rejects(call, (error: Error) => error.name === "AbortError");
    assert.deepEqual(link.ops, ["run"]);
    assert.equal(link.open, 0);
  });
  await t.step("the caller's own reason passes through", async () => {
    const controller = new AbortController();
    const link = new FakeLink({ answers: { run: typed(7, 1000) } });
    const call = runCommand(link, "work", "make", {
      signal: controller.signal,
    });
    await link.waiting();
    const reason = new Error("user gave up");
    controller.abort(reason);
    await assert.rejects(call, (error) => error === reason);
  });
  await t.step("already aborted: nothing is sent", async () => {
    const link = new FakeLink({ answers: { run: typed(7, 1000) } });
    await assert.rejects(
      runCommand(link, "work", "make", { signal: AbortSignal.abort() }),
      (error: Error) => error.name === "AbortError",
    );
    assert.deepEqual(link.ops, []);
  });
});

Deno.test("runCommand() with wait: false returns once the shell took the command, past its echo", async () => {
  const link = new FakeLink({ answers: { run: typed(7, 1000) } });
  link.push(started(7, 1006));
  const result = await runCommand(link, "work", "make", { wait: false });
  assert.equal(result.running, true);
  assert.equal(result.exitCode, null);
  assert.equal(result.commandId, 7);
  assert.equal(result.cursor, 1006);
  assert.equal(result.outputStart, 1006);
  assert.equal(result.output, "");
  assert.equal(link.open, 0);
  assert.deepEqual(link.ops, ["run"]);
});

Deno.test("runCommand() says the command was sent when the link fails after it", async (t) => {
  await t.step("while it waits for the command", async () => {
    const link = new FakeLink({ answers: { run: typed(7, 1000) } });
    link.push(started(7, 1006));
    const call = runCommand(link, "work", "make", {});
    await link.waiting();
    link.lose(
      new ConnectionLostError(
        "The link to the sessh daemon stopped answering",
        { delivery: "unknown" },
      ),
    );
    await assert.rejects(call, (error: unknown) => {
      assert.ok(error instanceof ConnectionLostError);
      assert.equal(error.delivery, "sent");
      assert.deepEqual(error.details, {
        delivery: "sent",
        session: "work",
        commandId: 7,
        cursor: 1006,
        destination: "db1",
      });
      assert.match(error.message, /^The link to the sessh daemon stopped/);
      assert.match(error.message, /read its output from cursor 1006$/);
      return true;
    });
  });
  await t.step("when the read after the timeout gets no answer", async () => {
    const link = new FakeLink({
      answers: {
        run: typed(7, 1000),
        read: () => {
          throw new TimeoutError(
            'The remote helper did not answer "read" within 1500 ms',
          );
        },
      },
    });
    const call = runCommand(link, "work", "make", { timeoutMs: 5 });
    await assert.rejects(call, (error: unknown) => {
      assert.ok(error instanceof ConnectionLostError);
      assert.equal(error.delivery, "sent");
      assert.equal(error.details.commandId, 7);
      assert.equal(error.details.cursor, 1000);
      return true;
    });
  });
});

Deno.test("runCommand() says delivery is unknown when the run gets no answer", async () => {
  const link = new FakeLink({
    answers: {
      run: () => {
        throw new TimeoutError(
          'The remote helper did not answer "run" within 17000 ms',
        );
      },
    },
  });
  await assert.rejects(
    runCommand(link, "work", "make", {}),
    (error: unknown) => {
      assert.ok(error instanceof ConnectionLostError);
      assert.equal(error.delivery, "unknown");
      assert.deepEqual(error.details, {
        delivery: "unknown",
        session: "work",
        destination: "db1",
      });
      assert.match(error.message, /^The remote helper did not answer "run"/);
      assert.match(error.message, /check its status before running it again$/);
      return true;
    },
  );
});

Deno.test("runCommand() passes the daemon's refusal through unchanged", async () => {
  const refusal = remoteError({
    ok: false,
    code: "session_busy",
    message: 'Session "work" is busy running sleep 100; force the run',
  });
  const link = new FakeLink({
    answers: {
      run: () => {
        throw refusal;
      },
    },
  });
  await assert.rejects(
    runCommand(link, "work", "make", {}),
    (error: unknown) => {
      assert.equal(error, refusal);
      assert.ok(error instanceof SesshError);
      assert.equal(error.code, "session_busy");
      return true;
    },
  );
});

Deno.test("runCommand() refuses an empty command without sending it", async () => {
  const link = new FakeLink({ answers: { run: typed(1, 0) } });
  for (const command of ["", new Uint8Array(0)]) {
    await assert.rejects(
      runCommand(link, "work", command, {}),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(error.exitCode, 2);
        return true;
      },
    );
  }
  assert.deepEqual(link.requests, []);
});
