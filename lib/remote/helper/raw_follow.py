"""A raw follow: a session's output written as bare bytes into a bridge's ssh channel (its stdout, handed over by
`bridge.follow`), so that ssh's master writes them into the reader's pipe as it writes `cat`'s, and no process on
either side copies them in between. The bridge hears on its own connection that the follow began, of gaps and of the
shell's exit, and tells them on stderr. Imported by the daemon when such a bridge comes: it may import asyncio."""

import asyncio, os
from contextlib import suppress

from client import Client, Feed
from errors import HelperError
from fields import clamp
from files import widen_pipe
from framing import frame
from protocol import WIDE_PIPES_MAX


class RawClient(Client):
    """A follower whose channel carries the output's bytes alone. A gap and the shell's exit go to the bridge's
    connection (`tell`); the other events a watcher gets are not for it. Paced as any watcher (Feed)."""

    def __init__(self, writer, loop, conn, full, ending):
        super().__init__(writer, (conn.close,), loop, full, pipe=True)
        self.conn, self.ending = conn, ending  # ending: called once the shell's exit is told

    def send(self, obj):
        if obj.get("ev") in ("gap", "exit"):
            self.tell(obj)
        if obj.get("ev") == "exit":
            # Not at once: the daemon is going through its clients (notify) when it tells the exit.
            self.loop.call_soon(self.ending)

    def send_bulk(self, obj, key, data):
        if not self.writer.is_closing():
            # A transport that would keep a view of the session's buffer gets a copy (see VIEWS_COPIED).
            self.write(data if self.pipe else bytes(data))

    def tell(self, obj):
        """A small frame to the bridge, which only waits to read it: its socket's buffer takes it at once."""
        with suppress(OSError):
            self.conn.send(frame(obj))


async def serve_raw_follow(daemon, conn, fd, msg):
    """Follow the session `msg` names from its cursor `since` (a gap first when the buffer no longer holds it), from
    the start of its buffer (`whole`, as a raw `logs` reads it), or from its end, into `fd`, the channel's stdout,
    until the shell exits or the reader goes (the pipe's far end closes: the transport sees it even while nothing is
    written). Refused (no such session, a bad name) with a frame the bridge tells, before any byte is written."""
    try:
        session = daemon.session(msg)
    except HelperError as exc:
        os.close(fd)
        with suppress(OSError):
            conn.send(frame({"ok": False, "code": exc.args[0], "message": exc.args[1]}))
        conn.close()
        return
    since = msg.get("since")
    start = clamp(since, 0, session.end, session.base if msg.get("whole") is True else session.end)
    wide, ended = False, daemon.loop.create_future()

    def widen():
        nonlocal wide
        wide = daemon.wide_pipes < WIDE_PIPES_MAX and widen_pipe(fd)
        daemon.wide_pipes += wide

    def end(*_):
        ended.done() or ended.set_result(None)

    class Protocol(asyncio.streams.FlowControlMixin):
        def connection_lost(self, exc):
            super().connection_lost(exc)
            end()
    try:
        try:
            transport, proto = await daemon.loop.connect_write_pipe(Protocol, os.fdopen(fd, "wb", 0))
        except (OSError, ValueError):
            conn.close()
            return
        client = RawClient(asyncio.StreamWriter(transport, proto, None, daemon.loop), daemon.loop, conn, widen, end)

        def bridge_spoke():  # it says nothing: readable means it ended (killed, or ssh gone), which ends the follow
            with suppress(OSError):
                if conn.recv(1):
                    return
            end()
        daemon.loop.add_reader(conn.fileno(), bridge_spoke)
        client.tell({"ok": True, "start": start})
        daemon.clients.append(client)
        client.watch[session.name] = "output"
        client.feeds[session.name] = feed = Feed(session, start)
        daemon.feed_watcher(client, feed)
        await ended
        with suppress(OSError, ValueError):
            daemon.loop.remove_reader(conn.fileno())
        daemon.drop_client(client)  # what is queued still goes out, then the channel's stdout closes
    finally:
        daemon.wide_pipes -= wide
