"""A connection as the daemon sees it: replies and events out, and what an "output" watcher has been sent."""

import sys

from framing import frame, frame_head
from protocol import ATTACH_HIGH_WATER, ATTACH_LOW_WATER, READ_CHUNK, WATCH_CHUNK

# The Pythons whose pipe transport is known to copy what it cannot write at once (3.8 to 3.15: its buffer a bytearray
# that `+=` copies into, read in their asyncio/unix_events.py, 3.15 as of its second alpha; client_test's
# PipeTransportTest checks the one the tests run on). A later one gets packed frames until checked: a transport that
# kept a view would stop the session's buffer from growing (BufferError) or send what overwrote it.
VIEWS_COPIED = sys.version_info < (3, 16)

class Client:
    """One connection: requests in; replies and events out, the small ones of a turn in one write given a loop."""

    def __init__(self, writer, closers=(), loop=None, full=None, pipe=False):
        self.writer, self.agent = writer, None  # agent: the ssh agent socket forwarded to this client's bridge
        # pipe: the writer's transport is a pipe's, which copies what it cannot write at once (VIEWS_COPIED); a
        # socket's keeps the bytes it was given from 3.12 on, so a view of a session's buffer must not go to it.
        self.pipe = pipe and VIEWS_COPIED
        self.loop, self.out = loop, []
        self.closers = closers  # what else to close with the connection: a handed-over channel's read side
        self.full = full  # called once, when a write first leaves bytes queued: a handed-over channel widens its pipe
        self.watch = {}  # session name -> "events" or "output"
        self.feeds = {}  # session name -> Feed, for an "output" watcher that is not the attached client
        self.idle = {}  # session name -> the token of its idle watch (see watch_ops.check_idle)
        self.matchers = {}  # session name -> the TextMatcher of its `wait --for`
        self.drain = None  # the task that resumes output to its attached sessions once the connection drains
        writer.transport.set_write_buffer_limits(ATTACH_HIGH_WATER, ATTACH_LOW_WATER)

    def send(self, obj):
        data = frame(obj)
        if self.loop and len(data) <= 4096:
            if not self.out:
                self.loop.call_soon(self.flush)
            return self.out.append(data)
        self.flush()
        if not self.writer.is_closing():
            self.write(data)

    def send_bulk(self, obj, key, data):
        """`send` of `obj` with `data` (a view of a session's buffer) under `key`: from READ_CHUNK on, to a pipe, the
        frame's head is written and then `data` from where it lies, one copy of a flood's every byte fewer (the
        transport copies what the pipe does not take at once); else it goes packed in one frame, as `send` sends it."""
        if len(data) < READ_CHUNK or not self.pipe:
            return self.send(dict(obj, **{key: data}))
        self.flush()
        if not self.writer.is_closing():
            self.write(frame_head(obj, key, data))
            self.write(data)

    def flush(self):
        if self.out and not self.writer.is_closing():
            self.write(b"".join(self.out))
        self.out = []

    def write(self, data):
        self.writer.write(data)
        if self.full and self.writer.transport.get_write_buffer_size():
            full, self.full = self.full, None
            full()

    def queued(self):
        return self.writer.transport.get_write_buffer_size() + sum(map(len, self.out))

    def reply(self, req_id, **fields):
        self.send(dict(fields, id=req_id, ok=True))

    def close(self):
        self.flush()
        self.writer.close()  # what was queued still goes out first
        for close in self.closers:
            close()

    def fail(self, req_id, code, message, name=None):
        """Refuses a request; `name`, the session it was about, lets the client say what to do about it."""
        reply = {"id": req_id, "ok": False, "code": code, "message": message}
        if isinstance(name, str):
            reply["name"] = name
        self.send(reply)

class Feed:
    """What an "output" watcher of one session has been sent. Its output goes in parts while its connection holds
    less than the high mark, like an attached client's; output evicted before it went out is skipped and the gap
    reported. Events that came meanwhile wait until the output before them has gone, so they keep their order.
    Its parts grow from READ_CHUNK to WATCH_CHUNK, each at most what went before: the first bytes of a backlog
    reach the reader without waiting for a whole large part, and a flood still goes in large ones."""
    __slots__ = ("session", "sent", "held", "due", "viewer", "start")

    def __init__(self, session, sent, viewer=False):
        # viewer: a read-only attached client, which redraws from a tail (resync) where a follower gets a gap.
        self.session, self.sent, self.held, self.due, self.viewer = session, sent, [], False, viewer
        self.start = sent

    def part(self):
        """How many bytes the next part may hold."""
        return min(WATCH_CHUNK, max(READ_CHUNK, self.sent - self.start))
