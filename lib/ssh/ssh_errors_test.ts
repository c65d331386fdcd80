import assert from "node:assert/strict";
import { ConnectError } from "../errors.ts";
import type { Destination } from "./destination.ts";
import { NO_MASTER_MESSAGE } from "./options.ts";
import { classifySshFailure } from "./ssh_errors.ts";

const DB1: Destination = { host: "db1", display: "db1" };

// Real stderr of OpenSSH 9.2p1 (Debian 12), captured against the test sshd.
const CHANGED = [
  "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
  "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
  "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
  "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
  "Someone could be eavesdropping on you right now (man-in-the-middle attack)!",
  "It is also possible that a host key has just been changed.",
  "The fingerprint for the ED25519 key sent by the remote host is\nSHA256:aXRe6XyLL4mRfpPSCOB5ghcYadW8NPhJOjdLDNbDyUo.",
  "Please contact your system administrator.",
  "Add correct host key in /tmp/t/known_hosts to get rid of this message.",
  "Offending ED25519 key in /tmp/t/known_hosts:1",
  "  remove with:",
  '  ssh-keygen -f "/tmp/t/known_hosts" -R "[127.0.0.1]:34921"',
  "Host key for [127.0.0.1]:34921 has changed and you have requested strict checking.",
  "Host key verification failed.",
  "",
].join("\r\n");

const UNPROTECTED = [
  "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
  "@         WARNING: UNPROTECTED PRIVATE KEY FILE!          @",
  "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
  "Permissions 0644 for '/home/u/.ssh/id_ed25519' are too open.",
  "It is required that your private key files are NOT accessible by others.",
  "This private key will be ignored.",
  'Load key "/home/u/.ssh/id_ed25519": bad permissions',
  "u@db1: Permission denied (publickey).",
  "",
].join("\r\n");

const TABLE: [string, number, string, ConnectError["code"], RegExp][] = [
  [
    "permission denied",
    255,
    "nobody@127.0.0.1: Permission denied (publickey).\r\n",
    "auth_failed",
    /^Cannot reach "db1": ssh exited 255 \(Permission denied \(publickey\)\); check SESSH_IDENTITY or the ssh identity option$/,
  ],
  [
    "missing identity file",
    255,
    "Warning: Identity file /k/id not accessible: No such file or directory.\nu@db1: Permission denied (publickey).\r\n",
    "auth_failed",
    /\(Permission denied \(publickey\)\); the identity file \/k\/id does not exist; check SESSH_IDENTITY/,
  ],
  [
    "unprotected key",
    255,
    UNPROTECTED,
    "auth_failed",
    /the key \/home\/u\/\.ssh\/id_ed25519 is readable by others and was ignored; run chmod 600 on it$/,
  ],
  [
    "too many authentication failures",
    255,
    "Received disconnect from 10.0.0.1 port 22:2: Too many authentication failures\r\nDisconnected from 10.0.0.1 port 22\r\n",
    "auth_failed",
    /\(Too many authentication failures\); check SESSH_IDENTITY/,
  ],
  [
    "unknown host key",
    255,
    "No ED25519 host key is known for [127.0.0.1]:34921 and you have requested strict checking.\r\nHost key verification failed.\r\n",
    "host_key",
    /^Cannot reach "db1": ssh exited 255 \(No ED25519 host key is known for \[127\.0\.0\.1\]:34921\); the host key is UNKNOWN; .*known_hosts.*SESSH_STRICT_HOST=accept-new/,
  ],
  [
    "bare host key verification failure",
    255,
    "Host key verification failed.\r\n",
    "host_key",
    /\(Host key verification failed\); the host key is UNKNOWN/,
  ],
  [
    "changed host key",
    255,
    CHANGED,
    "host_key",
    /^Cannot reach "db1": ssh exited 255 \(Host key for \[127\.0\.0\.1\]:34921 has changed\); the host key CHANGED since it was recorded in \/tmp\/t\/known_hosts:1, which may be an attack; .*remove the old entry with ssh-keygen -f "\/tmp\/t\/known_hosts" -R "\[127\.0\.0\.1\]:34921"$/,
  ],
  [
    "connection refused",
    255,
    "ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n",
    "connect_failed",
    /^Cannot reach "db1": ssh exited 255 \(connect to host 127\.0\.0\.1 port 1: Connection refused\); check that sshd runs on that host and port$/,
  ],
  [
    "unresolvable host",
    255,
    "ssh: Could not resolve hostname nonexistent.invalid: Name or service not known\r\n",
    "connect_failed",
    /\(Could not resolve hostname nonexistent\.invalid: Name or service not known\); check the host name/,
  ],
  [
    "connect timeout",
    255,
    "ssh: connect to host 10.255.255.1 port 22: Connection timed out\r\n",
    "connect_failed",
    /Connection timed out\); check the network, VPN and firewall, or raise SESSH_CONNECT_TIMEOUT$/,
  ],
  [
    "banner timeout",
    255,
    "Connection timed out during banner exchange\r\nConnection to 10.255.255.1 port 22 timed out\r\n",
    "connect_failed",
    /\(Connection timed out during banner exchange\); .*SESSH_CONNECT_TIMEOUT/,
  ],
  [
    "operation timed out (macOS)",
    255,
    "ssh: connect to host db1 port 22: Operation timed out\r\n",
    "connect_failed",
    /Operation timed out\)/,
  ],
  [
    "no route",
    255,
    "ssh: connect to host 10.1.1.1 port 22: No route to host\r\n",
    "connect_failed",
    /No route to host\); check the network/,
  ],
  [
    "closed by the server",
    255,
    "kex_exchange_identification: read: Connection reset by peer\r\nConnection reset by 127.0.0.1 port 22\r\n",
    "connect_failed",
    /\(kex_exchange_identification: read: Connection reset by peer\); the server hung up/,
  ],
  [
    "closed by",
    255,
    "Connection closed by 127.0.0.1 port 2222\r\n",
    "connect_failed",
    /\(Connection closed by 127\.0\.0\.1 port 2222\)/,
  ],
  [
    "jump host refused",
    255,
    "ssh: connect to host 127.0.0.1 port 1: Connection refused\r\nkex_exchange_identification: Connection closed by remote host\r\nConnection closed by UNKNOWN port 65535\r\n",
    "connect_failed",
    /\(connect to host 127\.0\.0\.1 port 1: Connection refused\)/,
  ],
  [
    "local firewall",
    255,
    "ssh: connect to host 10.0.0.1 port 22: Permission denied\r\n",
    "connect_failed",
    /\(connect to host 10\.0\.0\.1 port 22: Permission denied\); check the network and firewall$/,
  ],
  [
    "no master for a mux client",
    255,
    `${NO_MASTER_MESSAGE}\nkex_exchange_identification: Connection closed by remote host\r\nConnection closed by UNKNOWN port 65535\r\n`,
    "connect_failed",
    /\(its ControlMaster connection is gone\); run the command again to connect anew$/,
  ],
  [
    "kex mismatch",
    255,
    "Unable to negotiate with 127.0.0.1 port 34921: no matching key exchange method found. Their offer: diffie-hellman-group14-sha1,diffie-hellman-group1-sha1\r\n",
    "ssh_failed",
    /\(no matching key exchange method found\); set SESSH_KEX to an algorithm the server offers \(diffie-hellman-group14-sha1,diffie-hellman-group1-sha1\)$/,
  ],
  [
    "cipher mismatch",
    255,
    "Unable to negotiate with 127.0.0.1 port 34921: no matching cipher found. Their offer: aes128-cbc\r\n",
    "ssh_failed",
    /set SESSH_CIPHERS/,
  ],
  [
    "MAC mismatch",
    255,
    "Unable to negotiate with 127.0.0.1 port 22: no matching MAC found. Their offer: hmac-sha1\r\n",
    "ssh_failed",
    /set SESSH_MACS/,
  ],
  [
    "bad option",
    255,
    "command-line: line 0: Bad configuration option: bogus\r\n",
    "ssh_failed",
    /\(command-line: line 0: Bad configuration option: bogus\); check the ssh options, the config file given/,
  ],
  [
    "missing config file",
    255,
    "Can't open user config file /nonexistent/cfg: No such file or directory\r\n",
    "ssh_failed",
    /\(Can't open user config file \/nonexistent\/cfg: No such file or directory\)/,
  ],
  [
    "anything else",
    255,
    "Warning: Permanently added '[127.0.0.1]:2222' (ED25519) to the list of known hosts.\r\nmux_client_request_session: session request failed: Session open refused by peer\r\n\r\n",
    "ssh_failed",
    /^Cannot reach "db1": ssh exited 255 \(mux_client_request_session: session request failed: Session open refused by peer\); run ssh -v/,
  ],
  [
    "no message",
    1,
    "",
    "ssh_failed",
    /^Cannot reach "db1": ssh exited 1 \(no message\)/,
  ],
  [
    "timed out by sessh",
    124,
    "",
    "connect_failed",
    /^Cannot reach "db1": ssh timed out \(no answer\); .*SESSH_CONNECT_TIMEOUT$/,
  ],
];

Deno.test("classifySshFailure() maps real ssh stderr to a cause and advice", async (t) => {
  for (const [name, code, stderr, expectedCode, pattern] of TABLE) {
    await t.step(name, () => {
      const error = classifySshFailure(DB1, code, stderr);
      assert.ok(error instanceof ConnectError);
      assert.equal(error.code, expectedCode);
      assert.equal(error.exitCode, 255);
      assert.match(error.message, pattern);
    });
  }
});

Deno.test("classifySshFailure() quotes the destination's display form", () => {
  const dest: Destination = {
    host: "::1",
    user: "u",
    port: 22,
    display: "u@[::1]:22",
  };
  const error = classifySshFailure(
    dest,
    255,
    "u@::1: Permission denied (publickey).\r\n",
  );
  assert.match(error.message, /^Cannot reach "u@\[::1\]:22": /);
});

Deno.test("classifySshFailure() keeps long causes short", () => {
  const error = classifySshFailure(DB1, 255, `${"x".repeat(1000)}\n`);
  assert.ok(error.message.length < 400);
  assert.match(error.message, /x\.\.\.\)/);
});
