import assert from "node:assert/strict";
import { REMOTE_EXITS, remoteExitAdvice } from "./exit_codes.ts";
import { bridgeFailure } from "../transport/bridge.ts";
import { parseDestination } from "../ssh/destination.ts";

const here = new URL(".", import.meta.url).pathname;

Deno.test("the loader and the helper exit with the codes the table explains, each its own", async () => {
  const loader = await Deno.readTextFile(`${here}loader.py`);
  const loaderCodes = [...loader.matchAll(/sys\.exit\((\d+)\)/g)]
    .map((m) => Number(m[1])).sort();
  assert.deepEqual(loaderCodes, [3, 4, 5]);
  // The helper exits through the contract's constants (generated from it).
  const helperExits: string[] = [];
  for await (const entry of Deno.readDir(`${here}helper`)) {
    if (!entry.name.endsWith(".py") || entry.name.endsWith("_test.py")) {
      continue;
    }
    const source = await Deno.readTextFile(`${here}helper/${entry.name}`);
    for (const m of source.matchAll(/sys\.exit\((EXIT_[A-Z_]+)\)/g)) {
      helperExits.push(m[1]);
    }
  }
  assert.deepEqual(
    [...new Set(helperExits)].sort(),
    ["EXIT_DAEMON_START", "EXIT_UNSAFE_RUNTIME_DIR"],
  );
  const byHelper = Object.entries(REMOTE_EXITS)
    .filter(([, exit]) => exit.by === "helper")
    .map(([code, exit]) => [`EXIT_${exit.name.toUpperCase()}`, Number(code)]);
  assert.deepEqual(byHelper, [
    ["EXIT_UNSAFE_RUNTIME_DIR", 6],
    ["EXIT_DAEMON_START", 7],
  ]);
  assert.deepEqual(
    Object.keys(REMOTE_EXITS).map(Number),
    [...loaderCodes, 6, 7],
  );
});

Deno.test("a bridge that failed with a code of the table carries its advice", () => {
  const dest = parseDestination("me@box");
  const old = bridgeFailure(dest, 5, "sessh: /usr/bin/python3 is Python 3.6");
  assert.equal(old.code, "no_python");
  assert.match(old.message, /older than 3\.8/);
  const daemon = bridgeFailure(dest, 7, "sessh: the daemon did not start");
  assert.equal(daemon.code, "helper_failed");
  assert.match(
    daemon.message,
    /did not start; the sessh daemon .*daemon\.log$/,
  );
  const other = bridgeFailure(dest, 9, "boom");
  assert.equal(
    other.message,
    'The sessh helper on "me@box" failed (exit 9): boom',
  );
  assert.equal(remoteExitAdvice(9), null);
});
