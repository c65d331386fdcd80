"""Unit tests of files.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import socket
import stat
import sys
import tempfile
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from files import (make_private_dirs, open_dir, open_log, private_dir, read_file, remove_command_files, runtime_base,
    runtime_dir, socket_fits, state_dir, widen_pipe, write_private_file)  # noqa: E402
from testing import temp_dir  # noqa: E402

@unittest.skipUnless(sys.platform.startswith("linux"), "pipe sizes are Linux's")
class WidenPipeTest(unittest.TestCase):
    def test_a_pipe_is_widened_from_either_end_and_anything_else_is_left_alone(self):
        import fcntl
        for end in (0, 1):
            fds = os.pipe()
            for fd in fds:
                self.addCleanup(os.close, fd)
            self.assertTrue(widen_pipe(fds[end], 1 << 20))
            self.assertEqual(fcntl.fcntl(fds[1 - end], 1032), 1 << 20)  # F_GETPIPE_SZ, from the other end
        pair = socket.socketpair()
        for sock in pair:
            self.addCleanup(sock.close)
        self.assertFalse(widen_pipe(pair[0].fileno()))  # not a pipe: no error


class CommandFilesTest(unittest.TestCase):
    def test_removes_the_files_of_one_session_only(self):
        with tempfile.TemporaryDirectory() as rt:
            os.mkdir(os.path.join(rt, "cmd"))
            names = ["a.1.sh", "a.22.sh", "a.1.5.sh", "ab.1.sh", "a.x.sh", "a.3.sh.99.tmp"]
            for name in names: open(os.path.join(rt, "cmd", name), "w").close()
            remove_command_files(rt, "a")
            self.assertEqual(sorted(os.listdir(os.path.join(rt, "cmd"))), ["a.1.5.sh", "a.3.sh.99.tmp", "a.x.sh",
                                                                            "ab.1.sh"])


class DirectoriesTest(unittest.TestCase):
    def setUp(self):
        self.base = temp_dir(self)

    def test_private_dir_creates_0700_and_refuses_symlinks_and_open_modes(self):
        path = os.path.join(self.base, "p")
        self.assertTrue(private_dir(path))
        self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o700)
        os.symlink(path, os.path.join(self.base, "link"))
        self.assertFalse(private_dir(os.path.join(self.base, "link")))
        os.chmod(path, 0o755)
        self.assertFalse(private_dir(path))

    def test_state_dir_is_per_host_under_xdg_state_home(self):
        with mock.patch.dict(os.environ, {"XDG_STATE_HOME": self.base}), \
                mock.patch.object(os, "uname", return_value=mock.Mock(nodename="box-1.example.org")):
            self.assertEqual(state_dir(), os.path.join(self.base, "sessh", "box-1"))
        # Anything but letters, digits, _ and - becomes _ (a name of the user's own choosing).
        with mock.patch.dict(os.environ, {"XDG_STATE_HOME": self.base}), \
                mock.patch.object(os, "uname", return_value=mock.Mock(nodename="bü x/1.lan")):
            self.assertEqual(state_dir(), os.path.join(self.base, "sessh", "b__x_1"))
        self.assertEqual(stat.S_IMODE(os.lstat(os.path.join(self.base, "sessh")).st_mode), 0o700)

    def test_state_dir_refuses_a_base_others_can_write_to(self):
        os.chmod(self.base, 0o777)
        with mock.patch.dict(os.environ, {"XDG_STATE_HOME": self.base}):
            self.assertIsNone(state_dir())

    def test_directories_with_other_characters_than_letters_digits_and_dot_slash_underscore_dash_are_refused(self):
        # Each directory is private and ours: only the characters of its path refuse it.
        for name in ("with space", "dollar$x", "quote'd", "ünï"):
            path = os.path.join(self.base, name)
            os.mkdir(path, 0o700)
            with mock.patch.dict(os.environ, {"XDG_STATE_HOME": path, "XDG_RUNTIME_DIR": path}):
                self.assertIsNone(state_dir(), name)
                base, why = runtime_base()
                self.assertIsNone(base, name)
                self.assertIn("is not an absolute path of letters, digits and ./_-", why)
        plain = os.path.join(self.base, "plain_dir-1.d")
        os.mkdir(plain, 0o700)
        with mock.patch.dict(os.environ, {"XDG_STATE_HOME": plain, "XDG_RUNTIME_DIR": plain}):
            self.assertEqual(runtime_base(), (plain, None))
            self.assertTrue(state_dir().startswith(os.path.join(plain, "sessh") + "/"))

    def test_state_dir_checks_each_component_under_home(self):
        os.symlink("/tmp", os.path.join(self.base, ".local"))
        with mock.patch.dict(os.environ, {"HOME": self.base}):
            os.environ.pop("XDG_STATE_HOME", None)
            self.assertIsNone(state_dir())

    def test_runtime_dir_is_the_state_dir_when_a_socket_path_fits(self):
        state = os.path.join(self.base, "state")
        os.mkdir(state, 0o700)
        with mock.patch.dict(os.environ):
            os.environ.pop("XDG_RUNTIME_DIR", None)
            self.assertEqual(runtime_dir(state), state)
        self.assertTrue(all(os.path.isdir(os.path.join(state, d)) for d in ("shell", "cmd", "bin")))
        self.assertTrue(socket_fits("/" + "d" * 85))
        self.assertFalse(socket_fits("/" + "d" * 86))

    def test_make_private_dirs_re_creates_removed_parents(self):
        path = os.path.join(self.base, "a", "b", "c")
        self.assertTrue(make_private_dirs(path))
        self.assertEqual(stat.S_IMODE(os.lstat(os.path.join(self.base, "a")).st_mode), 0o700)

    def test_open_dir_checks_the_directory_and_every_one_above_it_by_descriptor(self):
        shared = os.path.join(self.base, "shared")
        os.mkdir(shared)
        mine = os.path.join(shared, "mine")
        os.mkdir(mine, 0o700)
        fd = open_dir(mine)
        self.assertIsInstance(fd, int)
        self.assertTrue(os.path.samestat(os.fstat(fd), os.stat(mine)))
        os.close(fd)
        os.chmod(shared, 0o777)  # anyone may rename mine and put another in its place
        self.assertRegex(open_dir(mine), r"shared \(uid \d+, mode 777\) lets others replace")
        self.assertFalse(private_dir(mine))
        os.chmod(shared, 0o1777)  # sticky, as /tmp: only mine's owner may rename it
        self.assertTrue(private_dir(mine))
        os.chmod(mine, 0o770)
        self.assertRegex(open_dir(mine), "mode 770")
        os.chmod(mine, 0o700)
        os.symlink(mine, os.path.join(shared, "link"))
        self.assertIsInstance(open_dir(os.path.join(shared, "link")), str)

    def test_files_are_written_through_a_checked_descriptor_of_their_directory(self):
        shared = os.path.join(self.base, "shared")
        os.mkdir(shared)
        mine = os.path.join(shared, "mine")
        os.mkdir(mine, 0o700)
        outside = os.path.join(self.base, "outside")
        os.symlink(outside, os.path.join(mine, "registry"))
        write_private_file(os.path.join(mine, "registry"), b"data")
        self.assertFalse(os.path.lexists(outside), "the link at the target is replaced, not written through")
        self.assertEqual(read_file(os.path.join(mine, "registry")), b"data")
        os.chmod(shared, 0o777)
        with self.assertRaisesRegex(PermissionError, "lets others replace"):
            write_private_file(os.path.join(mine, "registry"), b"other")
        with self.assertRaisesRegex(PermissionError, "lets others replace"):
            open_log(mine)
        self.assertEqual(read_file(os.path.join(mine, "registry")), b"data")

    @unittest.skipUnless(os.getuid() == 0, "needs root to give a directory to another user")
    def test_open_dir_refuses_a_directory_of_another_user_and_one_under_it(self):
        theirs = os.path.join(self.base, "theirs")
        os.mkdir(theirs, 0o755)
        os.mkdir(os.path.join(theirs, "mine"), 0o700)
        os.chown(theirs, 65534, 65534)
        self.assertRegex(open_dir(theirs), "owned by uid 65534")
        self.assertRegex(open_dir(os.path.join(theirs, "mine")), "theirs \\(uid 65534, mode 755\\)")

    def test_an_xdg_runtime_dir_others_can_change_is_passed_over_with_the_reason(self):
        state = os.path.join(self.base, "state")
        os.mkdir(state, 0o700)
        runtime = os.path.join(self.base, "run")
        os.mkdir(runtime, 0o700)
        with mock.patch.dict(os.environ, {"XDG_RUNTIME_DIR": runtime}):
            self.assertEqual(runtime_base(), (runtime, None))
            self.assertEqual(runtime_dir(state), os.path.join(runtime, "sessh"))
            os.chmod(runtime, 0o777)
            base, why = runtime_base()
            self.assertIsNone(base)
            self.assertIn("XDG_RUNTIME_DIR=%s is not a private directory" % runtime, why)
            self.assertEqual(runtime_dir(state), state)


if __name__ == "__main__":
    unittest.main()
