"""`wait --for`: a session's output as the text `output` shows, searched by a pattern in a child process
(PatternWorker), never on the daemon's loop."""

import os, re, signal, socket
from contextlib import suppress

from errors import HelperError
from files import or_none
from framing import frame, split_frames, unpack
from protocol import ERR_BAD_PATTERN, ERR_PATTERN_TOO_SLOW, ERR_REMOTE, MATCH_OVERLAP, PATTERN_BUDGET_S, READ_CHUNK

# Escape sequences and the control characters a terminal does not print, removed before a pattern sees the text, as
# the client's AnsiStripper does; backspace, tab, newline and carriage return stay.
ESCAPE_RE = re.compile("\x1b(?:\\[[\x20-\x3f]*[\x40-\x7e]|\\][^\x07\x1b]*(?:\x07|\x1b\\\\)|[PX^_][^\x1b]*\x1b\\\\"
                       "|[\x20-\x2f]*[\x30-\x7e])?|[\x00-\x07\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# An escape sequence the output has not finished yet: held until the next read completes it.
UNFINISHED_RE = re.compile("\x1b(?:\\[[\x20-\x3f]*|\\][^\x07\x1b]*\x1b?|[PX^_][^\x1b]*\x1b?|[\x20-\x2f]*)\\Z")
UNFINISHED_MAX = 4096
MATCH_STEP = 1 << 20  # bytes of output taken to search at a time

# Line ends as `output` shows them: a newline, however many carriage returns came before it.
LINE_END_RE = re.compile("\r+\n")
# A pattern search runs in a child process (PatternWorker), never on the daemon's loop: Python's `re` backtracks,
# holds the GIL, and cannot be stopped from another thread, so that `(a+)+$` over 30 characters would stall every
# session for minutes. A search over PATTERN_BUDGET_S is ended with the child, and the wait fails with
# pattern_too_slow.
MATCH_PENDING_MAX = 16 << 20  # characters of text a matcher holds while the worker is busy; beyond, output is skipped

class TextMatcher:
    """Looks for a `wait --for` pattern in a session's output from `pos` on. The output is read as UTF-8 (invalid
    bytes as U+FFFD), without escape sequences and with `\n` line ends, as `output` shows it, and searched with the
    MATCH_OVERLAP characters before it, so that a match may span reads. The client rewrote its pattern for Python's
    `re` (lib/session/pattern.ts): `^` with the m flag is a lookbehind, without it `\A`, the start of the output
    searched. `take` turns output into text on the loop (linear time); the pattern searches it in PatternWorker."""
    __slots__ = ("pattern", "pos", "decoder", "held", "cr", "tail", "cut", "evicted", "due", "pending", "searching")

    def __init__(self, pattern, pos):
        import codecs
        self.pattern, self.pos, self.held, self.cr, self.tail, self.cut = pattern, pos, "", "", "", 0
        self.evicted, self.due, self.pending, self.searching = False, False, [], False
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def take(self, session, stop):
        """The text of the output up to `stop`, to search: (text, where the search starts, the offset reached, the
        text new since the last take or None when output was skipped). Output evicted before it was taken is
        skipped."""
        skipped = self.pos < session.base
        if skipped:
            # U+FFFF stands for what went by: no match spans it, and one may begin right after it.
            self.evicted, self.pos, self.held, self.cr, self.tail, self.cut = True, session.base, "", "", "\uffff", 1
            self.decoder.reset()
        text = self.held + self.decoder.decode(session.slice(self.pos, stop))
        self.pos = max(self.pos, stop)
        unfinished = UNFINISHED_RE.search(text, max(0, len(text) - UNFINISHED_MAX))
        hold = unfinished.start() if unfinished else len(text)
        # Carriage returns at the end are held too: the next read tells whether a newline follows them.
        clean = self.cr + ESCAPE_RE.sub("", text[:hold])
        body = clean.rstrip("\r")
        fresh = LINE_END_RE.sub("\n", body)
        self.held, self.cr, text = text[hold:], clean[len(body):], self.tail + fresh
        # Searching from 1 once the text was cut keeps `\A` from matching where the cut fell.
        start = self.cut
        if len(text) > MATCH_OVERLAP:
            self.tail, self.cut = text[-MATCH_OVERLAP:], 1
        else:
            self.tail = text
        return text, start, self.pos, None if skipped else fresh

    def scan(self, session, stop):
        """Search the output up to `stop` here, on this process; the match or None."""
        text, start = self.take(session, stop)[:2]
        return self.pattern.search(text, start)

class PatternWorker:
    """A long-lived child process, forked when the first pattern is searched, that runs one search at a time: the
    daemon's loop only sends it text and awaits its answer, so that no pattern delays another session's requests.
    A search over PATTERN_BUDGET_S kills the child (the next search forks a new one) and raises pattern_too_slow."""

    def __init__(self, loop):
        self.loop, self.sock, self.pid, self.lock = loop, None, None, None

    async def search(self, pattern, text, start):
        """(start, end) of the first match of compiled `pattern` in `text` from `start`, or None."""
        import asyncio
        self.lock = self.lock or asyncio.Lock()
        async with self.lock:  # one search at a time: the child answers in order
            if self.sock is None:
                self.start()
            request = frame({"source": pattern.pattern, "flags": pattern.flags, "text": text, "start": start})
            try:
                reply = await asyncio.wait_for(self.ask(request), PATTERN_BUDGET_S)
            except asyncio.TimeoutError:
                self.stop()
                raise HelperError(ERR_PATTERN_TOO_SLOW, "The pattern took over %g s to search %d characters of "
                                  "output; nested repetition such as (a+)+ backtracks for ever: simplify it"
                                  % (PATTERN_BUDGET_S, len(text) - start))
            except (OSError, EOFError, ValueError) as exc:
                self.stop()
                raise HelperError(ERR_REMOTE, "The pattern search failed: %r" % (exc,))
        if reply.get("error") is not None:
            raise HelperError(ERR_BAD_PATTERN, "The daemon cannot search with the pattern: %s" % reply["error"])
        span = reply.get("span")
        return tuple(span) if span else None

    async def ask(self, request):
        await self.loop.sock_sendall(self.sock, request)
        buf = bytearray()
        while True:
            frames = split_frames(buf)
            if frames:
                return unpack(frames[0])
            data = await self.loop.sock_recv(self.sock, READ_CHUNK)
            if not data:
                raise EOFError("the pattern worker exited")
            buf += data

    def start(self):
        mine, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(theirs.fileno(), 3)
                os.closerange(4, 4096)  # the sessions' PTYs, the listener, the clients
                signal.set_wakeup_fd(-1)
                for sig in (signal.SIGCHLD, signal.SIGUSR1, signal.SIGTERM, signal.SIGALRM):
                    signal.signal(sig, signal.SIG_DFL)
                with suppress(OSError):
                    os.nice(10)  # the daemon's loop comes first on a busy host
                pattern_worker(socket.socket(fileno=3))
            finally:
                os._exit(0)
        theirs.close()
        mine.setblocking(False)
        self.sock, self.pid = mine, pid

    def stop(self):
        """Kill the child; the daemon's SIGCHLD handler reaps it."""
        if self.sock is not None:
            self.sock.close()
            or_none(os.kill, self.pid, signal.SIGKILL)
        self.sock = self.pid = None

def pattern_worker(sock):
    """The child of PatternWorker: searches what the daemon sends until it closes the connection. SIGALRM's default
    action ends a search the daemon no longer waits for, should the daemon die without killing this process."""
    buf = bytearray()
    while True:
        frames = split_frames(buf)
        if not frames:
            data = sock.recv(READ_CHUNK << 4)
            if not data:
                return
            buf += data
            continue
        msg = unpack(frames[0])
        signal.alarm(int(PATTERN_BUDGET_S) * 5)
        try:
            match = re.compile(msg["source"], msg["flags"]).search(msg["text"], msg["start"])
            reply = {"span": [match.start(), match.end()] if match else None}
        except (re.error, OverflowError, RecursionError, KeyError, TypeError) as exc:
            reply = {"error": str(exc)}
        signal.alarm(0)
        sock.sendall(frame(reply))
