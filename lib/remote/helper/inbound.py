"""A handed-over channel's requests, handled in the callback that reads them."""

import struct

from protocol import CLIENT_QUEUE_LIMIT, ERR_PROTOCOL, MAX_FRAME

class Inbound:
    """The read side of a channel as an asyncio protocol: each whole frame goes to `handle` as it is read. A stream
    reader would cost every request a task step and a turn of the loop of its own (a run of `true` took 11 system
    calls, 5 of them epoll_wait). A client that asks faster than it reads its replies is not read until they have
    drained: its queue stays bounded, and it is never dropped. Nothing is handled before `start` (the daemon first
    answers the handover); `ended` is called once, when the channel ends (its input closed or failed, a frame over
    MAX_FRAME, its output closed)."""

    def __init__(self, client, handle, ended, keep):
        self.client, self.handle, self.ended, self.keep = client, handle, ended, keep
        self.buf, self.transport, self.held, self.done, self.eof = bytearray(), None, True, False, False

    def connection_made(self, transport):
        self.transport = transport

    def start(self):
        self.held = False
        self.take()

    def data_received(self, data):
        self.buf += data
        if not self.held:
            self.take()

    def eof_received(self):
        pass  # connection_lost follows

    def connection_lost(self, exc):
        # The requests read before the end are still handled, as a stream reader would hand them out.
        self.eof = True
        if not self.held:
            self.take()

    def take(self):
        """Handle the whole frames read so far, until the client's replies fill its queue."""
        buf, client = self.buf, self.client
        pos = 0
        while len(buf) - pos >= 4 and not self.done:
            if client.writer.is_closing():
                self.end()
                break
            if client.queued() > CLIENT_QUEUE_LIMIT:
                self.held = True
                self.transport.pause_reading()
                self.keep(self.drain())
                break
            size = struct.unpack_from(">I", buf, pos)[0]
            if size > MAX_FRAME:
                client.fail(None, ERR_PROTOCOL, "frame of %d bytes exceeds the %d byte limit" % (size, MAX_FRAME))
                self.end()
                break
            if len(buf) - pos - 4 < size:
                break
            body = bytes(buf[pos + 4:pos + 4 + size])
            pos += 4 + size
            self.handle(client, body)
        del buf[:pos]
        if self.eof and not self.held:
            self.end()

    async def drain(self):
        self.client.flush()
        try:
            await self.client.writer.drain()
        except OSError:  # its output is gone: so is the channel
            self.end()
            return
        if not self.done:
            self.transport.resume_reading()
            self.start()

    def end(self):
        if not self.done:
            self.done = True
            self.ended()
