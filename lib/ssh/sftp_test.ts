import assert from "node:assert/strict";
import { sftpError, sftpWord, transferBatch } from "./sftp.ts";
import { UsageError } from "../errors.ts";

Deno.test("sftp batch lines quote paths as one word and carry -a and -R", () => {
  assert.equal(
    transferBatch("upload", 'my "x"\\.bin', "/tmp/a b", {}),
    'put "my \\"x\\"\\\\.bin" "/tmp/a b"\n',
  );
  assert.equal(
    transferBatch("download", "here", "there", { resume: true }),
    'get -a "there" "here"\n',
  );
  assert.equal(
    transferBatch("upload", "dir", "dest", { recursive: true }),
    'put -R "dir" "dest"\n',
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
