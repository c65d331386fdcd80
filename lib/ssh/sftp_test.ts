import assert from "node:assert/strict";
import { sftpArgv, sftpError, sftpWord, transferBatch } from "./sftp.ts";
import { settingsFromEnv } from "./settings.ts";
import { UsageError } from "../errors.ts";

Deno.test("sftp batch lines quote paths as one word, carry -a and -R, and sync what they upload", () => {
  assert.equal(
    transferBatch("upload", 'my "x"\\.bin', "/tmp/a b", {}),
    'put -f "my \\"x\\"\\\\.bin" "/tmp/a b"\n',
  );
  assert.equal(
    transferBatch("download", "here", "there", { resume: true }),
    'get -a "there" "here"\n',
  );
  assert.equal(
    transferBatch("upload", "dir", "dest", { recursive: true }),
    'put -f -R "dir" "dest"\n',
  );
  assert.equal(
    transferBatch("upload", "a", "b", { sync: false }),
    'put "a" "b"\n',
  );
  assert.throws(() => sftpWord("a\nput /etc/passwd x"), UsageError);
});

Deno.test("sftp's complaints become errors by kind", () => {
  const host = { host: "box" };
  assert.equal(
    sftpError("subsystem request failed on channel 0\n", 255, host).details
      .noSftp,
    true,
  );
  assert.equal(
    sftpError('File "/x" not found.\n', 1, host).code,
    "no_file",
  );
  assert.equal(
    sftpError('dest open "/root/x": Permission denied\n', 1, host).code,
    "file_denied",
  );
  const closed = sftpError("Connection closed\n", 255, host);
  assert.equal(closed.code, "remote");
  assert.equal(closed.details.closed, true);
});

Deno.test("sftpArgv() goes through the master, or makes a plain connection without one", () => {
  const dest = { host: "db1", port: 2222, display: "db1" };
  const settings = settingsFromEnv({ SESSH_CONTROL_DIR: "/tmp/ctl" });
  const viaMaster = sftpArgv(dest, settings, "/tmp/ctl/abc");
  assert.ok(viaMaster.includes("ControlPath=/tmp/ctl/abc"));
  assert.ok(!viaMaster.includes("ControlPath=none"));
  const direct = sftpArgv(dest, settings, null);
  assert.deepEqual(direct.slice(0, 3), ["sftp", "-b", "-"]);
  assert.ok(direct.includes("ControlPath=none"));
  assert.ok(direct.includes("ControlMaster=no"));
  assert.ok(!direct.some((arg) => arg.startsWith("ProxyCommand=")));
  assert.deepEqual(
    direct.slice(direct.indexOf("-P"), direct.indexOf("-P") + 2),
    [
      "-P",
      "2222",
    ],
  );
  assert.deepEqual(direct.slice(-2), ["--", "db1"]);
});
