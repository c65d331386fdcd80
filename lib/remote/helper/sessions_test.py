"""Unit tests of sessions.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import shutil
import sys
import time
import tempfile
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from errors import HelperError  # noqa: E402
from sessions import Session, login_shells, resolve_shell  # noqa: E402

class SessionBufferTest(unittest.TestCase):
    def make(self, capacity=16):
        return Session("s", "/bin/sh", -1, 1, 80, 24, capacity, "posix")

    def test_evicts_oldest_bytes_and_keeps_absolute_offsets(self):
        s = self.make()
        s.append(b"0123456789")
        s.append(b"abcdefghij")
        self.assertEqual((s.base, s.end), (4, 20))
        self.assertEqual(s.slice(0, 8), b"4567")
        self.assertEqual(s.slice(18, 99), b"ij")

    def test_a_view_holds_what_slice_copies_and_frees_the_buffer_once_released(self):
        s = self.make()
        s.append(b"0123456789abcdefghij")
        for start, stop in [(0, 8), (18, 99), (9, 3)]:
            with s.view(start, stop) as view:
                self.assertEqual(bytes(view), s.slice(start, stop))
        s.append(b"klmnop")  # the buffer can move again: no view holds it
        self.assertEqual(s.slice(0, 99), b"abcdefghijklmnop")

    def test_a_flood_moves_the_buffer_in_bulk_but_readers_see_its_capacity(self):
        s = self.make(1 << 20)
        for i in range(3000):
            s.append(bytes([65 + i % 26]) * 4096)
            self.assertLessEqual(len(s.buf), (1 << 20) + (1 << 18) + 4096)
            self.assertEqual(s.end - s.base, min(s.end, 1 << 20))
        self.assertEqual(len(s.slice(0, s.end)), 1 << 20)
        self.assertEqual(s.slice(s.base, s.base + 1), bytes([65 + (3000 - 256) % 26]))
        lines = self.make(64)
        lines.append(b"old line\n" * 20)
        start, whole = lines.tail_start(1000)
        self.assertFalse(whole)
        self.assertEqual(lines.slice(start, lines.end), b"old line\n" * 7)

    def test_tail_start_finds_the_last_lines(self):
        s = self.make(100)
        s.append(b"a\r\nb\r\nc\r\n")
        self.assertEqual(s.slice(s.tail_start(2)[0], s.end), b"b\r\nc\r\n")
        self.assertEqual(s.tail_start(10), (0, True))


class SessionInfoTest(unittest.TestCase):
    def make(self, procfs=False):
        session = Session("s", "/bin/bash", -1, os.getpid(), 80, 24, 1024, "bash")
        session.procfs = procfs
        return session

    def test_without_procfs_the_prompt_tells_the_cwd_and_run_the_command(self):
        s = self.make()
        self.assertEqual((s.info()["cwd"], s.info()["command"], s.info()["unknown"]), (None, None, ["cwd"]))
        s.cwd, s.running, s.run = "/tmp", True, {"entry": {"command": "sleep 9"}}
        self.assertEqual((s.info()["cwd"], s.info()["command"], s.info()["unknown"]), ("/tmp", "sleep 9", []))

    def test_a_command_typed_by_hand_is_unknown_without_procfs(self):
        s = self.make()
        s.cwd, s.running = "/tmp", True
        info = s.info()
        self.assertEqual((info["running"], info["command"], info["unknown"]), (True, None, ["command"]))

    @unittest.skipUnless(os.path.isdir("/proc/self"), "no procfs here")
    def test_with_procfs_a_shell_without_markers_still_has_its_cwd(self):
        info = self.make(procfs=True).info()
        self.assertEqual((info["cwd"], info["unknown"]), (os.getcwd(), []))


class TimelineTest(unittest.TestCase):
    def test_bursts_are_timed_and_evicted_ones_dropped(self):
        session = Session("s", "/bin/sh", -1, 1, 80, 24, 64 << 10, "posix")
        with mock.patch.object(time, "time", side_effect=[100.0, 100.001, 101.0, 102.5]):
            session.append(b"a")
            session.append(b"b")  # within a burst: no entry of its own
            session.append(b"c")
            self.assertEqual(session.timeline, [(0, 100.0), (2, 101.0)])
            session.append(b"x" * (200 << 10))
        # "b" shared the burst of "a"; "a" and "c" left with the bytes they timed. The burst of x's began
        # before the origin, and it times the oldest bytes kept.
        self.assertEqual(session.timeline, [(3, 102.5)])
        self.assertLess(session.timeline[0][0], session.origin)


class ResolveShellTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.shells = os.path.join(self.dir, "shells")
        with open(self.shells, "w") as f:
            f.write("# login shells\n/bin/sh\n%s\n\n" % shutil.which("bash"))

    def refused(self, requested):
        with self.assertRaises(HelperError) as caught:
            resolve_shell(requested, self.shells)
        return caught.exception.args

    def test_listed_shells_by_path_or_name(self):
        self.assertEqual(resolve_shell("/bin/sh", self.shells), "/bin/sh")
        self.assertEqual(resolve_shell("bash", self.shells), shutil.which("bash"))

    def test_other_programs_refused(self):
        code, message = self.refused("/usr/bin/mktemp")
        self.assertEqual(code, "bad_shell")
        self.assertIn("lists /bin/sh, ", message)
        self.assertEqual(self.refused("mktemp")[0], "bad_shell")
        self.assertEqual(self.refused("/bin/../bin/sh")[0], "bad_shell")
        self.assertEqual(self.refused("no-such-shell")[0], "bad_shell")

    def test_a_missing_file_lists_what_getusershell_assumes(self):
        self.assertEqual(login_shells(os.path.join(self.dir, "absent")), ["/bin/sh", "/bin/csh"])

    def test_the_login_shell_needs_no_listing(self):
        self.assertTrue(os.path.isabs(resolve_shell(None, os.path.join(self.dir, "absent"))))


if __name__ == "__main__":
    unittest.main()
