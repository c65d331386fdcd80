"""Unit tests of inbound.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import asyncio
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from framing import frame, unpack  # noqa: E402
from inbound import Inbound  # noqa: E402
from protocol import CLIENT_QUEUE_LIMIT, MAX_FRAME  # noqa: E402


class FakeReadTransport:
    def __init__(self):
        self.reading = True

    def pause_reading(self):
        self.reading = False

    def resume_reading(self):
        self.reading = True


class FakeClient:
    """A connection whose queue of replies the test fills and drains."""

    def __init__(self):
        self.writer, self.backlog, self.failed, self.drained = self, 0, [], asyncio.Event()

    def is_closing(self):
        return False

    def queued(self):
        return self.backlog

    def flush(self):
        pass

    async def drain(self):
        await self.drained.wait()
        self.backlog = 0

    def fail(self, req_id, code, message):
        self.failed.append(code)


class InboundTest(unittest.TestCase):
    def setUp(self):
        self.client, self.handled, self.ends, self.tasks = FakeClient(), [], [], []
        self.inbound = Inbound(self.client, lambda client, body: self.handled.append(unpack(body)["n"]),
                               lambda: self.ends.append(True), self.tasks.append)
        self.transport = FakeReadTransport()
        self.inbound.connection_made(self.transport)

    def test_frames_are_handled_whole_in_order_once_started(self):
        data = frame({"n": 1}) + frame({"n": 2}) + frame({"n": 3})
        self.inbound.data_received(data[:3])
        self.inbound.data_received(data[3:9])
        self.assertEqual(self.handled, [], "nothing before the handover is answered")
        self.inbound.start()
        self.assertEqual(self.handled, [1])
        self.inbound.data_received(data[9:])
        self.assertEqual(self.handled, [1, 2, 3])
        self.assertEqual(self.ends, [])

    def test_requests_read_before_the_end_are_handled_then_it_ends_once(self):
        self.inbound.data_received(frame({"n": 1}) + frame({"n": 2}) + frame({"n": 3})[:5])
        self.inbound.eof_received()
        self.inbound.connection_lost(None)
        self.assertEqual((self.handled, self.ends), ([], []))
        self.inbound.start()
        self.assertEqual((self.handled, self.ends), ([1, 2], [True]))
        self.inbound.connection_lost(None)
        self.assertEqual(self.ends, [True])

    def test_a_frame_over_the_limit_is_refused_and_ends_the_channel(self):
        self.inbound.start()
        self.inbound.data_received((MAX_FRAME + 1).to_bytes(4, "big") + frame({"n": 1}))
        self.assertEqual((self.client.failed, self.ends, self.handled), (["protocol"], [True], []))

    def test_a_client_that_does_not_read_its_replies_is_read_again_once_they_drained(self):
        async def scenario():
            self.inbound.start()
            self.inbound.data_received(frame({"n": 1}))
            self.client.backlog = CLIENT_QUEUE_LIMIT + 1
            self.inbound.data_received(frame({"n": 2}) + frame({"n": 3}))
            self.assertEqual((self.handled, self.transport.reading), ([1], False))
            self.inbound.data_received(frame({"n": 4}))  # read before the pause took
            task = asyncio.ensure_future(self.tasks.pop())
            await asyncio.sleep(0)
            self.assertEqual(self.handled, [1])
            self.client.drained.set()
            await task
            self.assertEqual((self.handled, self.transport.reading), ([1, 2, 3, 4], True))
        asyncio.run(scenario())

    def test_a_client_that_left_with_replies_queued_still_gets_them_all(self):
        async def scenario():
            self.inbound.data_received(frame({"n": 1}) + frame({"n": 2}))
            self.inbound.connection_lost(None)
            self.client.backlog = CLIENT_QUEUE_LIMIT + 1
            self.inbound.start()
            self.assertEqual((self.handled, self.ends), ([], []))
            self.client.drained.set()
            await self.tasks.pop()
            self.assertEqual((self.handled, self.ends), ([1, 2], [True]))
        asyncio.run(scenario())


if __name__ == "__main__":
    unittest.main()
