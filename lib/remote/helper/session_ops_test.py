"""Unit tests of session_ops.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import sys
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from daemon import OPS  # noqa: E402
from errors import HelperError  # noqa: E402
from protocol import CAPS, PROTOCOL  # noqa: E402
from testing import FakeLoop, bare_daemon  # noqa: E402


class HelloTest(unittest.TestCase):
    def setUp(self):
        bare_daemon(self, FakeLoop())
        self.daemon.hash, self.daemon.rt = "0123456789abcdef", "/rt"

    def test_hello_says_the_protocol_the_helper_and_what_it_can_do(self):
        reply = OPS["hello"](self.daemon, self.client, {"version": PROTOCOL})
        self.assertEqual((reply["version"], reply["helper"], reply["caps"]), (PROTOCOL, "0123456789abcdef", CAPS))
        self.assertEqual(reply["pid"], os.getpid())

    def test_hello_of_another_protocol_is_refused_saying_both(self):
        with self.assertRaises(HelperError) as caught:
            OPS["hello"](self.daemon, self.client, {"version": PROTOCOL + 1})
        self.assertEqual(caught.exception.args[0], "protocol")
        self.assertIn("Expected protocol %d, got %d" % (PROTOCOL, PROTOCOL + 1), caught.exception.args[1])

    def test_list_shows_the_live_sessions_then_the_lost_ones(self):
        self.daemon.lost = {"gone": {"name": "gone", "shell": "/bin/sh", "pid": 7, "created": 0, "lost_at": 0,
                                     "reason": "the daemon died"}}
        names = [s["name"] for s in OPS["list"](self.daemon, self.client, {})["sessions"]]
        self.assertEqual(names, ["s", "gone"])


class RunTest(unittest.TestCase):
    def setUp(self):
        bare_daemon(self, FakeLoop())
        self.daemon.run_seq = 0
        self.daemon.ended = {}
        # The terminal's foreground job is another process than the shell.
        patcher = mock.patch("os.tcgetpgrp", return_value=self.session.pid + 1)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_a_run_waits_for_a_shell_still_starting_whatever_its_start_up_runs(self):
        # A login shell's start-up files can run jobs of their own before its first prompt.
        OPS["run"](self.daemon, self.client, {"name": "s", "command": b"true", "id": 1})
        self.assertEqual(self.session.pending_run[1], b"true")

    def test_a_run_waits_for_a_zsh_whose_hooks_are_in_but_whose_start_up_files_still_run(self):
        # zsh says it is integrated from its .zshenv, before its zshrc and its first prompt.
        self.session.integrated = True
        OPS["run"](self.daemon, self.client, {"name": "s", "command": b"true", "id": 1})
        self.assertEqual(self.session.pending_run[1], b"true")

    def test_a_run_is_refused_while_a_job_holds_a_shell_that_has_prompted(self):
        self.session.integrated = self.session.prompted = True
        with self.assertRaises(HelperError) as caught:
            OPS["run"](self.daemon, self.client, {"name": "s", "command": b"true", "id": 1})
        self.assertEqual(caught.exception.args[0], "session_busy")
        self.assertIsNone(self.session.pending_run)


if __name__ == "__main__":
    unittest.main()
