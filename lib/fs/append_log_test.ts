import assert from "node:assert/strict";
import { AppendLog } from "./append_log.ts";
import { UsageError } from "../errors.ts";

function scratch(): Disposable & { dir: string } {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  return {
    dir,
    [Symbol.dispose]: () => Deno.removeSync(dir, { recursive: true }),
  };
}

Deno.test("AppendLog.open() makes a new file with mode 0600", () => {
  using tmp = scratch();
  const path = `${tmp.dir}/audit.jsonl`;
  using log = AppendLog.open(path);
  log.appendLine("one");
  assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  assert.equal(Deno.readTextFileSync(path), "one\n");
});

Deno.test("AppendLog appends to what the file holds, line by line", () => {
  using tmp = scratch();
  const path = `${tmp.dir}/audit.jsonl`;
  Deno.writeTextFileSync(path, "before\n", { mode: 0o600 });
  Deno.chmodSync(path, 0o600);
  {
    using log = AppendLog.open(path);
    log.appendLine("one");
  }
  using again = AppendLog.open(path);
  again.appendLine("two");
  assert.equal(Deno.readTextFileSync(path), "before\none\ntwo\n");
});

Deno.test("AppendLog.open() refuses links, other files and open modes, writing nothing", async (t) => {
  using tmp = scratch();
  const target = `${tmp.dir}/target`;
  Deno.writeTextFileSync(target, "keep\n");
  Deno.chmodSync(target, 0o600);
  Deno.symlinkSync(target, `${tmp.dir}/sym`);
  Deno.symlinkSync(`${tmp.dir}/absent`, `${tmp.dir}/dangling`);
  Deno.linkSync(target, `${tmp.dir}/hard`);
  Deno.mkdirSync(`${tmp.dir}/dir`);
  Deno.writeTextFileSync(`${tmp.dir}/open`, "");
  Deno.chmodSync(`${tmp.dir}/open`, 0o644);
  const table: [name: string, message: RegExp][] = [
    ["sym", /it is a symbolic link; name the file itself$/],
    ["dangling", /it is a symbolic link/],
    ["hard", /it has 2 names \(a hard link\)/],
    ["dir", /it is not a plain file$/],
    ["open", /its mode is 644, open to others; chmod 600 it$/],
    ["missing/audit", /^Refusing the log file ".*missing\/audit": /],
  ];
  for (const [name, message] of table) {
    await t.step(name, () => {
      assert.throws(
        () => AppendLog.open(`${tmp.dir}/${name}`),
        (error) => error instanceof UsageError && message.test(error.message),
      );
    });
  }
  assert.equal(Deno.readTextFileSync(target), "keep\n");
  assert.throws(() => Deno.lstatSync(`${tmp.dir}/absent`));
});

Deno.test({
  name: "AppendLog.open() refuses a file owned by someone else",
  ignore: Deno.uid() !== 0,
  fn: () => {
    using tmp = scratch();
    const path = `${tmp.dir}/theirs`;
    Deno.writeTextFileSync(path, "");
    Deno.chmodSync(path, 0o600);
    Deno.chownSync(path, 1234, 1234);
    assert.throws(
      () => AppendLog.open(path),
      /it is owned by uid 1234, not by you \(uid 0\)/,
    );
  },
});
