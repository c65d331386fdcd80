"""The two directions of a session's PTY, as the Daemon runs them: output read, scanned for markers, stored and sent
to watchers at the pace each reads; input written as fast as the PTY takes it."""

import os, time
from contextlib import suppress

from errors import HelperError
from files import or_none, write_private_file
from integration import is_typeable
from markers import reported_cwd
from matching import MATCH_PENDING_MAX, MATCH_STEP
from protocol import (ATTACH_HIGH_WATER, ERR_NO_INTEGRATION, ERR_REMOTE, ERR_SESSION_EXITED, INPUT_STALL_S,
    MATCH_TEXT_MAX, MAX_READ_REPLY, READ_CHUNK, RESYNC_TAIL, WATCH_BATCH_S)
from sessions import COMMAND_TEXT_MAX, HISTORY_MAX

class Terminal:
    """The two directions of a session's PTY, as the Daemon runs them."""

    def read_pty(self, session):
        try:
            data = os.read(session.fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the shell is gone: reaping it ends the session
            self.loop.remove_reader(session.fd)
            return
        data = session.redactor.feed(data)
        if session.redactor.pending:  # a secret's start, or not: it goes out as it is if nothing follows
            self.loop.call_later(0.05, lambda: self.process_output(session, session.redactor.flush()))
        self.process_output(session, data)
        if session.scanner.pending:  # a marker's start, or a lone ESC: it goes out as output if nothing follows
            self.loop.call_later(0.05, lambda: self.emit_output(session, session.scanner.flush()))

    def process_output(self, session, data):
        clean, markers = session.scanner.feed(data)
        pos = 0
        for at, payload in markers:
            self.emit_output(session, clean[pos:at])
            pos = at
            self.handle_marker(session, payload)
        self.emit_output(session, clean[pos:])

    def emit_output(self, session, data):
        if not data:
            return
        evicting = session.end + len(data) - session.capacity
        for client in self.clients:
            matcher = client.matchers.get(session.name)
            # Output a pattern has not been searched for yet is searched before it leaves the buffer.
            if matcher is not None and matcher.pos < evicting:
                self.advance_matcher(client, session, matcher, True)
        session.append(data)
        for client in self.clients:
            feed = client.feeds.get(session.name)
            if feed is not None and feed.session is session and not feed.due:
                # A PTY hands out a flood a few hundred bytes per read: what comes within a few milliseconds
                # goes out as one frame, or a watcher would spend its time on frames rather than output.
                feed.due = True
                self.loop.call_later(WATCH_BATCH_S, self.feed_due, client, feed)
            matcher = client.matchers.get(session.name)
            if matcher is not None and not matcher.due:
                matcher.due = True  # searched in batches, as a feed is sent, or each read would search the overlap
                self.loop.call_later(WATCH_BATCH_S, self.advance_matcher, client, session, matcher)
        self.feed_attached(session)

    def feed_due(self, client, feed):
        feed.due = False
        if client.feeds.get(feed.session.name) is feed:
            self.feed_watcher(client, feed)

    def feed_watcher(self, client, feed):
        """Send an "output" watcher what it has not had (see Feed); the rest waits for its connection to drain."""
        session = feed.session
        while not client.writer.is_closing():
            while feed.held and feed.held[0][0] <= feed.sent:
                client.send(feed.held.pop(0)[1])
            if feed.sent >= session.end or self.held_back(client):
                return
            if feed.sent < session.base and feed.viewer:
                start = max(session.base, session.end - RESYNC_TAIL)
                client.send({"ev": "resync", "name": session.name, "start": start, "end": session.end,
                             "skipped": start - feed.sent, "data": session.slice(start, session.end),
                             "modes": session.modes_at(start)})
                feed.sent = session.end
                continue
            if feed.sent < session.base:
                client.send({"ev": "gap", "name": session.name, "start": feed.sent, "end": session.base})
                feed.sent = session.base
                continue
            stop = min(session.end, feed.sent + feed.part())
            with session.view(feed.sent, stop) as data:  # written or copied before the view is released
                client.send_bulk({"ev": "output", "name": session.name, "offset": feed.sent}, "data", data)
            feed.sent = stop

    def feed_attached(self, session, final=False):
        """Send the attached client the output it has not had, in parts, until its connection holds the high mark;
        the rest waits for it to drain. Further behind than an attach replays, it skips ahead. `final`: the session
        ends, so what is owed goes now, or a short tail does."""
        client = session.attached
        while client and not client.writer.is_closing() and session.sent < session.end:
            if not final and self.held_back(client):
                return
            if session.sent < session.base or session.end - session.sent > (RESYNC_TAIL if final else MAX_READ_REPLY):
                self.resync(client, session)
                return
            stop = min(session.end, session.sent + READ_CHUNK)
            client.send({"ev": "output", "name": session.name, "offset": session.sent,
                         "data": session.slice(session.sent, stop)})
            session.sent = stop

    def held_back(self, client):
        """Whether the client's connection holds the high mark; then its output waits, and goes on once the
        connection has drained."""
        if client.queued() <= ATTACH_HIGH_WATER:
            return False
        client.drain = client.drain or self.loop.create_task(self.resume_when_drained(client))
        return True

    def resync(self, client, session):
        """Skip the client ahead to the buffer's tail, reporting the gap; it redraws from a clean point there with the
        terminal modes then in force, as on attach."""
        start = max(session.base, session.end - RESYNC_TAIL)
        client.send({"ev": "resync", "name": session.name, "start": start, "end": session.end,
                     "skipped": start - session.sent, "data": session.slice(start, session.end),
                     "modes": session.modes_at(start)})
        session.sent = session.end

    async def resume_when_drained(self, client):
        with suppress(OSError):
            await client.writer.drain()  # a lost connection raises; is_closing() then stops it
        client.drain = None
        for session in list(self.sessions.values()):
            if session.attached is client:
                self.feed_attached(session)
        for feed in list(client.feeds.values()):
            self.feed_watcher(client, feed)

    def handle_marker(self, session, payload):
        kind, _, arg = payload.partition(";")
        if kind == "I":
            session.integrated = True
            session.preexec = "preexec" in arg.split(",")
        elif kind == "C":
            session.running = True
            if session.run:
                session.run["start"] = session.run["entry"]["start"] = session.last_input = session.end
            self.notify(session, {"ev": "started", "name": session.name, "offset": session.end,
                                  "seq": session.run and session.run["seq"],
                                  "command": session.run and session.run["entry"]["command"]})
        elif kind == "W":
            session.cwd = reported_cwd(arg)
        elif kind == "B" and arg.isdigit() and int(arg) > 1:  # zsh says 0 before any
            session.jobs = (session.jobs - {int(arg)} if len(session.jobs) < 64 else set()) | {int(arg)}
        elif kind == "P":
            session.integrated = session.prompted = True
            session.interrupted = None
            self.finish_command(session, int(arg) if arg.lstrip("-").isdigit() else None)
            self.dispatch_pending_run(session)

    def finish_command(self, session, status):
        if not session.running and session.run is None:
            return
        run, session.run = session.run, None
        session.running, session.last_exit = False, status
        if run and run["typed_to"] == session.queued_input():
            session.line_empty_at = run["typed_to"]
        self.report_done(session, run, exit=status)

    def report_done(self, session, run, **fields):
        """Send the `done` event of `run` (None: a command typed by hand) to its owner and to every watcher."""
        event = dict(fields, ev="done", name=session.name, end=session.end, seq=run and run["seq"],
                     start=run and run["start"])
        if run:
            run["entry"].update(end=session.end, exit=fields.get("exit"), ended=int(time.time() * 1000),
                                superseded=bool(fields.get("superseded")))
            event["duration_ms"] = run["entry"]["ended"] - run["entry"]["started"]
            if run["file"]:
                or_none(os.unlink, run["file"])
            # The owner gets the output with the event: no second round trip, even when the shell exits next.
            # More than a read reply holds is left for it to read in parts (data None).
            fits = session.end - max(run["start"], session.base) <= MAX_READ_REPLY
            if run["client"]:  # None: its call left (reset)
                run["client"].send(dict(event, data=session.slice(run["start"], session.end) if fits else None,
                                        evicted=run["start"] < session.base))
        self.notify(session, event, skip=run and run["client"])

    def advance_matcher(self, client, session, matcher, whole=False):
        """Take what the session wrote since the last search as text, a MATCH_STEP at a time so that a long backlog
        does not hold up the loop (all of it when `whole`: it is about to leave the buffer), and have the
        PatternWorker search it; see search_pending."""
        if client.matchers.get(session.name) is not matcher or client.writer.is_closing():
            return
        matcher.due = whole and matcher.due  # a search already due stays due: it finds the rest
        # While the worker is behind by more than MATCH_PENDING_MAX, output is left to be evicted, and reported so;
        # search_pending takes more once it caught up.
        if sum(len(piece[0]) for piece in matcher.pending) >= MATCH_PENDING_MAX:
            return
        text, start, end, fresh = matcher.take(session, session.end if whole else min(session.end, matcher.pos + MATCH_STEP))
        last = matcher.pending[-1] if matcher.pending else None
        if last and fresh is not None and len(last[0]) + len(fresh) <= MATCH_STEP:
            # A flood evicts a few KiB at a time: its pieces are joined, or each would be searched with the
            # MATCH_OVERLAP before it, many times over.
            matcher.pending[-1] = (last[0] + fresh, last[1], end)
        else:
            matcher.pending.append((text, start, end))
        if not matcher.searching:
            matcher.searching = True
            self.keep(self.search_pending(client, session, matcher))
        if matcher.pos < session.end and not matcher.due:
            matcher.due = True
            self.loop.call_soon(self.advance_matcher, client, session, matcher)

    async def search_pending(self, client, session, matcher):
        """Search the texts `matcher` took, in order; report the first match as a "match" event, with the output
        offset the search reached, or a search that failed (pattern_too_slow) as a "match_failed" one."""
        try:
            while matcher.pending and client.matchers.get(session.name) is matcher:
                text, start, end = matcher.pending.pop(0)
                try:
                    span = await self.patterns.search(matcher.pattern, text, start)
                except HelperError as exc:
                    if client.matchers.get(session.name) is matcher:
                        del client.matchers[session.name]
                        client.send({"ev": "match_failed", "name": session.name, "code": exc.args[0],
                                     "message": exc.args[1], "end": end, "evicted": matcher.evicted})
                    return
                if span is not None and client.matchers.get(session.name) is matcher:
                    del client.matchers[session.name]
                    client.send({"ev": "match", "name": session.name, "match": text[span[0]:span[1]][:MATCH_TEXT_MAX],
                                 "end": end, "evicted": matcher.evicted})
                elif not matcher.pending and matcher.pos < session.end and not matcher.due:
                    matcher.due = True  # output that came while the queue was full
                    self.loop.call_soon(self.advance_matcher, client, session, matcher)
        finally:
            matcher.searching = False

    def dispatch_pending_run(self, session):
        """Type the waiting command at a prompt with sessh's hooks: not before the first, whose marker would end
        it, nor before the one after an interrupted job."""
        if not session.pending_run or not session.prompted or session.interrupted:
            return
        (seq, command, client, req_id, created), session.pending_run = session.pending_run, None
        # C-u clears what was typed at the prompt; on an empty line it rings the bell instead, which costs the
        # shell and this loop a turn of their own for each run.
        clear = b"" if session.line_empty_at == session.queued_input() else b"\x15"
        if is_typeable(command, session.kind, session.preexec):
            path, data = None, clear + command + b"\r"
        else:
            path = os.path.join(self.rt, "cmd", "%s.%d.sh" % (session.name, seq))
            prefix = b"" if session.preexec else b"printf '\\033]6973;C\\007'\n"
            write_private_file(path, prefix + command + (b"" if command.endswith(b"\n") else b"\n"))
            data = clear + b" . '%s'\r" % path.encode()
        offset = session.last_input = session.end
        entry = {"id": seq, "command": command[:COMMAND_TEXT_MAX].decode("utf-8", "replace"), "start": offset,
                 "end": None, "exit": None, "started": int(time.time() * 1000), "ended": None, "superseded": False}
        session.history.append(entry)
        del session.history[:-HISTORY_MAX]
        session.run = {"seq": seq, "start": offset, "file": path, "client": client, "entry": entry}
        session.running = True
        self.write_pty(session, data)
        session.run["typed_to"] = session.queued_input()
        client.reply(req_id, seq=seq, offset=offset, typed=path is None, cols=session.cols, created=created)

    def _expire_pending_run(self, session, seq):
        if not session.pending_run or session.pending_run[0] != seq:
            return
        client, req_id = session.pending_run[2:4]
        session.pending_run = None
        client.fail(req_id, ERR_NO_INTEGRATION, 'The shell of "%s" did not show a prompt with sessh\'s hooks in time; '
                    "check its startup files or run commands without waiting" % session.name)

    def write_pty(self, session, data, waiter=None):
        """Queue input for the PTY and write what it takes now; the rest goes whenever it can take more, so a
        big paste never holds up the event loop and the other sessions. `waiter` (client, request id) is answered
        with the byte count once its bytes are written, in order."""
        session.inq += data
        if waiter:
            pending = len(session.inq) - session.inq_pos
            session.in_waiters.append((session.in_done + pending, waiter[0], waiter[1], len(data)))
        session.last_activity = session.in_progress = time.time()
        self.flush_input(session)

    def flush_input(self, session):
        try:
            while session.inq_pos < len(session.inq):
                with memoryview(session.inq) as view:
                    n = os.write(session.fd, view[session.inq_pos:session.inq_pos + READ_CHUNK])
                session.inq_pos += n
                session.in_done += n
                session.in_progress = time.time()
        except BlockingIOError:
            pass
        except OSError:  # the shell is gone; its end reports that to whoever waits
            self.fail_input(session, ERR_SESSION_EXITED, 'The shell of "%s" exited' % session.name)
            return
        while session.in_waiters and session.in_waiters[0][0] <= session.in_done:
            _, client, req_id, count = session.in_waiters.pop(0)
            client.reply(req_id, written=count)
        if session.inq_pos >= len(session.inq):
            session.inq, session.inq_pos = bytearray(), 0
        elif session.inq_pos > (1 << 20):  # drop what went, now and then rather than per write
            del session.inq[:session.inq_pos]
            session.inq_pos = 0
        busy = session.inq_pos < len(session.inq)
        if busy and not session.in_writing:
            self.loop.add_writer(session.fd, self.flush_input, session)
            self.loop.call_later(INPUT_STALL_S, self.check_input, session)
        elif not busy and session.in_writing:
            self.loop.remove_writer(session.fd)
        session.in_writing = busy

    def check_input(self, session):
        """A terminal that takes no input at all for a while (a program that stopped reading) gets none: what
        is queued is dropped and its senders told how much arrived."""
        if not session.in_writing:
            return
        idle = time.time() - session.in_progress
        if idle < INPUT_STALL_S:
            self.loop.call_later(INPUT_STALL_S - idle, self.check_input, session)
            return
        self.fail_input(session, ERR_REMOTE, 'The terminal of "%s" took no input for %d s; the program in it does '
                        "not read its input" % (session.name, INPUT_STALL_S))

    def fail_input(self, session, code, message):
        if session.in_writing:
            or_none(self.loop.remove_writer, session.fd)
        written = session.in_done
        for end, client, req_id, count in session.in_waiters:
            client.fail(req_id, code, "%s (%d of its %d bytes were written)" % (message, max(0, count - (end - written)), count))
        session.inq, session.inq_pos, session.in_waiters, session.in_writing = bytearray(), 0, [], False
