"""Unit tests of daemon.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import sys
import unittest
import unittest.mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemon  # noqa: E402
from daemon import OPS, Daemon  # noqa: E402
from framing import pack  # noqa: E402
from testing import FakeLoop, bare_daemon  # noqa: E402


class OpsTest(unittest.TestCase):
    def test_one_table_names_every_operation(self):
        self.assertEqual(sorted(OPS), sorted([
            "hello", "open", "info", "list", "input", "secret", "resize", "run", "reset", "close", "ping", "agent",
            "read", "subscribe", "unsubscribe", "history", "result", "timeline", "attach", "detach",
            "fstat", "fread", "fwrite", "fmkdir", "flist", "fhash"]))
        self.assertEqual([name for name in dir(Daemon) if name.startswith("op_")], [])


class HandleFrameTest(unittest.TestCase):
    def setUp(self):
        bare_daemon(self, FakeLoop())

    def ask(self, msg):
        self.daemon.handle_frame(self.client, pack(msg))
        return self.writer.drained()

    def test_a_known_operation_is_answered_under_its_request_id(self):
        self.assertEqual(self.ask({"op": "ping", "id": 5}), [{"id": 5, "ok": True}])

    def test_unknown_operations_and_frames_that_are_no_map_are_protocol_errors(self):
        for msg in [{"op": "op_ping", "id": 1}, {"op": ["ping"], "id": 1}, {"op": "__init__", "id": 1}, [1]]:
            reply = self.ask(msg)
            self.assertEqual([r["code"] for r in reply], ["protocol"], msg)
        self.daemon.handle_frame(self.client, b"\xc1")
        self.assertEqual(self.writer.drained()[0]["code"], "protocol")

    def test_a_handler_that_breaks_fails_its_request_with_remote_and_the_daemon_goes_on(self):
        def broken(d, client, msg):
            raise KeyError("boom")
        OPS["broken"] = broken
        self.addCleanup(OPS.pop, "broken")
        with unittest.mock.patch.object(daemon, "log"):
            reply = self.ask({"op": "broken", "id": 2})
        self.assertEqual((reply[0]["id"], reply[0]["code"]), (2, "remote"))
        self.assertEqual(self.ask({"op": "ping", "id": 3}), [{"id": 3, "ok": True}])


if __name__ == "__main__":
    unittest.main()
