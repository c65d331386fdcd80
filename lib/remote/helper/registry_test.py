"""Unit tests of registry.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from contextlib import contextmanager

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from protocol import PID_NAME  # noqa: E402
from registry import (daemon_in, hold_pid_file, last_fatal, live_daemons, lost_info,  # noqa: E402
    lost_message, lost_sessions, parse_registry)

HELPER = os.path.dirname(os.path.abspath(__file__))

@contextmanager
def holder(directory, rt):
    """Another process that holds the pid file in `directory` until the block ends, as a daemon would."""
    code = ("import sys; sys.path.insert(0, %r); from registry import hold_pid_file; hold_pid_file(%r, %r); "
            "print('held', flush=True); sys.stdin.read()" % (HELPER, directory, rt))
    with subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE) as child:
        assert child.stdout.readline() == b"held\n"
        try:
            yield child
        finally:
            child.stdin.close()

class RegistryTest(unittest.TestCase):
    REGISTRY = {"daemon": {"pid": 41, "started": 1000, "socket": "/run/s"},
                "sessions": [{"name": "a", "shell": "/bin/bash", "pid": 50, "created": 2000}, "junk", {"name": "../x"}],
                "lost": [{"name": "old", "shell": "/bin/sh", "created": 1, "lost_at": 5, "daemon_pid": 7}]}

    def test_a_missing_or_damaged_file_is_an_empty_registry(self):
        empty = {"daemon": {}, "sessions": [], "lost": []}
        for data in (None, b"", b"{", b"\xff", b"[]", b'{"daemon": 1, "sessions": [], "lost": []}'):
            self.assertEqual(parse_registry(data), empty, data)

    def test_the_sessions_of_a_dead_daemon_are_lost_with_the_ones_lost_before(self):
        registry = parse_registry(json.dumps(self.REGISTRY).encode())
        lost = lost_sessions(registry, False, 9000, "x sessh-daemon[41]: fatal: boom")
        self.assertEqual(sorted(lost), ["a", "old"])  # entries with invalid names are dropped
        self.assertEqual(lost["a"], {"name": "a", "shell": "/bin/bash", "created": 2000, "lost_at": 9000,
                                     "daemon_pid": 41, "reason": "x sessh-daemon[41]: fatal: boom"})
        self.assertEqual(lost["old"]["lost_at"], 5)

    def test_the_sessions_of_a_live_daemon_are_not_lost(self):
        self.assertEqual(sorted(lost_sessions(parse_registry(json.dumps(self.REGISTRY)), True, 9000, None)),
                         ["old"])

    def test_the_message_says_which_daemon_when_and_what_to_do(self):
        message = lost_message({"name": "a", "daemon_pid": 41, "lost_at": 1767225600000, "reason": "fatal: boom"})
        self.assertEqual(message, 'Session "a" was lost: the sessh daemon (pid 41) that held it is gone (found at '
                                  "2026-01-01T00:00:00Z; its terminal closed with it; its log ends with: fatal: boom); "
                                  "closing it forgets it, opening it starts a new one")

    def test_list_shows_a_lost_session_with_null_for_what_died(self):
        info = lost_info({"name": "a", "shell": "/bin/sh", "created": 2, "lost_at": 5})
        self.assertEqual((info["lost"], info["lost_at"], info["pid"], info["running"]), (True, 5, None, False))

    def test_last_fatal_reads_only_a_fatal_last_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "daemon.log")
            self.assertIsNone(last_fatal(path))
            with open(path, "w") as f: f.write("t sessh-daemon[1]: started\nt sessh-daemon[1]: fatal: OSError()\n")
            self.assertEqual(last_fatal(path), "t sessh-daemon[1]: fatal: OSError()")
            with open(path, "a") as f: f.write("t sessh-daemon[2]: started\n")
            self.assertIsNone(last_fatal(path))


class PidFileTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        os.chmod(self.dir, 0o700)
        self.addCleanup(shutil.rmtree, self.dir)

    def test_a_held_pid_file_names_its_daemon_and_a_stale_one_none(self):
        self.assertIsNone(daemon_in(self.dir))
        with holder(self.dir, "/run/x") as child:
            self.assertEqual(daemon_in(self.dir), (child.pid, "/run/x"))
            self.assertEqual(live_daemons(self.dir, None), [(child.pid, "/run/x")])
        self.assertTrue(os.path.exists(os.path.join(self.dir, PID_NAME)))
        self.assertIsNone(daemon_in(self.dir))  # the file stays, but nobody holds its lock
        self.assertEqual(live_daemons(self.dir, None), [])

    def test_only_one_daemon_holds_it(self):
        with holder(self.dir, "/run/x") as child:
            with self.assertRaisesRegex(OSError, "is held by pid %d" % child.pid):
                hold_pid_file(self.dir, "/run/y", wait=0.1)
        fd = hold_pid_file(self.dir, "/run/y")
        os.close(fd)

    def test_the_state_dir_finds_the_daemon_of_another_runtime_dir(self):
        state = os.path.join(self.dir, "state")
        os.mkdir(state, 0o700)
        with holder(state, "/tmp/sessh-0") as child:
            self.assertEqual(live_daemons(self.dir, state), [(child.pid, "/tmp/sessh-0")])

    @unittest.skipUnless(os.path.isdir("/proc/self"), "no procfs here")
    def test_procfs_finds_the_daemon_that_holds_a_removed_pid_file_and_not_a_reader_of_it(self):
        with holder(self.dir, "/run/x") as child:
            path = os.path.join(self.dir, PID_NAME)
            code = "import sys; f = open(%r); print('open', flush=True); sys.stdin.read()" % path
            reader = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            self.addCleanup(reader.wait)
            self.addCleanup(reader.stdout.close)
            self.addCleanup(reader.stdin.close)
            self.assertEqual(reader.stdout.readline(), b"open\n")
            os.unlink(path)
            self.assertEqual(live_daemons(self.dir, None), [])
            self.assertEqual(live_daemons(self.dir, None, procfs=True), [(child.pid, "/run/x")])
            self.assertEqual(live_daemons("/elsewhere", self.dir, procfs=True), [(child.pid, "/run/x")])

    def test_a_pid_file_others_may_write_is_not_trusted(self):
        with holder(self.dir, "/run/x"):
            os.chmod(os.path.join(self.dir, PID_NAME), 0o622)
            self.assertIsNone(daemon_in(self.dir))
        with self.assertRaisesRegex(PermissionError, "not a 0600 file"):
            hold_pid_file(self.dir, "/run/x")

    def test_a_link_in_its_place_is_not_followed(self):
        target = os.path.join(self.dir, "target")
        with open(target, "w") as f:
            f.write("1\n/run/x\n")
        os.symlink(target, os.path.join(self.dir, PID_NAME))
        self.assertIsNone(daemon_in(self.dir))
        with self.assertRaises(OSError):
            hold_pid_file(self.dir, "/run/x")
        with open(target) as f:
            self.assertEqual(f.read(), "1\n/run/x\n")


if __name__ == "__main__":
    unittest.main()
