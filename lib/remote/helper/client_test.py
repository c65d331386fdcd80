"""Unit tests of client.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import Client  # noqa: E402
from testing import FakeLoop, FakeWriter  # noqa: E402


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

    def test_with_a_loop_the_small_frames_of_a_turn_go_out_in_one_write(self):
        writer, loop = FakeWriter(), FakeLoop()
        client = Client(writer, loop=loop)
        client.reply(1, seq=1)
        client.send({"ev": "done", "name": "s"})
        self.assertEqual((writer.writes, client.queued()), (0, 38))
        loop.run_scheduled()
        self.assertEqual(writer.writes, 1)
        self.assertEqual(writer.drained(), [{"seq": 1, "id": 1, "ok": True}, {"ev": "done", "name": "s"}])

    def test_a_large_frame_goes_at_once_after_the_frames_queued_before_it(self):
        writer, loop = FakeWriter(), FakeLoop()
        client = Client(writer, loop=loop)
        client.reply(1)
        client.send({"ev": "output", "data": b"x" * 5000})
        self.assertEqual(writer.writes, 2)
        self.assertEqual([f.get("id", f.get("ev")) for f in writer.drained()], [1, "output"])
        loop.run_scheduled()  # the flush it had scheduled finds nothing left
        self.assertEqual(writer.writes, 2)


if __name__ == "__main__":
    unittest.main()
