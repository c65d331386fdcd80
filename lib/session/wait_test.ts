import assert from "node:assert/strict";
import { LocalMatcher, waitFor } from "./wait.ts";
import { type FakeAnswer, FakeLink, readAnswer } from "./_fake_link.ts";
import { remoteError } from "../transport/connection.ts";
import type { Message } from "../protocol/frame.ts";
import {
  ConnectionLostError,
  SesshError,
  TimeoutError,
  UsageError,
} from "../errors.ts";
import { CAPS, HELPER_CAPS } from "../contract/spec.ts";

const encoder = new TextEncoder();

/** The caps of a helper from before the daemon matched and told idleness. */
const OLD_CAPS = ["run", "subscribe", "markers", "attach", "reset", "paced"];

/** The helper's reply to `subscribe`, watching from `start`. */
function subscribed(
  start: number,
  fields: { running?: boolean; last_exit?: number | null } = {},
): FakeAnswer {
  return () => ({
    start,
    end: start,
    running: fields.running ?? true,
    evicted: false,
    last_exit: fields.last_exit ?? 0,
  });
}

/** The helper's reply to `info` (`Session.info()`), for the width. */
const info: FakeAnswer = () => ({
  session: {
    name: "work",
    pid: 4242,
    shell: "/bin/bash",
    cols: 80,
    rows: 24,
    running: true,
    integrated: true,
  },
});

const unsubscribed: FakeAnswer = () => ({});

/** An "output" event of the session's feed. */
function output(offset: number, text: string): Message {
  return { ev: "output", name: "work", offset, data: encoder.encode(text) };
}

Deno.test("waitFor() asks the daemon to match a pattern it can translate", async () => {
  const link = new FakeLink({
    answers: {
      subscribe: subscribed(500),
      read: readAnswer("starting\r\nServer READY\r\nlater\r\n", { base: 500 }),
      info,
    },
  });
  link.push({
    ev: "match",
    name: "work",
    match: "Server READY",
    end: 524,
    evicted: false,
  });
  const result = await waitFor(link, "work", { pattern: /server ready/i });
  assert.deepEqual(result, {
    met: true,
    match: "Server READY",
    output: "starting\nServer READY\n",
    cursor: 524,
    exitCode: null,
    commandId: null,
    shellExit: null,
    evicted: false,
  });
  assert.deepEqual(link.requests[0].fields, {
    name: "work",
    output: false,
    match: { source: "server ready", flags: "i" },
    from_input: true,
  });
  assert.deepEqual(link.ops, ["subscribe", "read", "info"]);
  assert.deepEqual(link.requests[1].fields, {
    name: "work",
    since: 500,
    until: 524,
    max: 200 * 1024,
  });
});

Deno.test("waitFor() passes the daemon's word on evicted output on", async () => {
  const link = new FakeLink({
    answers: {
      subscribe: subscribed(500),
      read: readAnswer("booting...Server READY\r\n", { base: 500 }),
      info,
    },
  });
  // The daemon's search fell behind the buffer; the read that follows is whole.
  link.push({
    ev: "match",
    name: "work",
    match: "Server READY",
    end: 524,
    evicted: true,
  });
  const result = await waitFor(link, "work", { pattern: /READY/ });
  assert.equal(result.met, true);
  assert.equal(result.evicted, true);
  assert.equal(result.output, "booting...Server READY\n");
});

Deno.test("waitFor() matches a pattern with a lookbehind here, across events", async () => {
  const link = new FakeLink({
    answers: { subscribe: subscribed(500), unsubscribe: unsubscribed, info },
  });
  link.push(output(500, "listening on po"), output(515, "rt 8080\r\n"));
  const result = await waitFor(link, "work", { pattern: /(?<=port )\d+/ });
  assert.deepEqual(link.requests[0].fields, {
    name: "work",
    output: true,
    from_input: true,
  });
  assert.equal(result.met, true);
  assert.equal(result.match, "8080");
  assert.equal(result.cursor, 524);
  assert.equal(result.output, "listening on port 8080\n");
  assert.deepEqual(link.ops, ["subscribe", "unsubscribe", "info"]);
  assert.equal(link.open, 0, "the wait closed its mailbox");
});

Deno.test("waitFor() matches here when the daemon cannot", async () => {
  const link = new FakeLink({
    caps: OLD_CAPS,
    answers: { subscribe: subscribed(500), unsubscribe: unsubscribed, info },
  });
  // The colour codes sit inside the word: the pattern sees the text.
  link.push(output(500, "\x1b[32mre"), output(507, "\x1b[0mady\r\n"));
  const result = await waitFor(link, "work", { pattern: /ready/ });
  assert.deepEqual(link.requests[0].fields, {
    name: "work",
    output: true,
    from_input: true,
  });
  assert.equal(result.met, true);
  assert.equal(result.match, "ready");
  assert.equal(result.cursor, 516);
  assert.equal(result.output, "ready\n");
});

Deno.test("waitFor() matches here a pattern the daemon refuses to compile", async () => {
  let asked = 0;
  const link = new FakeLink({
    answers: {
      subscribe: (fields, fake) => {
        if (asked++ === 0 && fields.match) {
          throw remoteError({
            ok: false,
            code: "bad_pattern",
            message: "The daemon cannot compile the pattern: too deep",
          });
        }
        return subscribed(500)(fields, fake);
      },
      unsubscribe: unsubscribed,
      info,
    },
  });
  link.push(output(500, "ok\r\n"));
  const result = await waitFor(link, "work", { pattern: /ok/ });
  assert.deepEqual(link.ops, ["subscribe", "subscribe", "unsubscribe", "info"]);
  assert.deepEqual(link.requests[0].fields.match, { source: "ok", flags: "" });
  assert.deepEqual(link.requests[1].fields, {
    name: "work",
    output: true,
    from_input: true,
  });
  assert.equal(result.match, "ok");
});

Deno.test("waitFor() reports output it missed in a gap as evicted", async () => {
  const link = new FakeLink({
    caps: OLD_CAPS,
    answers: { subscribe: subscribed(500), unsubscribe: unsubscribed, info },
  });
  link.push(
    output(500, "step 1\r\n"),
    { ev: "gap", name: "work", start: 508, end: 9000 },
    output(9000, "done\r\n"),
  );
  const result = await waitFor(link, "work", { pattern: /done/ });
  assert.equal(result.met, true);
  assert.equal(result.evicted, true);
  assert.equal(result.cursor, 9006);
  assert.equal(result.output, "step 1\ndone\n");
});

Deno.test("waitFor() leaves idleness to a daemon with the idle cap", async () => {
  const link = new FakeLink({
    answers: {
      subscribe: subscribed(500),
      read: readAnswer("compiling\r\nlinking\r\n", { base: 500 }),
      info,
    },
  });
  link.push({ ev: "idle", name: "work", end: 511 });
  const result = await waitFor(link, "work", { idleMs: 2000.4 });
  assert.deepEqual(link.requests[0].fields, {
    name: "work",
    output: false,
    idle_ms: 2000,
  });
  assert.equal(result.met, true);
  assert.equal(result.cursor, 511);
  assert.equal(result.output, "compiling\n");
  assert.deepEqual(link.ops, ["subscribe", "read", "info"]);
  assert.deepEqual(link.requests[1].fields, {
    name: "work",
    since: 500,
    until: 511,
    max: 200 * 1024,
  });
});

Deno.test("waitFor() tells idleness here when the daemon cannot", async () => {
  const link = new FakeLink({
    caps: OLD_CAPS,
    answers: { subscribe: subscribed(500), unsubscribe: unsubscribed, info },
  });
  link.push(output(500, "compiling\r\n"));
  const result = await waitFor(link, "work", { idleMs: 5 });
  assert.equal(link.requests[0].fields.output, true);
  assert.equal(result.met, true);
  assert.equal(result.cursor, 511);
  assert.equal(result.output, "compiling\n");
  assert.deepEqual(link.ops, ["subscribe", "unsubscribe", "info"]);
});

Deno.test("waitFor() with done returns at once when no command runs", async () => {
  const link = new FakeLink({
    answers: { subscribe: subscribed(500, { running: false, last_exit: 2 }) },
    // A daemon without a history: nothing more to ask it.
    caps: HELPER_CAPS.filter((cap) => cap !== CAPS.history),
  });
  link.push({ ev: "done", name: "work", seq: 3, start: 0, end: 400, exit: 9 });
  const result = await waitFor(link, "work", { done: true });
  assert.deepEqual(result, {
    met: true,
    match: null,
    output: "",
    cursor: 500,
    exitCode: 2,
    commandId: null,
    shellExit: null,
    evicted: false,
  });
  assert.deepEqual(link.requests[0].fields, { name: "work", output: false });
  assert.deepEqual(link.ops, ["subscribe"]);
  assert.equal(link.open, 0);
});

Deno.test("waitFor() with done takes the exit status and the output of the finished command", async () => {
  const link = new FakeLink({
    answers: {
      subscribe: subscribed(500),
      read: readAnswer("make: *** [all] Error 1\r\n", { base: 500 }),
      info,
    },
  });
  link.push(
    { ev: "done", name: "other", seq: 8, start: 0, end: 90, exit: 0 },
    { ev: "done", name: "work", seq: 7, start: 500, end: 525, exit: 1 },
  );
  const result = await waitFor(link, "work", { done: true });
  assert.equal(result.met, true);
  assert.equal(result.exitCode, 1);
  assert.equal(result.commandId, 7);
  assert.equal(result.cursor, 525);
  assert.equal(result.output, "make: *** [all] Error 1\n");
  // The latest command's record is asked for beside the subscription, in
  // case nothing runs; here a command ran, and its record goes unread.
  assert.deepEqual(link.ops, ["subscribe", "result", "read", "info"]);
  assert.deepEqual(link.requests[2].fields, {
    name: "work",
    since: 500,
    until: 525,
    max: 200 * 1024,
  });
});

Deno.test("waitFor() with done, nothing running, gives the last run's output from the history", async () => {
  const link = new FakeLink({
    caps: ["run", "subscribe", "idle", "match", "history"],
    answers: {
      subscribe: subscribed(584, { running: false, last_exit: 0 }),
      result: () => ({
        command: {
          id: 12,
          command: "echo hi",
          start: 580,
          end: 584,
          exit: 0,
          started: 1000,
          ended: 1250,
          superseded: false,
        },
        buffer_start: 0,
        buffer_end: 584,
      }),
      read: readAnswer("x".repeat(580) + "hi\r\n", { base: 0 }),
    },
  });
  const result = await waitFor(link, "work", { done: true });
  assert.equal(result.met, true);
  assert.equal(result.exitCode, 0);
  assert.equal(result.commandId, 12);
  assert.equal(result.output, "hi\n");
  assert.deepEqual(link.ops, ["subscribe", "result", "read"]);
  assert.deepEqual(link.requests[1].fields, { name: "work" });
});

Deno.test("waitFor() with done, nothing running, takes the last run's output with its record, in one round trip", async () => {
  const link = new FakeLink({
    answers: {
      subscribe: subscribed(584, { running: false, last_exit: 0 }),
      result: (fields) => ({
        command: {
          id: 12,
          command: "echo hi",
          start: 580,
          end: 584,
          exit: 0,
          started: 1000,
          ended: 1250,
          superseded: false,
        },
        buffer_start: 0,
        buffer_end: 584,
        // What the daemon sends when the output fits the caller's bound.
        ...(Number(fields.output) >= 4
          ? { data: encoder.encode("hi\r\n"), start: 580, evicted: false }
          : {}),
      }),
    },
  });
  const result = await waitFor(link, "work", { done: true, maxOutput: 1000 });
  assert.equal(result.met, true);
  assert.equal(result.commandId, 12);
  assert.equal(result.output, "hi\n");
  assert.equal(result.cursor, 584);
  assert.deepEqual(link.ops, ["subscribe", "result"]);
  assert.deepEqual(link.requests[1].fields, {
    name: "work",
    output: 2 * 64 * 1024,
  });
});

Deno.test("waitFor() stops at the shell's exit, unmet", async () => {
  const link = new FakeLink({
    caps: OLD_CAPS,
    answers: { subscribe: subscribed(500), unsubscribe: unsubscribed, info },
  });
  link.push(output(500, "bye\r\n"), { ev: "exit", name: "work", status: 0 });
  const result = await waitFor(link, "work", { pattern: /never/ });
  assert.equal(result.met, false);
  assert.equal(result.shellExit, 0);
  assert.equal(result.output, "bye\n");
  assert.deepEqual(link.ops, ["subscribe", "unsubscribe", "info"]);
});

Deno.test("waitFor() aborted rejects with the signal's reason", async (t) => {
  await t.step("while it waits, with the daemon's search ended", async () => {
    const controller = new AbortController();
    const link = new FakeLink({
      answers: { subscribe: subscribed(500), unsubscribe: unsubscribed },
    });
    const call = waitFor(link, "work", {
      pattern: /never/,
      signal: controller.signal,
    });
    await link.waiting();
    controller.abort();
    await assert.rejects(call, (error: Error) => error.name === "AbortError");
    assert.deepEqual(link.ops, ["subscribe", "unsubscribe"]);
    assert.equal(link.open, 0);
  });
  await t.step("the caller's own reason passes through", async () => {
    const controller = new AbortController();
    const link = new FakeLink({
      answers: { subscribe: subscribed(500), unsubscribe: unsubscribed },
    });
    const call = waitFor(link, "work", {
      idleMs: 100_000,
      signal: controller.signal,
    });
    await link.waiting();
    const reason = new Error("user gave up");
    controller.abort(reason);
    await assert.rejects(call, (error) => error === reason);
  });
  await t.step("before it begins: nothing is sent", async () => {
    const link = new FakeLink({ caps: OLD_CAPS });
    await assert.rejects(
      waitFor(link, "work", { pattern: /ready/, signal: AbortSignal.abort() }),
      (error: Error) => error.name === "AbortError",
    );
    assert.deepEqual(link.ops, []);
  });
});

Deno.test("waitFor() that runs out of time is unmet once the daemon answers", async () => {
  const link = new FakeLink({
    caps: OLD_CAPS,
    answers: {
      subscribe: subscribed(500),
      unsubscribe: unsubscribed,
      ping: () => ({}),
      info,
    },
  });
  link.push(output(500, "warming up\r\n"));
  const result = await waitFor(link, "work", {
    pattern: /ready/,
    timeoutMs: 5,
  });
  assert.equal(result.met, false);
  assert.equal(result.cursor, 512);
  assert.equal(result.output, "warming up\n");
  assert.deepEqual(link.ops, ["subscribe", "unsubscribe", "ping", "info"]);
  assert.equal(link.requests[2].timeoutMs, 1500);
});

Deno.test("waitFor() says nothing was typed when the link fails", async (t) => {
  await t.step("while it waits", async () => {
    const link = new FakeLink({ answers: { subscribe: subscribed(500) } });
    const call = waitFor(link, "work", { done: true });
    await link.waiting();
    link.lose(
      new ConnectionLostError(
        "The link to the sessh daemon stopped answering",
        {
          delivery: "unknown",
        },
      ),
    );
    await assert.rejects(call, (error: unknown) => {
      assert.ok(error instanceof ConnectionLostError);
      assert.equal(error.delivery, "not_sent");
      assert.deepEqual(error.details, {
        delivery: "not_sent",
        session: "work",
        cursor: 500,
        destination: "db1",
      });
      assert.match(error.message, /wait again from cursor 500$/);
      return true;
    });
  });
  await t.step("when the ping after the timeout gets no answer", async () => {
    const link = new FakeLink({
      answers: {
        subscribe: subscribed(500),
        ping: () => {
          throw new TimeoutError(
            'The remote helper did not answer "ping" within 1500 ms',
          );
        },
      },
    });
    await assert.rejects(
      waitFor(link, "work", { idleMs: 1000, timeoutMs: 5 }),
      (error: unknown) => {
        assert.ok(error instanceof ConnectionLostError);
        assert.equal(error.delivery, "not_sent");
        assert.equal(error.details.cursor, 500);
        return true;
      },
    );
  });
});

Deno.test("waitFor() refuses anything but one condition", async () => {
  const link = new FakeLink({ answers: { subscribe: subscribed(500) } });
  const wrong = [
    { pattern: /a/, idleMs: 100 },
    { idleMs: 100, done: true },
    {},
  ];
  for (const options of wrong) {
    await assert.rejects(
      waitFor(link, "work", options),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /exactly one of/);
        return true;
      },
    );
  }
  assert.deepEqual(link.requests, []);
});

Deno.test("waitFor() takes no event an earlier call left queued as its own", async () => {
  const link = new FakeLink({
    answers: {
      subscribe: subscribed(500),
      unsubscribe: unsubscribed,
      ping: () => ({}),
      read: readAnswer("", { base: 500 }),
      info,
    },
  });
  // An earlier wait for /ready/ that timed out; its match came later.
  link.leaveQueued(
    { ev: "match", name: "work", match: "ready", end: 506, evicted: false },
    { ev: "done", name: "work", seq: 3, exit: 1, end: 490 },
  );
  const matched = await waitFor(link, "work", {
    pattern: /error/,
    timeoutMs: 20,
  });
  assert.equal(matched.met, false);
  assert.equal(matched.match, null);
  assert.ok(link.ops.includes("unsubscribe"), "the unmet search is ended");
  link.leaveQueued({ ev: "done", name: "work", seq: 3, exit: 1, end: 490 });
  const done = await waitFor(link, "work", { done: true, timeoutMs: 20 });
  assert.equal(done.met, false, "an old command's end is not this one's");
});

Deno.test("waitFor() matching here joins no text across a gap", async () => {
  const link = new FakeLink({
    caps: OLD_CAPS,
    answers: {
      subscribe: subscribed(500),
      unsubscribe: unsubscribed,
      ping: () => ({}),
      info,
    },
  });
  link.push(
    output(500, "a"),
    { ev: "gap", name: "work", start: 501, end: 9000 },
    output(9000, "b"),
  );
  const result = await waitFor(link, "work", { pattern: /ab/, timeoutMs: 20 });
  assert.equal(result.met, false);
  assert.equal(result.evicted, true);
});

Deno.test("waitFor() matching here anchors ^ at the start of the output only", async () => {
  const pieces = ["aaaaaaaaaa", "x" + "y".repeat(65_535), "z"];
  for (const [pattern, met] of [[/^x/, false], [/^a/, true]] as const) {
    const link = new FakeLink({
      caps: OLD_CAPS,
      answers: {
        subscribe: subscribed(500),
        unsubscribe: unsubscribed,
        ping: () => ({}),
        info,
      },
    });
    let offset = 500;
    for (const piece of pieces) {
      link.push(output(offset, piece));
      offset += piece.length;
    }
    const result = await waitFor(link, "work", { pattern, timeoutMs: 20 });
    assert.equal(result.met, met, String(pattern));
  }
});

Deno.test("waitFor() matches here for a daemon that searches on its loop", async () => {
  // An older helper's daemon: "match" without "match_text".
  const link = new FakeLink({
    caps: [...OLD_CAPS, "idle", "match"],
    answers: { subscribe: subscribed(500), unsubscribe: unsubscribed, info },
  });
  link.push(output(500, "hello 1\r\n"));
  const result = await waitFor(link, "work", { pattern: /hello 1\n/ });
  assert.equal(link.requests[0].fields.output, true);
  assert.equal(link.requests[0].fields.match, undefined);
  assert.equal(result.match, "hello 1\n");
});

Deno.test("waitFor() fails with the daemon's pattern_too_slow", async () => {
  const link = new FakeLink({
    answers: { subscribe: subscribed(500), unsubscribe: unsubscribed },
  });
  link.push({
    ev: "match_failed",
    name: "work",
    code: "pattern_too_slow",
    message: "The pattern took over 2 s to search 28 characters of output",
    end: 528,
    evicted: false,
  });
  const error = await waitFor(link, "work", { pattern: /(a+)+$/ }).then(
    () => null,
    (error) => error,
  );
  assert.ok(error instanceof SesshError);
  assert.equal(error.code, "pattern_too_slow");
  assert.match(error.message, /took over 2 s/);
});

Deno.test("LocalMatcher sees the text output shows", async (t) => {
  // Pieces of output, the pattern, and the match (null: none).
  const table: [string[], RegExp, string | null][] = [
    [["hello 1\r\n"], /hello 1\n/, "hello 1\n"],
    [["hello 2\r\n"], /hello 2\r\n/, null],
    [["hello 3\r", "\n"], /hello 3\n/, "hello 3\n"],
    [["zsh\r\r\n"], /zsh\n/, "zsh\n"],
    [["cleared\r\x1b[K\n"], /cleared\n/, "cleared\n"],
    [["50%\r100%\r\n"], /50%\r100%\n/, "50%\r100%\n"],
    [["\x1b[1mbold\x1b[0m\r\n"], /^bold$/m, "bold"],
    [['>>> print("42 ünï")\r\n42 ün', "ï\r\n>>> "], /42 ünï\n/, "42 ünï\n"],
  ];
  for (const [pieces, pattern, expected] of table) {
    await t.step(String(pattern), () => {
      const matcher = new LocalMatcher(pattern);
      let found: string | null = null;
      for (const piece of pieces) {
        found ??= matcher.push(encoder.encode(piece))?.[0] ?? null;
      }
      assert.equal(found, expected);
    });
  }
});
