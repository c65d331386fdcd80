"""Unit tests of watch_ops.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from daemon import OPS  # noqa: E402
from errors import HelperError  # noqa: E402
from protocol import PIPE_SIZE, READ_CHUNK  # noqa: E402
from testing import FakeLoop, bare_daemon  # noqa: E402

class FollowerTest(unittest.TestCase):
    def setUp(self):
        bare_daemon(self, FakeLoop(), capacity=4 << 20)

    def test_a_follower_gets_a_backlog_in_parts_growing_to_the_size_of_a_widened_pipe(self):
        for _ in range(3 << 4):  # 3 MiB of backlog
            self.daemon.emit_output(self.session, b"x" * 65535 + b"\n")
        OPS["subscribe"](self.daemon, self.client, {"id": 1, "name": "s", "since": self.session.base})
        parts = [len(f["data"]) for f in self.writer.drained() if f.get("ev") == "output"]
        # Each at most what went before, until the connection holds its high mark.
        self.assertEqual(parts, [READ_CHUNK, READ_CHUNK, 2 * READ_CHUNK, 4 * READ_CHUNK])
        for part in (8 * READ_CHUNK, PIPE_SIZE, PIPE_SIZE):  # the connection drains, and more goes
            self.daemon.feed_watcher(self.client, self.client.feeds["s"])
            self.assertEqual([len(f["data"]) for f in self.writer.drained()], [part])


class ViewerTest(unittest.TestCase):
    def setUp(self):
        bare_daemon(self, FakeLoop())

    def test_a_viewer_far_behind_redraws_from_a_tail_and_may_not_type(self):
        reply = OPS["attach"](self.daemon, self.client, {"id": 1, "name": "s", "read_only": True})
        self.assertTrue(reply["read_only"])
        self.assertIsNone(self.session.attached, "a viewer is not the interactive client")
        # A first batch goes out and fills the connection to its high mark; it never drains.
        self.daemon.emit_output(self.session, b"x" * 65535 + b"\n")
        self.daemon.loop.run_scheduled()
        self.writer.transport.queued = 1 << 20
        for _ in range(6 << 4):  # then 6 MiB through a 2 MiB buffer
            self.daemon.emit_output(self.session, b"y" * 65535 + b"\n")
        self.daemon.loop.run_scheduled()
        self.writer.drained()  # the connection drains at last
        self.daemon.feed_watcher(self.client, self.client.feeds["s"])
        events = [f["ev"] for f in self.writer.drained()]
        self.assertEqual(events[0], "resync")
        self.assertNotIn("gap", events)
        with self.assertRaises(HelperError) as caught:
            OPS["input"](self.daemon, self.client, {"id": 2, "name": "s", "data": b"ls\r"})
        self.assertIn("read-only", caught.exception.args[1])


class ResultTest(unittest.TestCase):
    def setUp(self):
        bare_daemon(self, FakeLoop(), capacity=64)
        self.daemon.emit_output(self.session, b"$ make\r\n")
        start = self.session.end
        self.daemon.emit_output(self.session, b"built\r\n")
        self.session.history.append({"id": 3, "command": "make", "start": start, "end": self.session.end,
                                     "exit": 0, "started": 1, "ended": 2, "superseded": False})

    def result(self, **fields):
        return OPS["result"](self.daemon, self.client, dict(fields, id=1, name="s"))

    def test_a_finished_commands_output_comes_along_when_it_fits(self):
        reply = self.result(output=7)
        self.assertEqual((reply["data"], reply["start"], reply["evicted"]), (b"built\r\n", 8, False))
        self.assertEqual((reply["cols"], reply["rows"]), (80, 24))
        self.assertNotIn("data", self.result(output=6), "longer than asked for: read apart")
        self.assertNotIn("data", self.result(), "not asked for")

    def test_what_is_left_of_an_evicted_output_comes_along(self):
        self.daemon.emit_output(self.session, b"x" * 60)
        reply = self.result(output=64)
        self.assertEqual((reply["data"], reply["start"], reply["evicted"]), (b"lt\r\n", 11, True))

    def test_a_running_commands_output_does_not(self):
        self.session.history[-1].update(end=None, exit=None)
        self.assertNotIn("data", self.result(output=1 << 20))


if __name__ == "__main__":
    unittest.main()
