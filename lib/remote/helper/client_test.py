"""Unit tests of client.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import asyncio
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import Client  # noqa: E402
from protocol import READ_CHUNK  # noqa: E402
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

    def test_bulk_output_to_a_pipe_goes_as_its_head_then_the_view_itself_after_the_frames_queued_before_it(self):
        writer, loop = FakeWriter(), FakeLoop()
        client = Client(writer, loop=loop, pipe=True)
        client.reply(1)
        buffer = bytearray(b"x" * READ_CHUNK)
        with memoryview(buffer) as view:
            client.send_bulk({"ev": "output", "name": "s"}, "data", view)
            self.assertIs(writer.last, view)  # not a copy of it
        self.assertEqual(writer.writes, 3)
        self.assertEqual(writer.drained(), [{"id": 1, "ok": True},
                                            {"ev": "output", "name": "s", "data": bytes(buffer)}])

    def test_smaller_bulk_output_and_any_to_a_socket_go_packed_in_one_frame_as_send_sends_it(self):
        for size, pipe in ((READ_CHUNK - 1, True), (READ_CHUNK, False)):
            writer, loop = FakeWriter(), FakeLoop()
            client = Client(writer, loop=loop, pipe=pipe)
            with memoryview(bytearray(b"y" * size)) as view:
                client.send_bulk({"ev": "output", "name": "s"}, "data", view)
            self.assertEqual((writer.writes, type(writer.last)), (1, bytearray))
            self.assertEqual(writer.drained(), [{"ev": "output", "name": "s", "data": b"y" * size}])

class PipeTransportTest(unittest.TestCase):
    def test_a_pipe_transport_copies_what_it_cannot_write_at_once_so_a_written_view_may_change(self):
        """send_bulk's premise (client.py), on the Python running the tests: a view of a session's buffer written to a
        pipe's transport is copied as far as the pipe does not take it, so the buffer may take more output, or drop
        old, once the write returns. A transport that kept the view would fail here."""
        async def main():
            read_fd, write_fd = os.pipe()
            os.set_blocking(read_fd, False)
            loop = asyncio.get_running_loop()
            transport, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(write_fd, "wb", 0))
            sent = bytes(range(256)) * (4 * READ_CHUNK // 256)  # four times what a default pipe holds
            buffer = bytearray(sent)
            with memoryview(buffer) as view:
                transport.write(view)
            self.assertGreater(transport.get_write_buffer_size(), 0)  # queued: the pipe took only a part
            buffer[:] = b"\0" * len(buffer)  # overwritten in place
            buffer += b"more"  # and resized, which a view still held would refuse
            del buffer[:READ_CHUNK]
            received = bytearray()
            while len(received) < len(sent):
                await asyncio.sleep(0)
                try:
                    received += os.read(read_fd, 1 << 20)
                except BlockingIOError:
                    pass
            transport.close()
            os.close(read_fd)
            return bytes(received)
        read = asyncio.run(asyncio.wait_for(main(), 10))
        self.assertEqual(read, bytes(range(256)) * (4 * READ_CHUNK // 256))


if __name__ == "__main__":
    unittest.main()
