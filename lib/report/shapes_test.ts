import assert from "node:assert/strict";
import {
  CALL_PATH,
  COMMAND_RECORD,
  COMMAND_RESULT,
  type FieldType,
  FILE_TRANSFER,
  LOGS_RESULT,
  OPEN_RESULT,
  RUN_RESULT,
  SCREEN_RESULT,
  SESSION_INFO,
  type Shape,
  WAIT_RESULT,
} from "./shapes.ts";
import {
  commandJson,
  commandResultJson,
  logsJson,
  openJson,
  runJson,
  screenJson,
  transferJson,
  waitJson,
} from "./result_json.ts";
import { callPathJson, formatStatus, statusJson } from "./format.ts";
import type { SessionInfo } from "../types.ts";
import type { CommandRecord } from "../session/history.ts";

/** Whether a JSON value has the descriptor's type. */
function fits(value: unknown, type: FieldType): boolean {
  if (value === null) return type.endsWith("?");
  if (type === "string[]") {
    return Array.isArray(value) && value.every((v) => typeof v === "string");
  }
  const actual: string = typeof value;
  return actual === type.replace("?", "");
}

/** Asserts the mapping gave exactly the descriptor's keys, each its type. */
function assertShape(json: object, shape: Shape, name: string) {
  assert.deepEqual(
    Object.keys(json).sort(),
    Object.keys(shape).sort(),
    `${name}: keys differ from its descriptor`,
  );
  for (const [key, value] of Object.entries(json)) {
    assert.ok(
      fits(value, shape[key]),
      `${name}.${key} is ${JSON.stringify(value)}, not ${shape[key]}`,
    );
  }
}

const INFO: SessionInfo = {
  name: "work",
  pid: 41,
  shell: "/bin/bash",
  created: new Date(0),
  lastActivity: new Date(1000),
  cols: 80,
  rows: 24,
  bufferStart: 0,
  bufferEnd: 120,
  bufferSize: 1 << 20,
  running: true,
  command: "make",
  waitingInput: false,
  cwd: "/srv",
  unknown: [],
  lastExit: 0,
  integrated: true,
  attached: false,
  detachedAt: new Date(500),
  idleDeadline: new Date(9000),
  lost: false,
  lostAt: null,
};
const LOST_INFO: SessionInfo = {
  ...INFO,
  running: false,
  command: null,
  cwd: null,
  lastExit: null,
  detachedAt: null,
  idleDeadline: null,
  lost: true,
  lostAt: new Date(2000),
};
const RECORD: CommandRecord = {
  commandId: 3,
  command: "make",
  outputStart: 10,
  outputEnd: 90,
  exitCode: 0,
  running: false,
  superseded: false,
  startedAt: new Date(0),
  endedAt: new Date(1500),
  durationMs: 1500,
};
const RUNNING: CommandRecord = {
  ...RECORD,
  outputEnd: null,
  exitCode: null,
  running: true,
  endedAt: null,
  durationMs: null,
};
const OUTPUT = { output: "ok\n", truncated: false, evicted: false, cursor: 90 };

Deno.test("statusJson() gives the fields of SESSION_INFO, each its type", () => {
  assertShape(statusJson(INFO), SESSION_INFO, "statusJson");
  assertShape(statusJson(LOST_INFO), SESSION_INFO, "statusJson");
});

Deno.test("commandJson() and commandResultJson() give their descriptors' fields", () => {
  for (const record of [RECORD, RUNNING]) {
    assertShape(commandJson(record), COMMAND_RECORD, "commandJson");
    assertShape(
      commandResultJson({ ...record, ...OUTPUT }),
      COMMAND_RESULT,
      "commandResultJson",
    );
  }
});

Deno.test("runJson() gives the fields of RUN_RESULT, each its type", () => {
  const run = {
    commandId: 3,
    exitCode: 0 as number | null,
    output: "ok\n",
    truncated: false,
    outputStart: 10,
    cursor: 90,
    running: false,
    durationMs: 12,
    created: false,
    shellExit: null as number | null,
    evicted: false,
    superseded: false,
  };
  assertShape(runJson(run), RUN_RESULT, "runJson");
  assertShape(
    runJson({ ...run, exitCode: null, running: true, shellExit: 1 }),
    RUN_RESULT,
    "runJson",
  );
});

Deno.test("waitJson() gives the fields of WAIT_RESULT, each its type", () => {
  const wait = {
    met: true,
    match: "done" as string | null,
    output: "done\n",
    cursor: 5,
    exitCode: 0 as number | null,
    commandId: 2 as number | null,
    shellExit: 0 as number | null,
    evicted: false,
  };
  assertShape(waitJson(wait), WAIT_RESULT, "waitJson");
  assertShape(
    waitJson({
      ...wait,
      met: false,
      match: null,
      exitCode: null,
      commandId: null,
      shellExit: null,
    }),
    WAIT_RESULT,
    "waitJson",
  );
});

Deno.test("openJson() and transferJson() give their descriptors' fields", () => {
  assertShape(
    openJson({ created: true, session: INFO }),
    OPEN_RESULT,
    "openJson",
  );
  assertShape(
    transferJson({
      remotePath: "/srv/a",
      localPath: "a",
      bytes: 3,
      resumedFrom: 0,
      files: 1,
      skipped: 0,
    }),
    FILE_TRANSFER,
    "transferJson",
  );
});

Deno.test("logsJson() and screenJson() give their descriptors' fields", () => {
  assertShape(
    logsJson({ ...OUTPUT, raw: null }),
    LOGS_RESULT,
    "logsJson",
  );
  assertShape(
    screenJson({
      lines: ["$ ", ""],
      cursor: { row: 0, col: 2 },
      cols: 80,
      rows: 2,
      altScreen: false,
    }),
    SCREEN_RESULT,
    "screenJson",
  );
});

Deno.test("assertShape() fails on a field the descriptor lacks or mistypes", () => {
  assert.throws(() =>
    assertShape({ ...statusJson(INFO), extra: 1 }, SESSION_INFO, "x")
  );
  assert.throws(() =>
    assertShape({ ...statusJson(INFO), cols: "80" }, SESSION_INFO, "x")
  );
  assert.throws(() =>
    assertShape({ ...statusJson(INFO), name: null }, SESSION_INFO, "x")
  );
});

Deno.test("callPathJson() gives CALL_PATH's fields, warm or not", () => {
  assertShape(
    callPathJson({
      transport: "direct",
      warm: false,
      reason: "SESSH_AGENT=0",
      agentPid: null,
    }),
    CALL_PATH,
    "path",
  );
  const warm = callPathJson({
    transport: "controlmaster",
    warm: true,
    reason: null,
    agentPid: 7,
  });
  assertShape(warm, CALL_PATH, "path");
  assert.equal(warm.transport, "controlmaster");
  assert.equal(warm.agent_pid, 7);
});

Deno.test("formatStatus() names the transport, and no master without one", () => {
  const direct = formatStatus(INFO, null, {
    transport: "direct",
    warm: true,
    reason: null,
    agentPid: 7,
  });
  assert.match(direct, /^master: none \(SESSH_CONTROL_MASTER=no\)$/m);
  assert.match(direct, /^transport: direct \(a plain ssh connection/m);
  assert.match(direct, /^call path: warm, through the local agent \(pid 7\)$/m);
  const viaMaster = formatStatus(INFO, { alive: true, pid: 9 }, {
    transport: "controlmaster",
    warm: false,
    reason: "SESSH_AGENT=0",
    agentPid: null,
  });
  assert.match(viaMaster, /^master: alive \(pid 9\)$/m);
  assert.match(viaMaster, /^transport: controlmaster$/m);
});
