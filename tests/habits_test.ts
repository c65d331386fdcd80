/**
 * Habits of the bash sessh that keep working: `pane NAME DEST LINES` reads
 * LINES (not a port), and `screen` with LINES adds the lines scrolled off
 * above the screen.
 */
import assert from "node:assert/strict";
import { startSshd } from "./_sshd.ts";
import { sessh } from "./_cli.ts";

Deno.test("screen and pane take LINES after DEST, the scrolled-off lines included", async (t) => {
  await using sshd = await startSshd();
  const dest = sshd.dest;
  const opened = await sessh(sshd, [
    "open",
    "h",
    dest,
    "--shell",
    "bash",
    "--rows",
    "6",
  ]);
  assert.equal(opened.code, 0, opened.stderr);
  const ran = await sessh(sshd, ["run", "h", dest, "--", "seq 101 130"]);
  assert.equal(ran.code, 0, ran.stderr);

  await t.step("without LINES: the 6 visible rows only", async () => {
    const screen = await sessh(sshd, ["screen", "h", dest]);
    assert.equal(screen.code, 0, screen.stderr);
    const rows = screen.stdout.trimEnd().split("\n");
    assert.ok(rows.length <= 6, screen.stdout);
    assert.ok(!rows.includes("120"), screen.stdout);
  });

  for (const verb of ["screen", "pane"]) {
    await t.step(`${verb} h DEST 20: the last 20 lines`, async () => {
      const screen = await sessh(sshd, [verb, "h", dest, "20"]);
      assert.equal(screen.code, 0, screen.stderr);
      const lines = screen.stdout.replace(/\n$/, "").split("\n");
      assert.equal(lines.length, 20, screen.stdout);
      const last = lines.indexOf("130");
      assert.ok(last > 10, screen.stdout);
      assert.deepEqual(
        lines.slice(last - 10, last + 1),
        Array.from({ length: 11 }, (_, i) => String(120 + i)),
      );
    });
  }

  await t.step("a port after LINES, or as -p", async () => {
    const bad = await sessh(sshd, ["pane", "h", dest, "20", "x"]);
    assert.equal(bad.code, 2);
    assert.equal(
      bad.stderr,
      'sessh: Invalid PORT "x"; give a whole number from 1 to 65535\n',
    );
    const port = await sessh(sshd, [
      "pane",
      "h",
      dest,
      "3",
      String(sshd.port),
    ]);
    assert.equal(port.code, 0, port.stderr);
    assert.equal(port.stdout.replace(/\n$/, "").split("\n").length, 3);
  });
});
