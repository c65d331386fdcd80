"""Unit tests of integration.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from integration import is_typeable, shell_kind  # noqa: E402

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


if __name__ == "__main__":
    unittest.main()
