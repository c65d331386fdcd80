"""Unit tests of errors.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import io
import os
import sys
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from errors import HelperError, log  # noqa: E402


class ErrorsTest(unittest.TestCase):
    def test_a_helper_error_carries_its_code_and_message(self):
        self.assertEqual(HelperError("no_session", "No session").args, ("no_session", "No session"))

    def test_log_lines_say_when_and_which_daemon(self):
        with mock.patch.object(sys, "stderr", io.StringIO()) as err:
            log("started")
        self.assertRegex(err.getvalue(), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d sessh-daemon\[%d\]: started\n$"
                         % os.getpid())


if __name__ == "__main__":
    unittest.main()
