"""Stand-ins for the event loop, a connection and the pattern worker, and a daemon built on them, shared by the
helper's unit tests. Not shipped: the embed step leaves it behind with the tests."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from framing import split_frames, unpack  # noqa: E402

class FakeTransport:
    def __init__(self):
        self.queued = 0

    def get_write_buffer_size(self):
        return self.queued

    def set_write_buffer_limits(self, high, low):
        pass


class FakeWriter:
    """A connection that holds what is written until the test drains it."""

    def __init__(self):
        self.transport, self.frames, self.writes = FakeTransport(), [], 0
        self.last, self.partial = None, bytearray()  # the object last written; the bytes of a frame begun

    def is_closing(self):
        return False

    def write(self, data):
        self.transport.queued += len(data)
        self.writes += 1
        self.last = data
        self.partial += data
        self.frames += map(unpack, split_frames(self.partial))

    async def drain(self):
        pass

    def drained(self):
        frames, self.frames, self.transport.queued = self.frames, [], 0
        return frames


class FakeLoop:
    """Records what the daemon starts and schedules; a test runs it, or not."""

    def __init__(self):
        self.tasks, self.scheduled = [], []

    def create_task(self, coroutine):
        self.tasks.append(coroutine)
        return coroutine

    def call_later(self, delay, fn, *args):
        self.scheduled.append((fn, args))

    def call_soon(self, fn, *args):
        self.scheduled.append((fn, args))

    def run_scheduled(self):
        while self.scheduled:
            fn, args = self.scheduled.pop(0)
            fn(*args)


class InlineLoop(FakeLoop):
    """Runs a task at once, to its end: the searches of InlinePatterns never suspend."""

    class Done:
        def add_done_callback(self, fn):
            fn(self)

    def create_task(self, coroutine):
        try:
            coroutine.send(None)
        except StopIteration:
            return self.Done()
        raise AssertionError("a task suspended")


class InlinePatterns:
    """A PatternWorker that searches in this process."""

    async def search(self, pattern, text, start):
        match = pattern.search(text, start)
        return match and match.span()


def bare_daemon(test, loop, capacity=2 << 20):
    """A Daemon with no socket, loop or files, serving one session "s" to one client: sets `test.daemon`,
    `test.session`, `test.writer` and `test.client`, and closes the tasks left on `loop` after the test."""
    from client import Client
    from daemon import Daemon
    from sessions import Session
    test.daemon = Daemon.__new__(Daemon)
    test.daemon.loop, test.daemon.tasks = loop, set()
    test.daemon.lost, test.daemon.recent_exits, test.daemon.wide_pipes = {}, {}, 0
    test.session = Session("s", "/bin/sh", -1, 1, 80, 24, capacity, "posix")
    test.daemon.sessions = {"s": test.session}
    test.writer = FakeWriter()
    test.client = Client(test.writer)
    test.daemon.clients = [test.client]
    test.addCleanup(lambda: [task.close() for task in getattr(loop, "tasks", [])])


def temp_dir(test):
    """A private temporary directory, removed after `test`."""
    import shutil, tempfile
    path = tempfile.mkdtemp(prefix="sessh-test-")
    test.addCleanup(shutil.rmtree, path)
    return path
