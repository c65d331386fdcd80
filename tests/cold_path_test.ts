/**
 * The cold first call, counted in round trips through a relay that traces
 * every chunk: a count does not depend on the machine's load, as a time
 * would, and on a slow link it is what the call costs.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { roundTrips, startRelay } from "./_relay.ts";
import { SesshClient } from "../mod.ts";
import { daemonPid } from "./_probes.ts";
import { listPids, readCmdline, readEnviron } from "../lib/ssh/procfs.ts";

import { assertTouchesNoTimers } from "./_cli.ts";

// The login takes six (version, key exchange, its keys and the auth
// service, the `none` method, the key's offer, its signature), as a fresh
// `ssh DEST true` does. Then one opens the channel, one runs the command
// (sshd opens the channel's window only once the command runs), and one
// carries the helper and, behind it, the hello out and the daemon's
// greeting and hello reply back.
const COLD_CONNECT_ROUND_TRIPS = 9;

Deno.test("SesshClient.connect() on a new host takes one round trip beyond the login, channel and command", async () => {
  await using sshd = await startSshd();
  await using relay = startRelay(sshd.port, { delayMs: 100 });
  const client = await SesshClient.connect({
    destination: sshd.dest,
    ssh: { configFile: sshd.configFile, port: String(relay.port) },
    env: { ...Deno.env.toObject(), ...sshd.env },
  });
  const trips = roundTrips(relay.trace, relay.delayMs);
  try {
    assert.equal(client.master?.started, true, "the call started the master");
    assert.equal(
      trips,
      COLD_CONNECT_ROUND_TRIPS,
      `${trips} round trips: ${
        relay.trace.map((e) => `${e.dir} ${e.bytes} at ${e.at.toFixed(0)}`)
          .join(", ")
      }`,
    );
  } finally {
    await client.disconnect({ stopMaster: true });
  }
});

// A daemon forked off its bridge keeps what the bridge imported (a third
// of its start), where a new interpreter would import it again. Loading
// OpenSSL (libcrypto, and libssl for asyncio's TLS) is a tenth of the
// helper's start, more on a busy host, and neither the loader's hash check
// nor the daemon needs it.
Deno.test("a first call's daemon is forked off its bridge, and neither loads OpenSSL", async () => {
  await using sshd = await startSshd();
  const client = await SesshClient.connect({
    destination: sshd.dest,
    ssh: { configFile: sshd.configFile },
    env: { ...Deno.env.toObject(), ...sshd.env },
  });
  try {
    // The daemon is forked off a bridge: it has the bridge's command line.
    const daemon = daemonPid(sshd);
    const bridges = listPids().filter((pid) =>
      pid !== daemon && readCmdline(pid)?.at(-1) === "bridge" &&
      readEnviron(pid)?.XDG_RUNTIME_DIR === sshd.remoteRuntimeDir
    );
    assert.equal(bridges.length, 1, `bridges: ${bridges}`);
    assert.deepEqual(readCmdline(daemon), readCmdline(bridges[0]));
    const started = { bridge: bridges[0], daemon };
    for (const [role, pid] of Object.entries(started)) {
      const maps = await Deno.readTextFile(`/proc/${pid}/maps`);
      const openssl = maps.match(/\S*lib(ssl|crypto)\.so\S*/)?.[0];
      assert.equal(openssl, undefined, `the ${role} maps ${openssl}`);
    }
  } finally {
    await client.disconnect({ stopMaster: true });
  }
});

// Deno's global setTimeout costs 10 ms or more the first time a process
// touches it (lib/timer.ts); a cold call has a master, a helper and a
// daemon to start, and its timers are the command line's cheap ones.
Deno.test("a cold sessh run never touches Deno's global timers", async () => {
  await using sshd = await startSshd();
  await assertTouchesNoTimers(sshd, ["run", "cold", sshd.dest, "--", "true"]);
});
