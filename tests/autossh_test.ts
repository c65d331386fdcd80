import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sesshJson } from "./_cli.ts";

const hasAutossh = await new Deno.Command("sh", {
  args: ["-c", "command -v autossh"],
  stdout: "null",
})
  .output().then((o) => o.success, () => false);

Deno.test({
  name:
    "SESSH_SSH=autossh: autossh holds the master and sessions work through it",
  ignore: !hasAutossh,
  async fn() {
    await using sshd = await startSshd();
    const env = { SESSH_SSH: "autossh" };
    const run = await sesshJson(sshd, [
      "run",
      "auto",
      sshd.dest,
      "--",
      "echo via-autossh",
    ], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.json.output, "via-autossh\n");
    const status = await sesshJson(sshd, ["status", "auto", sshd.dest], {
      env,
    });
    const master = status.json.master as { alive: boolean; pid: number };
    assert.equal(master.alive, true);
    const argv = (await Deno.readTextFile(`/proc/${master.pid}/cmdline`)).split(
      "\0",
    );
    assert.ok(argv.includes("ControlMaster=yes"), argv.join(" "));
    const closed = await sesshJson(sshd, ["close", "auto", sshd.dest], { env });
    assert.equal(closed.json.master_stopped, true);
  },
});
