"""Unit tests of integration.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from integration import (BASH_INTEGRATION, POSIX_INTEGRATION, ZSH_HOOKS, integration_env, is_typeable,  # noqa: E402
    shell_kind)
from markers import MarkerScanner, reported_cwd  # noqa: E402

class TypeableTest(unittest.TestCase):
    def test_short_printable_lines_are_typed_in_shells_with_preexec(self):
        self.assertTrue(is_typeable(b"ls -la 'x y'", "bash", True))
        self.assertFalse(is_typeable(b"ls", "posix", False))
        self.assertFalse(is_typeable(b"ls", "bash", False))

    def test_text_that_line_editing_would_change_is_sourced(self):
        for command in (b"echo hi!", b"a\nb", b"a\tb", b" ls", b"x" * 1001, b"\xff", b"#c"):
            self.assertFalse(is_typeable(command, "zsh", True), command)


class ShellKindTest(unittest.TestCase):
    def test_kinds(self):
        self.assertEqual(shell_kind("/bin/bash"), "bash")
        self.assertEqual(shell_kind("-zsh"), "zsh")
        self.assertEqual(shell_kind("/usr/bin/dash"), "posix")
        self.assertIsNone(shell_kind("/usr/bin/fish"))


class WorkingDirectoryTest(unittest.TestCase):
    """Each shell's prompt hook reports its working directory, whatever bytes the path holds."""
    # How each shell's script is loaded and its prompt printed, with the directory as $1.
    SHELLS = {"bash": (BASH_INTEGRATION, 'source "$0"; cd "$1" && __sessh_precmd'),
              "zsh": (ZSH_HOOKS, 'source "$0"; cd "$1" && __sessh_precmd'),
              "dash": (POSIX_INTEGRATION, '. "$0"; cd "$1" && eval "printf %s \\"$PS1\\""')}
    NAMES = [b"plain", b"a b\nc", b"esc\x1b[31m;%", b"not-utf8-\xff", "\u00fcml".encode()]

    def prompt(self, shell, directory):
        script, command = self.SHELLS[shell]
        with tempfile.NamedTemporaryFile("w", suffix=".sh") as f:
            f.write(script)
            f.flush()
            out = subprocess.run([shell, "-c", command, f.name, directory], capture_output=True, timeout=10,
                                 env=dict(os.environ, LC_ALL="C.UTF-8")).stdout
        markers = [payload for _, payload in MarkerScanner().feed(out)[1]]
        return [reported_cwd(p[2:]) for p in markers if p.startswith("W;")], markers[1:]

    def test_the_prompt_reports_the_working_directory(self):
        with tempfile.TemporaryDirectory() as top:
            for shell in filter(shutil.which, self.SHELLS):
                for name in self.NAMES:
                    path = os.path.join(top.encode(), name)
                    os.makedirs(path, exist_ok=True)
                    with self.subTest(shell=shell, name=name):
                        cwd, last = self.prompt(shell, path)
                        self.assertEqual(cwd, [path.decode("utf-8", "replace")])
                        self.assertEqual(last[-1], "P;0")

    def test_a_path_with_a_bel_reports_no_directory(self):
        """bash and zsh leave such a path out; a POSIX prompt can only print it, and the BEL ends the marker early
        (what follows is output, as if a command had printed it)."""
        with tempfile.TemporaryDirectory() as top:
            path = os.path.join(top, "x\x07\x1b]6973;C\x07y")
            os.mkdir(path)
            for shell in filter(shutil.which, self.SHELLS):
                with self.subTest(shell=shell):
                    cwd, markers = self.prompt(shell, path)
                    self.assertEqual(cwd, [None])
                    self.assertEqual(markers[-1], "P;0")
                    if shell != "dash":
                        self.assertEqual([m[:2] for m in markers], ["W;", "B;", "P;"])

    def test_the_prompt_reports_the_last_background_job(self):
        for shell in filter(shutil.which, self.SHELLS):
            script, command = self.SHELLS[shell]
            with self.subTest(shell=shell), tempfile.NamedTemporaryFile("w", suffix=".sh") as f:
                f.write(script)
                f.flush()
                out = subprocess.run([shell, "-c", command.replace("cd", "sleep 0 & echo $!; cd"), f.name, "/"],
                                     capture_output=True, timeout=10).stdout
                clean, markers = MarkerScanner().feed(out)
                self.assertIn("B;%d" % int(clean.split()[0]), [p for _, p in markers])


@unittest.skipUnless(shutil.which("bash"), "no bash")
class BashPromptTest(unittest.TestCase):
    """An interactive bash that loads the integration as a session's does, at its first prompt, beside what the
    user's startup file put in PROMPT_COMMAND: the prompt's markers and the user's own commands each see the
    status of the command before."""
    USER_PARTS = {"none": "", "string": 'PROMPT_COMMAND=\'echo "user saw $?"; \'"$PROMPT_COMMAND"',
                  "appended": 'PROMPT_COMMAND="$PROMPT_COMMAND"\'; echo "user saw $?"\'',
                  "array": 'PROMPT_COMMAND=("$PROMPT_COMMAND" \'echo "user saw $?"\')'}

    def prompt_after(self, rc, command):
        with tempfile.TemporaryDirectory() as top:
            script, rcfile = os.path.join(top, "bash.sh"), os.path.join(top, "rc")
            with open(script, "w") as f:
                f.write(BASH_INTEGRATION)
            with open(rcfile, "w") as f:
                f.write("PS1='$ '\n%s\n" % rc)
            env = dict(PATH=os.environ["PATH"], HOME=top, TERM="dumb", SESSH_BIN=top,
                       **integration_env("bash", {"bash": script}, {}))
            pid, fd = pty.fork()
            if pid == 0:
                os.execve(shutil.which("bash"), ["bash", "--rcfile", rcfile, "-i"], env)
            try:
                self.read_prompt(fd)
                os.write(fd, command + b"\r")
                return MarkerScanner().feed(self.read_prompt(fd))
            finally:
                os.kill(pid, 9)
                os.waitpid(pid, 0)

    def read_prompt(self, fd):
        """What the shell prints until its prompt, after the markers that end a command."""
        out = b""
        while b"\x1b]6973;P;" not in out or not out.endswith(b"$ "):
            ready = select.select([fd], [], [], 10)[0]
            self.assertTrue(ready, "no prompt after %r" % out)
            out += os.read(fd, 4096)
        return out

    def test_the_markers_and_the_users_prompt_command_see_the_commands_status(self):
        for case, rc in self.USER_PARTS.items():
            with self.subTest(case=case):
                clean, markers = self.prompt_after(rc, b"(exit 7)")
                self.assertEqual([p for _, p in markers if p.startswith("P;")], ["P;7"])
                self.assertEqual(b"user saw 7" in clean, case != "none", clean)


if __name__ == "__main__":
    unittest.main()
