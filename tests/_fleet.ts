/**
 * Test fixture: a fleet of hosts on a few test sshds. Each alias `fanNN`
 * has a loopback address and port of its own (so its own ControlMaster, as
 * ssh's `%C` hashes them; an sshd listens on at most 16 addresses, hence
 * several servers) and its own runtime and state directories (so its own
 * daemon and sessions, as on a real host). The last two aliases are
 * dead: one points at a closed loopback port, one goes through a relay in
 * blackout (connections are taken, nothing comes back).
 *
 * @module
 */
import { startSshd, type TestSshd } from "./_sshd.ts";
import { type Relay, startRelay } from "./_relay.ts";

/** A running fleet. */
export interface TestFleet extends AsyncDisposable {
  /** The first sshd; its config (`-F`) defines every `fanNN`. */
  sshd: TestSshd;
  /** Every sshd, the first included. */
  servers: TestSshd[];
  /** The live aliases, `fan01` … */
  live: string[];
  /** The alias whose port is closed. */
  closed: string;
  /** The alias behind the relay in blackout. */
  blackout: string;
  /** The relay, partitioned. */
  relay: Relay;
}

/** `fan01`, `fan02`, … */
export function fanName(i: number): string {
  return `fan${String(i).padStart(2, "0")}`;
}

/** A loopback port that nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Starts an sshd with `live` aliases (`fan01` … on 127.0.0.2 …) and two
 * dead ones after them.
 *
 * @param live How many live hosts (at most 200).
 * @returns The fleet; dispose it to stop everything.
 */
export async function startFleet(live = 48): Promise<TestFleet> {
  const perServer = 15;
  const count = Math.ceil(live / perServer);
  const servers: TestSshd[] = [];
  const relays: Relay[] = [];
  try {
    for (let k = 0; k < count; k++) {
      servers.push(
        await startSshd({
          xdgRuntime: false,
          extraConfig: [
            // Each alias's bridge sets its own runtime and state directories.
            "AcceptEnv XDG_RUNTIME_DIR XDG_STATE_HOME",
            "MaxStartups 200",
            ...Array.from(
              { length: perServer - 1 },
              (_, i) => `ListenAddress 127.0.0.${i + 2}`,
            ),
          ],
        }),
      );
    }
    const [sshd] = servers;
    const relay = startRelay(sshd.port);
    relays.push(relay);
    relay.partition();
    const keyOf = (server: TestSshd) =>
      server.hostPublicKey.split(" ").slice(0, 2).join(" ");
    const knownHosts = `${sshd.dir}/fleet_known_hosts`;
    let config = "";
    let known = `[127.0.0.1]:${relay.port} ${keyOf(sshd)}\n`;
    const add = (
      alias: string,
      server: TestSshd,
      address: string,
      port: number,
    ) => {
      const dirs = `${sshd.dir}/fleet/${alias}`;
      Deno.mkdirSync(dirs, { recursive: true, mode: 0o700 });
      config += [
        `Host ${alias}`,
        `  HostName ${address}`,
        `  Port ${port}`,
        `  User ${server.user}`,
        `  IdentityFile ${server.identity}`,
        "  IdentitiesOnly yes",
        `  UserKnownHostsFile ${knownHosts}`,
        "  GlobalKnownHostsFile /dev/null",
        `  SetEnv XDG_RUNTIME_DIR=${dirs} XDG_STATE_HOME=${dirs}`,
        "",
      ].join("\n");
    };
    const names = Array.from({ length: live }, (_, i) => fanName(i + 1));
    names.forEach((alias, i) => {
      const server = servers[i % count];
      const address = `127.0.0.${Math.floor(i / count) + 1}`;
      add(alias, server, address, server.port);
      known += `[${address}]:${server.port} ${keyOf(server)}\n`;
    });
    const closed = fanName(live + 1);
    const blackout = fanName(live + 2);
    add(closed, sshd, "127.0.0.1", closedPort());
    add(blackout, sshd, "127.0.0.1", relay.port);
    await Deno.writeTextFile(knownHosts, known);
    await Deno.writeTextFile(sshd.configFile, config, { append: true });
    return {
      sshd,
      servers,
      live: names,
      closed,
      blackout,
      relay,
      async [Symbol.asyncDispose]() {
        await stopAll(servers, relays);
      },
    };
  } catch (error) {
    await stopAll(servers, relays);
    throw error;
  }
}

async function stopAll(servers: TestSshd[], relays: Relay[]): Promise<void> {
  for (const relay of relays) {
    relay.heal();
    await relay[Symbol.asyncDispose]();
  }
  await Promise.all(servers.map((s) => s[Symbol.asyncDispose]()));
}
