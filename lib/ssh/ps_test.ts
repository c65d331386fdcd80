import assert from "node:assert/strict";
import { isMasterCommand } from "./master_pid.ts";
import { hasArgument, programOf, stateOf } from "./processes.ts";
import { parsePs } from "./ps.ts";

// `ps -A -ww -o pid=,ppid=,stat=,command=` as procps-ng 4 prints it on Linux.
const PROCPS = [
  "      1       0 Ss   /sbin/init splash",
  "      2       0 S    [kthreadd]",
  "    812       1 Ssl  /usr/lib/systemd/systemd-journald",
  "   4242    4100 T    ssh -o ControlMaster=yes -E /run/user/1000/sessh/ab12.log -f -N -- box",
  "   4300    4242 Z    [ssh] <defunct>",
  "   5001    4100 S+   bash",
  "   5002    5001 t    gdb -p 4242",
  "   5003    5001 R+   ps -A -ww -o pid=,ppid=,stat=,command=",
  "",
].join("\n");

// The same columns as macOS's BSD ps prints them: narrower columns, a
// zombie with no command of its own, an application path with spaces.
const MACOS = [
  "    1     0 Ss   /sbin/launchd",
  "  501     1 S    /usr/bin/ssh -o ControlMaster=yes -E /tmp/sessh-501/ab12.log -f -N -- box",
  "  777   501 Z    <defunct>",
  "  778     1 T    /Applications/Some App.app/Contents/MacOS/Some App --flag",
  "  900   899 S+   -zsh",
  "  902   900 U+   sudo true",
  "  903     1 I    /usr/libexec/idle",
  "",
].join("\n");

// FreeBSD's ps: kernel threads in brackets, more modifiers after the letter.
const FREEBSD = [
  "   0   0 DLs   [kernel]",
  "  11   0 RNL   [idle]",
  " 721   1 Is    /usr/sbin/sshd",
  "1204 721 I+    ssh -N -- box",
].join("\r\n");

Deno.test("parsePs() reads procps's columns, commands with spaces kept whole", () => {
  const entries = parsePs(PROCPS);
  assert.equal(entries.length, 8);
  assert.deepEqual(entries[3], {
    pid: 4242,
    ppid: 4100,
    stat: "T",
    command:
      "ssh -o ControlMaster=yes -E /run/user/1000/sessh/ab12.log -f -N -- box",
  });
  assert.deepEqual(entries[4], {
    pid: 4300,
    ppid: 4242,
    stat: "Z",
    command: "[ssh] <defunct>",
  });
  assert.deepEqual(
    entries.map((entry) => entry.stat),
    ["Ss", "S", "Ssl", "T", "Z", "S+", "t", "R+"],
  );
});

Deno.test("parsePs() reads macOS's BSD ps output", () => {
  const entries = parsePs(MACOS);
  assert.deepEqual(
    entries.map(({ pid, ppid, stat }) => [pid, ppid, stat]),
    [
      [1, 0, "Ss"],
      [501, 1, "S"],
      [777, 501, "Z"],
      [778, 1, "T"],
      [900, 899, "S+"],
      [902, 900, "U+"],
      [903, 1, "I"],
    ],
  );
  assert.equal(
    entries[3].command,
    "/Applications/Some App.app/Contents/MacOS/Some App --flag",
  );
  assert.equal(entries[4].command, "-zsh");
});

Deno.test("parsePs() reads FreeBSD's output with CRLF line ends", () => {
  assert.deepEqual(parsePs(FREEBSD).at(-1), {
    pid: 1204,
    ppid: 721,
    stat: "I+",
    command: "ssh -N -- box",
  });
});

Deno.test("parsePs() skips a header, warnings and blank lines", () => {
  const text =
    "  PID  PPID STAT COMMAND\nps: warning: bad\n\n   7     1 S    sleep 30\n";
  assert.deepEqual(parsePs(text), [
    { pid: 7, ppid: 1, stat: "S", command: "sleep 30" },
  ]);
  assert.deepEqual(parsePs(""), []);
});

Deno.test("stateOf() reads the first letter of Linux and BSD states", async (t) => {
  const table: [string | undefined, string][] = [
    ["R+", "running"],
    ["S", "running"],
    ["Ss", "running"],
    ["Ssl", "running"],
    ["D", "running"],
    ["I", "running"],
    ["U+", "running"],
    ["T", "stopped"],
    ["T+", "stopped"],
    ["t", "stopped"],
    ["Z", "gone"],
    ["Z+", "gone"],
    ["X", "gone"],
    [undefined, "gone"],
  ];
  for (const [stat, state] of table) {
    await t.step(String(stat), () => assert.equal(stateOf(stat), state));
  }
});

Deno.test("isMasterCommand() finds our master in ps text", () => {
  const dest = { host: "box", display: "box" };
  const master = parsePs(PROCPS)[3].command;
  assert.equal(
    isMasterCommand(master, dest, "/run/user/1000/sessh/ab12"),
    true,
  );
  assert.equal(
    isMasterCommand(master, dest, "/run/user/1000/sessh/ab1"),
    false,
    "a log path that is a prefix of ours is another socket's",
  );
  assert.equal(
    isMasterCommand(
      master,
      { host: "bo", display: "bo" },
      "/run/user/1000/sessh/ab12",
    ),
    false,
  );
  assert.equal(
    isMasterCommand(parsePs(MACOS)[1].command, dest, "/tmp/sessh-501/ab12"),
    true,
  );
  assert.equal(
    isMasterCommand(
      "bash -c ssh -o ControlMaster=yes -E /tmp/sessh-501/ab12.log -- box",
      dest,
      "/tmp/sessh-501/ab12",
    ),
    false,
    "only ssh or autossh itself is a master",
  );
});

Deno.test("isMasterCommand() matches a control directory with spaces in ps text", () => {
  const dest = { host: "box", display: "box" };
  const text =
    "/usr/local/bin/autossh -M 0 -o ControlMaster=yes -E /Users/me/my dir/ab12.log -f -N -- box";
  assert.equal(programOf(text), "autossh");
  assert.equal(isMasterCommand(text, dest, "/Users/me/my dir/ab12"), true);
  assert.equal(isMasterCommand(text, dest, "/Users/me/my dir/ab1"), false);
});

Deno.test("hasArgument() wants whole arguments in text and argv alike", () => {
  assert.equal(hasArgument("ssh -N -- box", "box"), true);
  assert.equal(hasArgument("ssh -N -- box2", "box"), false);
  assert.equal(hasArgument("ssh -N -- mybox", "box"), false);
  assert.equal(hasArgument(["ssh", "-N", "--", "box"], "box"), true);
  assert.equal(hasArgument(["ssh", "-N -- box"], "box"), false);
});
