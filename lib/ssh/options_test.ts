import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { runCommand } from "../process.ts";
import type { Destination } from "./destination.ts";
import {
  baseOptions,
  clientArgv,
  configArgv,
  controlArgv,
  destinationArg,
  directArgv,
  forwardArgv,
  masterArgv,
  masterEnv,
  NO_MASTER_MESSAGE,
} from "./options.ts";
import {
  controlMaster,
  DEFAULT_CIPHERS,
  DEFAULT_KEX,
  DEFAULT_MACS,
  settingsFromEnv,
  type SshSettings,
} from "./settings.ts";

const ENV = { SESSH_CONTROL_DIR: "/tmp/ctl" };
const DB1: Destination = { host: "db1", display: "db1" };
const ADMIN: Destination = {
  host: "db1",
  user: "admin",
  port: 2222,
  display: "admin@db1:2222",
};

/** The hardened defaults, in order, with the given control options. */
function hardened(
  control: string[],
  overrides: Record<string, string> = {},
): string[] {
  const options = {
    BatchMode: "yes",
    PasswordAuthentication: "no",
    KbdInteractiveAuthentication: "no",
    PubkeyAuthentication: "yes",
    StrictHostKeyChecking: "accept-new",
    ServerAliveInterval: "30",
    ServerAliveCountMax: "3",
    ConnectTimeout: "10",
    KexAlgorithms: DEFAULT_KEX,
    Ciphers: DEFAULT_CIPHERS,
    MACs: DEFAULT_MACS,
    ...overrides,
  };
  return [
    ...Object.entries(options).map(([key, value]) => `${key}=${value}`),
    ...control,
  ]
    .flatMap((option) => ["-o", option]);
}

function assertUsage(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.exitCode, 2);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("settingsFromEnv() applies the defaults", () => {
  const expected: SshSettings = {
    program: "ssh",
    extraOptions: [],
    controlDir: "/tmp/ctl",
    controlMaster: true,
    persist: "8h",
    keepAliveSeconds: 30,
    connectTimeoutSeconds: 10,
    strictHostKeyChecking: "accept-new",
    kexAlgorithms: DEFAULT_KEX,
    ciphers: DEFAULT_CIPHERS,
    macs: DEFAULT_MACS,
    noProcfs: false,
  };
  assert.deepEqual(settingsFromEnv(ENV, {}), expected);
});

Deno.test("settingsFromEnv() reads every SESSH_* variable", () => {
  const settings = settingsFromEnv({
    ...ENV,
    SESSH_IDENTITY: "/keys/id",
    SESSH_PROXYJUMP: "bastion",
    SESSH_PERSIST: "30m",
    SESSH_KEEPALIVE: "0",
    SESSH_CONNECT_TIMEOUT: "3",
    SESSH_STRICT_HOST: "yes",
    SESSH_KEX: "curve25519-sha256",
    SESSH_CIPHERS: "aes128-ctr",
    SESSH_MACS: "+hmac-sha1",
    SESSH_SSH: "autossh",
    SESSH_CONTROL_MASTER: "no",
    SESSH_NO_PROCFS: "1",
  });
  assert.deepEqual(settings, {
    program: "autossh",
    identity: "/keys/id",
    jump: "bastion",
    extraOptions: [],
    controlDir: "/tmp/ctl",
    controlMaster: false,
    persist: "30m",
    keepAliveSeconds: 0,
    connectTimeoutSeconds: 3,
    strictHostKeyChecking: "yes",
    kexAlgorithms: "curve25519-sha256",
    ciphers: "aes128-ctr",
    macs: "+hmac-sha1",
    noProcfs: true,
  });
});

Deno.test("settingsFromEnv() takes SESSH_CONTROL_MASTER yes, no or auto", () => {
  assert.equal(
    settingsFromEnv({ ...ENV, SESSH_CONTROL_MASTER: "yes" }).controlMaster,
    true,
  );
  assert.equal(
    settingsFromEnv({ ...ENV, SESSH_CONTROL_MASTER: "auto" }).controlMaster,
    Deno.build.os !== "windows",
  );
});

Deno.test("forwardArgv() holds one forward on a plain connection that ends when it cannot be set up", () => {
  const argv = forwardArgv(
    { host: "db1", display: "db1", port: 2222 },
    settingsFromEnv({ ...ENV, SESSH_CONTROL_MASTER: "no" }, {
      options: ["LogLevel=QUIET"],
    }),
    { kind: "R", spec: "9000:localhost:9000" },
  );
  assert.deepEqual(argv.slice(0, 4), ["ssh", "-v", "-n", "-N"]);
  assert.deepEqual(argv.slice(-4), ["-R", "9000:localhost:9000", "--", "db1"]);
  for (const option of ["ControlMaster=no", "ControlPath=none"]) {
    assert.ok(argv.includes(option), option);
  }
  assert.ok(argv.includes("ExitOnForwardFailure=yes"));
  assert.equal(argv[argv.indexOf("-p") + 1], "2222");
  // -v before the user's -o: ssh keeps the first LogLevel it is given.
  assert.ok(argv.indexOf("-v") < argv.indexOf("LogLevel=QUIET"));
});

Deno.test("settingsFromEnv() treats empty variables as unset", () => {
  const settings = settingsFromEnv({
    ...ENV,
    SESSH_PERSIST: "",
    SESSH_IDENTITY: "",
    SESSH_SSH: "",
  });
  assert.equal(settings.persist, "8h");
  assert.equal(settings.identity, undefined);
  assert.equal(settings.program, "ssh");
});

Deno.test("settingsFromEnv() lets flags win over the environment", () => {
  const settings = settingsFromEnv(
    { ...ENV, SESSH_IDENTITY: "/env/id", SESSH_PROXYJUMP: "envjump" },
    {
      port: "2222",
      identity: "/flag/id",
      jump: "flagjump",
      configFile: "/cfg",
      options: ["Compression=yes"],
    },
  );
  assert.equal(settings.port, 2222);
  assert.equal(settings.identity, "/flag/id");
  assert.equal(settings.jump, "flagjump");
  assert.equal(settings.configFile, "/cfg");
  assert.deepEqual(settings.extraOptions, ["Compression=yes"]);
});

Deno.test("settingsFromEnv() refuses flag values beginning with a dash", async (t) => {
  const table: [string, Parameters<typeof settingsFromEnv>[1], RegExp][] = [
    [
      "-i",
      { identity: "-oProxyCommand=x" },
      /^Option -i value "-oProxyCommand=x" begins with "-"/,
    ],
    ["-J", { jump: "-x" }, /^Option -J value "-x" begins with "-"/],
    ["-F", { configFile: "-x" }, /^Option -F value "-x" begins with "-"/],
    ["-o", { options: ["-x"] }, /^Option -o value "-x" begins with "-"/],
    ["-p", { port: "-1" }, /^Option -p "-1" is not a port/],
  ];
  for (const [flag, flags, pattern] of table) {
    await t.step(
      flag,
      () => assertUsage(() => settingsFromEnv(ENV, flags), pattern),
    );
  }
  assertUsage(
    () => settingsFromEnv({ ...ENV, SESSH_IDENTITY: "-x" }),
    /^SESSH_IDENTITY "-x" begins with "-"/,
  );
  assertUsage(
    () => settingsFromEnv({ ...ENV, SESSH_PROXYJUMP: "-x" }),
    /^SESSH_PROXYJUMP "-x" begins with "-"/,
  );
});

Deno.test("settingsFromEnv() refuses malformed or managed -o options", () => {
  assertUsage(
    () => settingsFromEnv(ENV, { options: ["Compression"] }),
    /is not an ssh option; write -o Key=value/,
  );
  assertUsage(
    () => settingsFromEnv(ENV, { options: ["=yes"] }),
    /is not an ssh option/,
  );
  assertUsage(
    () => settingsFromEnv(ENV, { options: ["A=b\nc"] }),
    /contains control characters/,
  );
  assertUsage(
    () => settingsFromEnv(ENV, { options: ["controlpath=/x"] }),
    /^Option -o "controlpath=\/x" sets ControlPath, which sessh manages itself/,
  );
  assertUsage(
    () => settingsFromEnv(ENV, { options: ["RemoteCommand tmux"] }),
    /sets RemoteCommand/,
  );
  assert.deepEqual(
    settingsFromEnv(ENV, { options: ["User bob", "Port = 22"] }).extraOptions,
    ["User bob", "Port = 22"],
  );
});

Deno.test("settingsFromEnv() validates numbers and enumerations", async (t) => {
  const table: [Record<string, string>, RegExp][] = [
    [
      { SESSH_KEEPALIVE: "abc" },
      /^SESSH_KEEPALIVE "abc" is not a whole number of seconds of at least 0$/,
    ],
    [{ SESSH_KEEPALIVE: "-5" }, /^SESSH_KEEPALIVE "-5"/],
    [
      { SESSH_CONNECT_TIMEOUT: "0" },
      /^SESSH_CONNECT_TIMEOUT "0" is not a whole number of seconds of at least 1$/,
    ],
    [{ SESSH_CONNECT_TIMEOUT: "1.5" }, /^SESSH_CONNECT_TIMEOUT "1.5"/],
    [
      { SESSH_NO_PROCFS: "yes" },
      /^SESSH_NO_PROCFS "yes" is not 1 or 0; set it to 1 or unset it$/,
    ],
    [
      { SESSH_PERSIST: "forever" },
      /^SESSH_PERSIST "forever" is not a ControlPersist time/,
    ],
    [{ SESSH_PERSIST: "no" }, /^SESSH_PERSIST "no"/],
    [
      { SESSH_STRICT_HOST: "ask" },
      /^SESSH_STRICT_HOST "ask" is not one of yes, no, accept-new, off/,
    ],
    [{ SESSH_KEX: "a b" }, /^SESSH_KEX "a b" is not a comma-separated list/],
    [{ SESSH_CIPHERS: "aes,,x" }, /^SESSH_CIPHERS/],
    [{ SESSH_MACS: "x;id" }, /^SESSH_MACS/],
    [
      { SESSH_SSH: "/bin/sh" },
      /^SESSH_SSH "\/bin\/sh" is not supported; set it to "ssh" or "autossh"$/,
    ],
    [
      { SESSH_CONTROL_MASTER: "off" },
      /^SESSH_CONTROL_MASTER "off" is not one of yes, no, auto/,
    ],
  ];
  for (const [env, pattern] of table) {
    await t.step(
      JSON.stringify(env),
      () => assertUsage(() => settingsFromEnv({ ...ENV, ...env }), pattern),
    );
  }
  assert.equal(
    settingsFromEnv({ ...ENV, SESSH_PERSIST: "1h30m" }).persist,
    "1h30m",
  );
  assert.equal(
    settingsFromEnv({ ...ENV, SESSH_PERSIST: "yes" }).persist,
    "yes",
  );
  assert.equal(
    settingsFromEnv({ ...ENV, SESSH_NO_PROCFS: "0" }).noProcfs,
    false,
  );
});

Deno.test("controlMaster() is off on Windows unless asked for", async (t) => {
  const table: [string | undefined, typeof Deno.build.os, boolean][] = [
    [undefined, "linux", true],
    [undefined, "darwin", true],
    [undefined, "windows", false],
    ["auto", "windows", false],
    ["auto", "freebsd", true],
    ["no", "linux", false],
    ["yes", "windows", true],
  ];
  for (const [value, os, expected] of table) {
    await t.step(`${value} on ${os}`, () => {
      assert.equal(controlMaster(value, os), expected);
    });
  }
});

Deno.test("baseOptions() lists the hardened defaults", () => {
  assert.deepEqual(
    baseOptions(settingsFromEnv(ENV)),
    hardened(["ControlPath=/tmp/ctl/%C"]),
  );
});

Deno.test("baseOptions() puts user -o options first and flags last", () => {
  const settings = settingsFromEnv(
    { ...ENV, SESSH_KEEPALIVE: "5" },
    {
      port: "2200",
      identity: "/k/id",
      jump: "bastion",
      configFile: "/cfg",
      options: ["StrictHostKeyChecking=no", "Compression=yes"],
    },
  );
  assert.deepEqual(baseOptions(settings), [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "Compression=yes",
    ...hardened(["ControlPath=/tmp/ctl/%C"], { ServerAliveInterval: "5" }),
    "-i",
    "/k/id",
    "-o",
    "IdentitiesOnly=yes",
    "-p",
    "2200",
    "-J",
    "bastion",
    "-F",
    "/cfg",
  ]);
});

Deno.test("masterArgv() starts a backgrounded ControlMaster", () => {
  assert.deepEqual(masterArgv(DB1, settingsFromEnv(ENV)), [
    "ssh",
    ...hardened(["ControlPath=/tmp/ctl/%C"]),
    "-o",
    "ControlMaster=yes",
    "-o",
    "ControlPersist=8h",
    "-f",
    "-N",
    "--",
    "db1",
  ]);
});

Deno.test("masterArgv() passes the destination's port and the log file", () => {
  const settings = settingsFromEnv({ ...ENV, SESSH_PERSIST: "1h" }, {
    port: "22",
    options: ["Compression=yes"],
  });
  assert.deepEqual(masterArgv(ADMIN, settings, { logFile: "/tmp/ctl/x.log" }), [
    "ssh",
    "-o",
    "Compression=yes",
    ...hardened(["ControlPath=/tmp/ctl/%C"]),
    "-p",
    "2222",
    "-o",
    "ControlMaster=yes",
    "-o",
    "ControlPersist=1h",
    "-E",
    "/tmp/ctl/x.log",
    "-f",
    "-N",
    "--",
    "admin@db1",
  ]);
});

Deno.test("masterArgv() lets autossh hold the master", () => {
  const settings = settingsFromEnv({ ...ENV, SESSH_SSH: "autossh" });
  const argv = masterArgv(DB1, settings);
  assert.deepEqual(argv.slice(0, 5), [
    "autossh",
    "-M",
    "0",
    "-o",
    "BatchMode=yes",
  ]);
  assert.deepEqual(argv.slice(-4), ["-f", "-N", "--", "db1"]);
  assert.deepEqual(masterEnv(settings), { AUTOSSH_GATETIME: "0" });
  assert.deepEqual(masterEnv(settingsFromEnv(ENV)), {});
});

Deno.test("clientArgv() runs a command through the master without a TTY", () => {
  assert.deepEqual(clientArgv(ADMIN, settingsFromEnv(ENV), "echo ok"), [
    "ssh",
    ...hardened(["ControlPath=/tmp/ctl/%C"]),
    "-p",
    "2222",
    "-o",
    "ControlMaster=no",
    "-T",
    "--",
    "admin@db1",
    "echo ok",
  ]);
});

Deno.test("clientArgv() with the socket path can never connect by itself", () => {
  const settings = settingsFromEnv({ ...ENV, SESSH_PROXYJUMP: "bastion" }, {
    options: ["ProxyCommand=nc %h %p"],
  });
  assert.deepEqual(
    clientArgv(DB1, settings, "echo ok", { controlPath: "/tmp/ctl/abc" }),
    [
      "ssh",
      "-o",
      `ProxyCommand=sh -c "echo '${NO_MASTER_MESSAGE}' >&2; exit 255"`,
      "-o",
      "ProxyCommand=nc %h %p",
      ...hardened(["ControlPath=/tmp/ctl/abc"]),
      "-o",
      "ControlMaster=no",
      "-T",
      "--",
      "db1",
      "echo ok",
    ],
  );
});

Deno.test("controlArgv() checks or stops the master", () => {
  const settings = settingsFromEnv(ENV, { configFile: "/cfg" });
  for (const op of ["check", "exit"] as const) {
    assert.deepEqual(controlArgv(DB1, settings, op), [
      "ssh",
      ...hardened(["ControlPath=/tmp/ctl/%C"]),
      "-F",
      "/cfg",
      "-O",
      op,
      "--",
      "db1",
    ]);
  }
});

Deno.test("directArgv() bypasses any master", () => {
  assert.deepEqual(
    directArgv(DB1, settingsFromEnv(ENV, { jump: "bastion" }), "true"),
    [
      "ssh",
      ...hardened(["ControlMaster=no", "ControlPath=none"]),
      "-J",
      "bastion",
      "-T",
      "--",
      "db1",
      "true",
    ],
  );
});

Deno.test("configArgv() asks ssh -G for the resolved configuration", () => {
  assert.deepEqual(configArgv(ADMIN, settingsFromEnv(ENV)), [
    "ssh",
    ...hardened(["ControlPath=/tmp/ctl/%C"]),
    "-p",
    "2222",
    "-G",
    "--",
    "admin@db1",
  ]);
});

Deno.test("destinationArg() joins user and host", () => {
  assert.equal(destinationArg(DB1), "db1");
  assert.equal(destinationArg(ADMIN), "admin@db1");
  assert.equal(
    destinationArg({ host: "::1", user: "u", display: "u@[::1]" }),
    "u@::1",
  );
});

Deno.test("the default algorithms are all supported by the local ssh", async () => {
  for (
    const [query, list] of [["kex", DEFAULT_KEX], ["cipher", DEFAULT_CIPHERS], [
      "mac",
      DEFAULT_MACS,
    ]]
  ) {
    const output = await runCommand(["ssh", "-Q", query], { timeoutMs: 5000 });
    const supported = new TextDecoder().decode(output.stdout).split("\n");
    for (const name of list.split(",")) {
      assert.ok(supported.includes(name), `${query} ${name}`);
    }
  }
});
