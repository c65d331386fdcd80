"""Unit tests of client.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import Client  # noqa: E402
from testing import FakeWriter  # noqa: E402


class ClientTest(unittest.TestCase):
    def test_replies_and_refusals_name_the_request_and_the_session(self):
        writer = FakeWriter()
        client = Client(writer)
        client.reply(3, pid=9)
        client.fail(4, "no_session", "No session", name="s")
        client.fail(None, "protocol", "Malformed frame", name=None)
        self.assertEqual(writer.drained(), [
            {"pid": 9, "id": 3, "ok": True},
            {"id": 4, "ok": False, "code": "no_session", "message": "No session", "name": "s"},
            {"id": None, "ok": False, "code": "protocol", "message": "Malformed frame"},
        ])


if __name__ == "__main__":
    unittest.main()
