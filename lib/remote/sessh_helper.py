"""sessh remote helper: hosts the PTY sessions that sessh drives over ssh.

Sent by the sessh client over the ssh channel and cached under its content hash; Python 3.8+, standard library
only. `bridge` relays stdin/stdout to the user's daemon, starting it when none runs; after the magic line both
directions carry frames of a 4-byte big-endian length and a msgpack map.
"""

# hashlib and shutil are imported where used: every call starts a bridge, which needs neither.
import fcntl, os, pwd, re, select, signal, socket, stat, struct, sys, termios, time
from contextlib import contextmanager, suppress

PROTOCOL = 1
MAGIC = b"SESSH-HELPER %d\n" % PROTOCOL
SOCKET_NAME, REGISTRY_NAME = "daemon-%d.sock" % PROTOCOL, "sessions-%d.json" % PROTOCOL
SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on the BSDs
MAX_FRAME, READ_CHUNK, MAX_READ_REPLY = 16 << 20, 1 << 16, 4 << 20
CLIENT_QUEUE_LIMIT = 24 << 20
WATCH_BATCH_S = 0.005
INPUT_STALL_S = 30
# An attached client's output is paced: sent while its connection holds less than the high mark, resumed below the
# low one, so events never wait behind more; one that falls too far behind skips to the tail, enough to redraw from.
ATTACH_HIGH_WATER, ATTACH_LOW_WATER, RESYNC_TAIL = 512 << 10, 128 << 10, 64 << 10
DEFAULT_BUFFER, MAX_BUFFER = 1 << 20, 256 << 20
INFO_TAIL = 512  # bytes of output in session info: the client tells from them whether a program awaits input
DAEMON_IDLE_EXIT, CLOSE_GRACE_MS = 60.0, 2000
MARKER, MARKER_MAX = b"\x1b]6973;", 256
# A whole marker: MARKER, a payload without BEL, then BEL, in at most MARKER_MAX bytes.
MARKER_RE = re.compile(re.escape(MARKER) + rb"([^\x07]{0,%d})\x07" % (MARKER_MAX - len(MARKER) - 1))
# The start of a marker at the end of the output, or a part of MARKER there, that the next read may complete.
HELD_RE = re.compile(re.escape(MARKER) + rb"[^\x07]*\Z|\x1b(\](6(9(73?)?)?)?)?\Z")
NAME_RE, SAFE_PATH_RE = re.compile(r"[A-Za-z0-9._-]{1,64}\Z"), re.compile(r"[A-Za-z0-9/._-]+\Z")
# Terminal modes an attaching terminal must be put in before replay (the client's replay.ts keeps the same list).
MODE_RE = re.compile(rb"\x1b\[\?([0-9;]+)([hl])|\x1b([=>c])")
TRACKED_MODES = {b"1", b"25", b"47", b"1047", b"1049", b"1000", b"1002", b"1003", b"1005", b"1006", b"1015", b"2004"}
# Exit codes before the protocol starts: 3 to 5 are the loader's; lib/remote/exit_codes.ts says what each means.
EXIT_UNSAFE_DIR, EXIT_DAEMON_START = 6, 7
AGENT_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "MANPAGER": "cat", "SYSTEMD_PAGER": ""}
DROP_ENV = ("SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY", "SSH_ORIGINAL_COMMAND", "SSH_AUTH_SOCK")

# What this daemon does beyond protocol 1's first form; a client asks a daemon of an older helper only for what it
# lists. match_text: `wait --for` sees the text `output` shows (`\n` line ends) and is searched off the loop, a
# search over budget ending the wait with a "match_failed" event.
CAPS = ["run", "subscribe", "markers", "attach", "reset", "paced", "idle", "match", "history", "timeline", "files",
        "part_files", "match_text"]

class HelperError(Exception):
    """A request failed: raised as HelperError(code, message), `code` being the stable error code for the client."""

# ---------------------------------------------------------------- msgpack (only the types the protocol uses)
def pack(obj, out=None):
    """The msgpack encoding of `obj`, appended to `out` when given."""
    out = bytearray() if out is None else out
    if obj is None or isinstance(obj, bool):
        out.append(0xC0 if obj is None else 0xC3 if obj else 0xC2)
    elif isinstance(obj, int) and obj < 0:
        out += struct.pack(">b", obj) if obj >= -32 else struct.pack(">Bq", 0xD3, obj)
    elif isinstance(obj, int):
        _pack_header(out, obj, 0x00, 0x7F, (None, 0xCD, 0xCE, 0xCF))
    elif isinstance(obj, float):
        out += struct.pack(">Bd", 0xCB, obj)
    elif isinstance(obj, str):
        data = obj.encode("utf-8", "surrogateescape")
        _pack_header(out, len(data), 0xA0, 31, (0xD9, 0xDA, 0xDB))
        out += data
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        _pack_header(out, len(obj), None, 0, (0xC4, 0xC5, 0xC6))
        out += obj
    elif isinstance(obj, (list, tuple)):
        _pack_header(out, len(obj), 0x90, 15, (None, 0xDC, 0xDD))
        for item in obj:
            pack(item, out)
    elif isinstance(obj, dict):
        _pack_header(out, len(obj), 0x80, 15, (None, 0xDE, 0xDF))
        for key, value in obj.items():
            pack(value, pack(key, out))
    else:
        raise TypeError("cannot pack %r" % type(obj))
    return out

def _pack_header(out, n, fix_base, fix_max, tags):
    """The fix form when `n` fits it, else the first of `tags` (for 8, 16, 32, 64-bit sizes) that holds `n`."""
    if fix_base is not None and n <= fix_max:
        out.append(fix_base | n)
        return
    for tag, fmt, bits in zip(tags, (">BB", ">BH", ">BI", ">BQ"), (8, 16, 32, 64)):
        if tag is not None and n < 1 << bits:
            out += struct.pack(fmt, tag, n)
            return
    raise ValueError("%d is too large for msgpack" % n)

_CONSTANTS = {0xC0: None, 0xC2: False, 0xC3: True}
_NUMBERS = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
            0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
# Tag of a sized value -> (its kind, the format of the size that follows the tag).
_SIZED = {0xC4: ("bin", ">B"), 0xC5: ("bin", ">H"), 0xC6: ("bin", ">I"), 0xD9: ("str", ">B"), 0xDA: ("str", ">H"),
          0xDB: ("str", ">I"), 0xDC: ("array", ">H"), 0xDD: ("array", ">I"), 0xDE: ("map", ">H"), 0xDF: ("map", ">I")}

class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated msgpack data")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def number(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def value(self):
        tag = self.take(1)[0]
        if tag < 0x80 or tag >= 0xE0:
            return tag if tag < 0x80 else tag - 0x100
        # fixmap, fixarray and fixstr carry their size in the tag
        if tag < 0xA0:
            return self.sized("map" if tag < 0x90 else "array", tag & 0x0F)
        if tag < 0xC0:
            return self.sized("str", tag & 0x1F)
        if tag in _CONSTANTS:
            return _CONSTANTS[tag]
        if tag in _NUMBERS:
            return self.number(_NUMBERS[tag])
        if tag not in _SIZED:
            raise ValueError("unsupported msgpack type 0x%02x" % tag)
        return self.sized(_SIZED[tag][0], self.number(_SIZED[tag][1]))

    def sized(self, kind, n):
        if kind == "array":
            return [self.value() for _ in range(n)]
        if kind == "map":
            items = [(self.value(), self.value()) for _ in range(n)]
            if not all(isinstance(key, (str, int)) for key, _ in items):
                raise ValueError("unsupported map key")
            return dict(items)
        data = bytes(self.take(n))
        return data if kind == "bin" else data.decode("utf-8", "surrogateescape")

def unpack(data):
    reader = _Reader(data)
    value = reader.value()
    if reader.pos != len(data):
        raise ValueError("trailing bytes after msgpack value")
    return value

def frame(obj):
    """`obj` packed behind its 4-byte length, built in place: a reply of MiBs is copied once, not twice."""
    out = pack(obj, bytearray(4))
    out[:4] = struct.pack(">I", len(out) - 4)
    return out

def split_frames(buf):
    """Take the complete frames off the front of `buf` (a bytearray)."""
    frames = []
    while len(buf) >= 4:
        size = struct.unpack(">I", bytes(buf[:4]))[0]
        if size > MAX_FRAME:
            raise ValueError("frame of %d bytes exceeds the %d byte limit" % (size, MAX_FRAME))
        if len(buf) < 4 + size:
            break
        frames.append(bytes(buf[4:4 + size]))
        del buf[:4 + size]
    return frames

# ---------------------------------------------------------------- markers
class MarkerScanner:
    """Strips sessh's shell-integration markers (OSC 6973) from PTY output, holding back a marker split across
    reads until the rest arrives; `flush` releases a tail that never completed."""

    def __init__(self):
        self.pending = b""

    def feed(self, data):
        data, out, markers, i = self.pending + data, bytearray(), [], 0
        for match in MARKER_RE.finditer(data):
            out += data[i:match.start()]
            markers.append((len(out), match.group(1).decode("utf-8", "replace")))
            i = match.end()
        # Hold back what may still become a marker; a longer unfinished one is not ours and passes through.
        held = HELD_RE.search(data, max(i, len(data) - MARKER_MAX + 1))
        hold = held.start() if held else len(data)
        out += data[i:hold]
        self.pending = data[hold:]
        return bytes(out), markers

    def flush(self):
        data, self.pending = self.pending, b""
        return data

class Redactor:
    """Replaces the secrets typed into a session (kept in memory only) wherever its output repeats them, before
    the output is buffered: a program that prints a password it read shows REDACTED instead. A part of a secret
    at the end of a read is held back until the next read completes it or shows it is not one."""

    def __init__(self):
        self.secrets, self.pending = [], b""

    def add(self, secret):
        if secret and secret not in self.secrets:
            self.secrets.append(secret)
            self.secrets.sort(key=len, reverse=True)  # the longest first, so that none is left half replaced

    def feed(self, data):
        if not self.secrets:
            return data
        data, self.pending = self.pending + data, b""
        for secret in self.secrets:
            data = data.replace(secret, REDACTED)
        longest = len(self.secrets[0])
        for keep in range(min(longest - 1, len(data)), 0, -1):
            tail = data[-keep:]
            if any(secret.startswith(tail) for secret in self.secrets):
                data, self.pending = data[:-keep], tail
                break
        return data

    def flush(self):
        data, self.pending = self.pending, b""
        return data

def scan_modes(modes, data, start, stop):
    """The terminal modes in force after data[start:stop], given `modes` before it."""
    modes = dict(modes)
    for match in MODE_RE.finditer(data, start, stop):
        params, setting, single = match.groups()
        if single == b"c":
            modes.clear()  # a full reset
        elif single:
            modes["keypad"] = single == b"="
        else:
            modes.update((p.decode(), setting == b"h") for p in params.split(b";") if p in TRACKED_MODES)
    return modes

# ---------------------------------------------------------------- matching output as text (wait --for)
# Escape sequences and the control characters a terminal does not print, removed before a pattern sees the text, as
# the client's AnsiStripper does; backspace, tab, newline and carriage return stay.
ESCAPE_RE = re.compile("\x1b(?:\\[[\x20-\x3f]*[\x40-\x7e]|\\][^\x07\x1b]*(?:\x07|\x1b\\\\)|[PX^_][^\x1b]*\x1b\\\\"
                       "|[\x20-\x2f]*[\x30-\x7e])?|[\x00-\x07\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# An escape sequence the output has not finished yet: held until the next read completes it.
UNFINISHED_RE = re.compile("\x1b(?:\\[[\x20-\x3f]*|\\][^\x07\x1b]*\x1b?|[PX^_][^\x1b]*\x1b?|[\x20-\x2f]*)\\Z")
UNFINISHED_MAX = 4096
MATCH_OVERLAP = 64 << 10  # characters of earlier text a match may span, as on the client
MATCH_TEXT_MAX = 64 << 10  # characters of a match that are sent
MATCH_STEP = 1 << 20  # bytes of output taken to search at a time
HISTORY_MAX, COMMAND_TEXT_MAX = 100, 4096  # commands kept per session; bytes of each one's text kept
REDACTED, SECRET_MAX = b"[REDACTED]", 4096  # what a secret shows as in output; the longest secret taken
TIMELINE_GAP_S = 0.01  # output within this much of the last burst's start shares its timestamp
ENDED_KEEP, ENDED_MAX = 1 << 20, 20  # bytes of output kept of a session closed for idleness; how many are kept

# Line ends as `output` shows them: a newline, however many carriage returns came before it.
LINE_END_RE = re.compile("\r+\n")
# A pattern search runs in a child process (PatternWorker), never on the daemon's loop: Python's `re` backtracks,
# holds the GIL, and cannot be stopped from another thread, so that `(a+)+$` over 30 characters would stall every
# session for minutes. A search that takes longer than this is ended with the child, and the wait fails with
# pattern_too_slow.
PATTERN_BUDGET_S = 2.0
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
                raise HelperError("pattern_too_slow", "The pattern took over %g s to search %d characters of "
                                  "output; nested repetition such as (a+)+ backtracks for ever: simplify it"
                                  % (PATTERN_BUDGET_S, len(text) - start))
            except (OSError, EOFError, ValueError) as exc:
                self.stop()
                raise HelperError("remote", "The pattern search failed: %r" % (exc,))
        if reply.get("error") is not None:
            raise HelperError("bad_pattern", "The daemon cannot search with the pattern: %s" % reply["error"])
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

# ---------------------------------------------------------------- files
def state_dir():
    """`${XDG_STATE_HOME:-~/.local/state}/sessh/HOST`, or None when it cannot be made private. The daemon's log and
    session registry live there, out of reach of tmp cleaners and logout; per host, as homes may be shared (NFS)."""
    base = os.environ.get("XDG_STATE_HOME", "")
    top, below = (base, []) if os.path.isabs(base) else (os.path.expanduser("~"), [".local", "state"])
    host = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname().partition(".")[0]) or "localhost"
    if not SAFE_PATH_RE.match(top) or not safe_dir(top):
        return None
    path = top
    for part in below:
        path = os.path.join(path, part)
        if not safe_dir(path, create=True):
            return None
    for part in ("sessh", host):
        path = os.path.join(path, part)
        if not private_dir(path):
            return None
    return path

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW

def _guards(st):
    """Whether directory `st` lets nobody but this user and root rename what it holds: owned by one of them and not
    writable by group or others, or sticky."""
    return st.st_uid in (0, os.getuid()) and not st.st_mode & 0o022 or bool(st.st_mode & stat.S_ISVTX)

def open_dir(path, create=False):
    """A descriptor of directory `path`, or why it is not safe (a str). Each directory from / down is opened without
    following a link, relative to the one above (the links of `path`'s parent resolved first), and checked by fstat
    once open: a path checked and then used again may name another directory by then, when someone can rename
    it. So every directory above `path` must let nobody else rename what it holds (_guards), which also keeps the
    paths used later ours; `path` itself must be ours and not group or other writable. `create`: make it 0700 when
    missing (as the loader does its cache, lib/remote/loader.py)."""
    parts = [p for p in os.path.realpath(os.path.dirname(path)).split("/") if p] + [os.path.basename(path)]
    fd, at = None, "/"
    try:
        fd = os.open("/", DIR_FLAGS)
        for i, part in enumerate(parts):
            st = os.fstat(fd)
            if not _guards(st):
                return "%s (uid %d, mode %o) lets others replace what it holds" % (at, st.st_uid, st.st_mode & 0o7777)
            if create and i == len(parts) - 1:
                with suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
            fd, parent = os.open(part, DIR_FLAGS, dir_fd=fd), fd
            os.close(parent)
            at = os.path.join(at, part)
        st = os.fstat(fd)
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            return "it is owned by uid %d with mode %o" % (st.st_uid, st.st_mode & 0o7777)
        fd, ok = None, fd
        return ok
    except OSError as exc:
        return "%s: %s" % (at, exc.strerror or exc)
    finally:
        if fd is not None:
            os.close(fd)

def safe_dir(path, create=False):
    """Whether open_dir finds `path` safe."""
    fd = open_dir(path, create)
    if isinstance(fd, str):
        return False
    os.close(fd)
    return True

def runtime_base():
    """($XDG_RUNTIME_DIR, None) when it is safe to hold the daemon's directory, else (None, why not)."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if not base or not SAFE_PATH_RE.match(base) or not os.path.isabs(base):
        return None, base and "XDG_RUNTIME_DIR=%r is not an absolute path of letters, digits and ./_-" % base
    fd = open_dir(base)
    if isinstance(fd, str):
        return None, "XDG_RUNTIME_DIR=%s is not a private directory of uid %d: %s" % (base, os.getuid(), fd)
    os.close(fd)
    return base, None

def runtime_dir(state):
    """The private directory of the daemon's socket: $XDG_RUNTIME_DIR/sessh, else the state dir when a socket path
    there fits, else a short one in /tmp. An XDG_RUNTIME_DIR that others could tamper with is passed over; the
    daemon's log says why (run_daemon)."""
    base = runtime_base()[0]
    if base:
        path = os.path.join(base, "sessh")
    elif state and socket_fits(state):
        path = state
    else:
        path = tmp_runtime_dir(state)
    for directory in [path] + [os.path.join(path, d) for d in ("shell", "cmd", "bin")]:
        ensure_private_dir(directory)
    return path

def socket_fits(directory):
    return len(os.path.join(directory, SOCKET_NAME).encode()) <= SOCKET_PATH_MAX

def tmp_runtime_dir(state):
    """/tmp/sessh-UID; when another user holds that name (sticky /tmp: we could not remove it), a fresh directory
    that the state dir points to, so that later calls find it."""
    shared = "/tmp/sessh-%d" % os.getuid()
    pointer = state and os.path.join(state, "runtime-dir")
    recorded = pointer and (read_file(pointer) or b"").decode("utf-8", "replace").strip()
    if recorded and re.match(re.escape(shared) + r"-[A-Za-z0-9_]+\Z", recorded) and private_dir(recorded):
        return recorded
    if private_dir(shared) or not state:
        return shared
    import tempfile
    path = tempfile.mkdtemp(prefix="sessh-%d-" % os.getuid(), dir="/tmp")
    write_private_file(pointer, path.encode())
    return path

def private_dir(path):
    """Create `path` 0700 when missing; whether it is now a directory of this user with mode 0700 (not a symlink),
    checked by descriptor (open_dir)."""
    fd = open_dir(path, create=True)
    if isinstance(fd, str):
        return False
    mode = os.fstat(fd).st_mode
    os.close(fd)
    return stat.S_IMODE(mode) == 0o700

def make_private_dirs(path):
    """Create `path` and its missing parents 0700 (parents that exist are left as they are)."""
    parent = os.path.dirname(path)
    if parent != path and not os.path.lexists(parent):
        make_private_dirs(parent)
    return private_dir(path)

def ensure_private_dir(path):
    fd = open_dir(path, create=True)
    why = fd if isinstance(fd, str) else None if stat.S_IMODE(os.fstat(fd).st_mode) == 0o700 else "its mode is not 0700"
    if not isinstance(fd, str):
        os.close(fd)
    if why is None:
        return
    sys.stderr.write("sessh: refusing %s: it must be a directory owned by uid %d with mode 0700, in directories only "
                     "you or root can change (%s); remove it and retry\n" % (path, os.getuid(), why))
    sys.exit(EXIT_UNSAFE_DIR)

def checked_dir_fd(directory):
    """A descriptor of `directory` that open_dir found safe; PermissionError saying why, else."""
    fd = open_dir(directory)
    if isinstance(fd, str):
        raise PermissionError("refusing %s: %s" % (directory, fd))
    return fd

def open_in(directory, name, flags, mode=0o600):
    """os.open of `name` in `directory`, through a checked descriptor of it, never following a link at `name`."""
    fd = checked_dir_fd(directory)
    try:
        return os.open(name, flags | os.O_NOFOLLOW, mode, dir_fd=fd)
    finally:
        os.close(fd)

def write_private_file(path, data, mode=0o600):
    """Write `path` whole: a temporary file renamed over it, both in the directory checked, by its descriptor."""
    fd = checked_dir_fd(os.path.dirname(path))
    name = os.path.basename(path)
    tmp = "%s.%d.tmp" % (name, os.getpid())
    try:
        def opener(tmp_name, flags):
            return os.open(tmp_name, flags | os.O_NOFOLLOW, mode, dir_fd=fd)
        with open(tmp, "wb", opener=opener) as f:
            f.write(data)
        os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)

def read_file(path, limit=-1):
    with suppress(OSError), open(path, "rb") as f:
        return f.read(limit)

def or_none(fn, *args):
    """fn(*args), or None when it raises OSError: the process or file it names may be gone already."""
    with suppress(OSError):
        return fn(*args)

def remove_command_files(rt, name):
    """Unlink the command files (NAME.SEQ.sh) of session `name`: a run that never got its prompt leaves one."""
    directory = os.path.join(rt, "cmd")
    for entry in or_none(os.listdir, directory) or []:
        stem, _, seq = entry[:-3].rpartition(".")
        if entry.endswith(".sh") and stem == name and seq.isdigit():
            or_none(os.unlink, os.path.join(directory, entry))

# ---------------------------------------------------------------- daemons and their registry of sessions
def source_path():
    """This helper's source: the file run, or the one beside the .pyc the loader compiled it into."""
    path = os.path.abspath(__file__)
    return path if path.endswith(".py") else path.rsplit(".", 2)[0] + ".py"

def daemon_argv(fd, rt, state):
    """How start_daemon re-executes the daemon: its argv says what it is, so bridges can find it in /proc. It runs
    the .pyc the loader left beside the source, when there is one: compiling the source again costs ~40 ms."""
    src = source_path()
    pyc = "%s.%s.pyc" % (src[:-3], sys.implementation.cache_tag)
    return [sys.executable, "-S", pyc if os.path.isfile(pyc) else src, "daemon", str(PROTOCOL), str(fd), rt, state or ""]

def daemon_of(pid):
    """(runtime dir, state dir) of `pid` when it is a live sessh daemon of this user and protocol, else None."""
    if getattr(or_none(os.stat, "/proc/%d" % pid), "st_uid", None) != os.getuid():
        return None
    argv = (read_file("/proc/%d/cmdline" % pid) or b"").split(b"\0")
    if argv[3:5] != [b"daemon", b"%d" % PROTOCOL] or len(argv) < 8:
        return None
    return argv[6].decode("utf-8", "surrogateescape"), argv[7].decode("utf-8", "surrogateescape") or None

def live_daemons(rt, state):
    """(pid, runtime dir) of the sessh daemons of this user and protocol that use runtime dir `rt` or state dir
    `state`: the daemon a call in another environment (no XDG_RUNTIME_DIR, say) would have started too."""
    pids = [int(entry) for entry in or_none(os.listdir, "/proc") or [] if entry.isdigit() and int(entry) != os.getpid()]
    found = [(pid, daemon_of(pid)) for pid in pids]
    return [(pid, dirs[0]) for pid, dirs in found if dirs and (dirs[0] == rt or state and dirs[1] == state)]

def parse_registry(data):
    """A registry file's content, or an empty registry when it is missing or damaged."""
    import json
    with suppress(ValueError, TypeError):  # TypeError: no file (None); a UnicodeDecodeError is a ValueError
        registry = json.loads(data)
        if (isinstance(registry, dict) and isinstance(registry.get("daemon"), dict)
                and isinstance(registry.get("sessions"), list) and isinstance(registry.get("lost"), list)):
            return registry
    return {"daemon": {}, "sessions": [], "lost": []}

def lost_sessions(registry, daemon_alive, now_ms, reason):
    """name -> lost session: the ones the registry holds as lost and, when its daemon is gone, its live ones."""
    pid = registry["daemon"].get("pid")
    gone = [] if daemon_alive else [
        {"name": s.get("name"), "shell": s.get("shell"), "created": s.get("created"), "lost_at": now_ms,
         "daemon_pid": pid, "reason": reason} for s in registry["sessions"] if isinstance(s, dict)]
    entries = [e for e in registry["lost"] + gone if isinstance(e, dict) and isinstance(e.get("name"), str)]
    return {e["name"]: e for e in entries if NAME_RE.match(e["name"])}

def lost_info(entry):
    """A lost session as `list` shows it: what died with it is null."""
    return {"name": entry["name"], "lost": True, "lost_at": _clamp(entry.get("lost_at"), 0, 1 << 53, 0),
            "shell": str(entry.get("shell") or ""), "created": _clamp(entry.get("created"), 0, 1 << 53, 0),
            "pid": None, "running": False, "attached": False, "command": None, "cwd": None}

def lost_message(entry):
    found = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_clamp(entry.get("lost_at"), 0, 1 << 53, 0) / 1000))
    why = "; its log ends with: %s" % entry["reason"] if entry.get("reason") else ""
    return ('Session "%s" was lost: the sessh daemon (pid %s) that held it is gone (found at %s; its terminal closed '
            "with it%s); closing it forgets it, opening it starts a new one"
            % (entry["name"], entry.get("daemon_pid"), found, why))

def last_fatal(log_path):
    """The log's last line when it reports a fatal error: why the previous daemon died, when it could say so."""
    with suppress(OSError), open(log_path, "rb") as f:
        f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
        line = f.read().rstrip(b"\n").rpartition(b"\n")[2].decode("utf-8", "replace")
        return line if " fatal: " in line else None

# ---------------------------------------------------------------- shell integration
BASH_INTEGRATION = r"""
if [[ -z "${__sessh_installed-}" ]]; then
__sessh_installed=1
__sessh_precmd() { local s=$?; printf '\033]6973;P;%s\007' "$s"; return "$s"; }
[[ ":$PATH:" == *":$SESSH_BIN:"* ]] || PATH="$SESSH_BIN:$PATH"
if [[ "$(declare -p PROMPT_COMMAND 2>/dev/null)" == "declare -a"* ]]; then
  PROMPT_COMMAND=(__sessh_precmd "${PROMPT_COMMAND[@]/"${SESSH_BOOT-}"/:}")
else
  PROMPT_COMMAND="__sessh_precmd"$'\n'"${PROMPT_COMMAND/"${SESSH_BOOT-}"/:}"
fi
export -n PROMPT_COMMAND
PS0=$'\033]6973;C\007'"${PS0-}"
printf '\033]6973;I;preexec\007'
fi
if [[ -n "${SESSH_BOOT-}" ]]; then printf '\033]6973;P;0\007'; fi
unset SESSH_BOOT
"""

ZSH_HOOKS = r"""
if [[ -z "${__sessh_installed-}" ]]; then
__sessh_installed=1
__sessh_precmd() {
  local s=$?; printf '\033]6973;P;%s\007' "$s"
  [[ ":$PATH:" == *":$SESSH_BIN:"* ]] || PATH="$SESSH_BIN:$PATH"
  return $s
}
__sessh_preexec() { printf '\033]6973;C\007' }
typeset -ga precmd_functions preexec_functions
precmd_functions=(__sessh_precmd $precmd_functions)
preexec_functions=(__sessh_preexec $preexec_functions)
printf '\033]6973;I;preexec\007'
fi
"""

ZSH_ENV = r"""
if [[ -n "${SESSH_ORIG_ZDOTDIR+x}" ]]; then ZDOTDIR=$SESSH_ORIG_ZDOTDIR; unset SESSH_ORIG_ZDOTDIR
else unset ZDOTDIR; fi
if [[ -r "${ZDOTDIR:-$HOME}/.zshenv" ]]; then source "${ZDOTDIR:-$HOME}/.zshenv"; fi
if [[ -o interactive ]]; then source "%(hooks)s"; fi
"""

POSIX_INTEGRATION = r"""
if [ -n "${SESSH_ORIG_ENV+x}" ]; then ENV=$SESSH_ORIG_ENV; unset SESSH_ORIG_ENV
else unset ENV; fi
if [ -n "${ENV-}" ] && [ -r "$ENV" ]; then . "$ENV"; fi
if [ -z "${__sessh_installed-}" ]; then
  __sessh_installed=1
  case ":$PATH:" in *":$SESSH_BIN:"*) ;; *) PATH="$SESSH_BIN:$PATH" ;; esac
  PS1="$(printf '\033]6973;P;')"'$?'"$(printf '\007')${PS1-\$ }"
  printf '\033]6973;I;\007'
fi
"""

def shell_kind(shell):
    name = os.path.basename(shell).lstrip("-")
    if name.startswith("bash"):
        return "bash"
    if name.startswith("zsh"):
        return "zsh"
    return "posix" if name in ("sh", "dash", "ash", "ksh", "mksh", "ksh93", "posh", "busybox") else None

def install_integration(rt):
    shell_dir = os.path.join(rt, "shell")
    scripts = {"bash": os.path.join(shell_dir, "bash.sh"), "zsh": os.path.join(shell_dir, "zsh_hooks.zsh"),
               "zsh_dir": os.path.join(shell_dir, "zsh"), "posix": os.path.join(shell_dir, "posix.sh")}
    ensure_private_dir(scripts["zsh_dir"])
    for path, text in ((scripts["bash"], BASH_INTEGRATION), (scripts["zsh"], ZSH_HOOKS),
                       (os.path.join(scripts["zsh_dir"], ".zshenv"), ZSH_ENV % {"hooks": scripts["zsh"]}),
                       (scripts["posix"], POSIX_INTEGRATION)):
        write_private_file(path, text.encode())
    return scripts

def integration_env(kind, scripts, env):
    """Environment that makes a starting shell load sessh's prompt hooks."""
    if kind == "bash":
        boot = ' . "%s"' % scripts["bash"]
        return {"SESSH_BOOT": boot, "PROMPT_COMMAND": boot}
    if kind not in ("zsh", "posix"):
        return {}
    # zsh reads $ZDOTDIR/.zshenv and sh reads $ENV; the scripts restore the user's own value.
    var, value = ("ZDOTDIR", scripts["zsh_dir"]) if kind == "zsh" else ("ENV", scripts["posix"])
    return {var: value, **({"SESSH_ORIG_" + var: env[var]} if var in env else {})}

def is_typeable(command, kind, preexec):
    """Whether a command can be typed as is (readable for a human watching, and in history) rather than sourced
    from a file: only a short single line of printable text survives line editing and history expansion unchanged."""
    if kind not in ("bash", "zsh") or not preexec or len(command) > 1000 or not command.strip():
        return False
    text = command.decode("utf-8", "surrogateescape")  # bytes that are not UTF-8 become unprintable surrogates
    return text.isprintable() and "!" not in text and not text.startswith((" ", "#"))

# ---------------------------------------------------------------- sessions
class Session:
    """One PTY with a login shell, its output ring buffer and command state."""

    def __init__(self, name, shell, master_fd, pid, cols, rows, capacity, kind):
        self.name, self.shell, self.kind, self.fd, self.pid = name, shell, kind, master_fd, pid
        self.cols, self.rows, self.capacity = cols, rows, capacity
        self.buf, self.origin = bytearray(), 0  # buf holds output bytes [origin, end) of all the shell wrote
        self.created = self.last_activity = self.last_output = time.time()
        self.scanner, self.last_input = MarkerScanner(), 0  # last_input: the output offset when input last came
        self.history = []  # the last HISTORY_MAX commands typed by `run`, oldest first (see Daemon.op_history)
        self.redactor = Redactor()  # the secrets typed with `secret`, replaced in the output
        self.idle_timeout = None  # seconds without input or output after which the session is closed
        self.timeline = []  # (output offset, time) where each burst of output began, for recordings
        self.integrated = self.preexec = self.running = False
        self.run = self.pending_run = None  # the command typed in; one waiting for the next prompt
        self.last_exit = self.exit_status = None  # of the last command; of the shell
        self.attached = self.detached_at = None  # the interactive client; when the last one left
        self.sent, self.mode_mark = 0, (0, {})  # output sent to the attached client; the last modes_at answer
        self.modes = {}  # terminal modes in force at `origin`, kept as old output is evicted
        self.closing = []  # (client, request id) of close requests waiting for the shell to exit
        self.interrupted = None  # set by a forced run until the interrupted job gives the prompt back
        # Input not yet taken by the PTY: inq[inq_pos:]; in_done counts bytes written since the session began;
        # in_waiters: (in_done once its bytes are written, client, request id, their count).
        self.inq, self.inq_pos, self.in_done, self.in_waiters = bytearray(), 0, 0, []
        self.in_writing, self.in_progress = False, 0.0

    @property
    def end(self):
        return self.origin + len(self.buf)

    @property
    def base(self):
        """The oldest output still readable: the buffer holds `capacity` bytes (see `append`)."""
        return max(self.origin, self.end - self.capacity)

    def append(self, data):
        """Older output leaves the buffer at once for readers, and from memory in bulk: moving the buffer's
        bytes on every read from the PTY (a few KiB) would cost more than the read, and makes a flood crawl."""
        now = time.time()
        # When output came, for recordings: an entry per burst (reads within TIMELINE_GAP_S share one).
        if not self.timeline or now - self.timeline[-1][1] >= TIMELINE_GAP_S:
            self.timeline.append((self.end, now))
        self.buf += data
        self.last_activity = self.last_output = now
        excess = len(self.buf) - self.capacity
        if excess > max(self.capacity // 4, READ_CHUNK):
            self.modes = scan_modes(self.modes, self.buf, 0, excess)
            del self.buf[:excess]
            self.origin += excess
            keep = next((i for i, (offset, _) in enumerate(self.timeline) if offset >= self.origin),
                        len(self.timeline))
            del self.timeline[:max(0, keep - 1)]  # the entry before the origin still times its bytes

    def modes_at(self, offset):
        """The terminal modes in force at `offset`, scanning on from the last answer while it is still buffered."""
        at, modes = self.mode_mark if self.origin <= self.mode_mark[0] <= offset else (self.origin, self.modes)
        self.mode_mark = (offset, scan_modes(modes, self.buf, at - self.origin, offset - self.origin))
        return self.mode_mark[1]

    def slice(self, start, stop):
        start, stop = max(start, self.base), min(stop, self.end)
        if stop <= start:
            return b""
        # Through a view: slicing the bytearray itself would copy the part twice, a cost that shows at MiBs.
        with memoryview(self.buf) as view:
            return bytes(view[start - self.origin:stop - self.origin])

    def tail_start(self, lines):
        """Where the last `lines` lines begin, and whether that many were still buffered. When fewer were, the
        oldest whole line: the bytes before the first newline are the end of a line whose start was evicted."""
        low = self.base - self.origin
        pos = len(self.buf) - (1 if self.buf.endswith(b"\n") else 0)
        for _ in range(lines):
            found = self.buf.rfind(b"\n", low, pos)
            if found < 0:
                break
            pos = found
        else:
            return self.origin + pos + 1, True
        if self.base == 0 or (low > 0 and self.buf[low - 1:low] == b"\n"):
            return self.base, True
        first = self.buf.find(b"\n", low, pos + 1)
        return (self.origin + first + 1 if 0 <= first < len(self.buf) - 1 else self.base), False

    def info(self):
        fg = or_none(os.tcgetpgrp, self.fd)
        busy_pid = fg if fg and fg != self.pid else None
        parts = (read_file("/proc/%d/cmdline" % busy_pid) or b"").split(b"\0") if busy_pid else []
        return {"name": self.name, "pid": self.pid, "shell": self.shell, "created": int(self.created * 1000),
                "last_activity": int(self.last_activity * 1000), "cols": self.cols, "rows": self.rows,
                "buffer_start": self.base, "buffer_end": self.end, "buffer_size": self.capacity,
                "running": bool(self.running or busy_pid), "tail": self.slice(self.end - INFO_TAIL, self.end),
                "command": b" ".join(p for p in parts if p).decode("utf-8", "replace") or None,
                "cwd": or_none(os.readlink, "/proc/%d/cwd" % (busy_pid or self.pid)), "last_exit": self.last_exit,
                "integrated": self.integrated, "attached": self.attached is not None,
                "detached_at": self.detached_at and int(self.detached_at * 1000),
                "idle_deadline": self.idle_timeout and int((self.last_activity + self.idle_timeout) * 1000)}

def spawn_shell(shell, cols, rows, env):
    """Start `shell` as a login shell on a new PTY; returns (master_fd, pid)."""
    master, slave = os.openpty()
    set_winsize(master, cols, rows)
    pid = os.fork()
    if pid:
        os.close(slave)
        os.set_blocking(master, False)
        return master, pid
    try:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.closerange(3, 4096)  # the master and the slave among them
        for sig in (signal.SIGPIPE, signal.SIGHUP, signal.SIGCHLD, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        with suppress(OSError):
            os.chdir(env.get("HOME") or "/")  # else it starts in the daemon's, "/"
        os.execve(shell, ["-" + os.path.basename(shell)], env)
    except BaseException as exc:
        os.write(2, ("sessh: cannot start %s: %s\r\n" % (shell, exc)).encode())
    os._exit(127)

def set_winsize(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

def motd_text(home):
    """The login banner sshd would print, unless ~/.hushlogin exists."""
    if os.path.exists(os.path.join(home, ".hushlogin")):
        return b""
    parts = sorted(or_none(os.listdir, "/etc/motd.d") or [])
    chunks = [read_file(p, 65536) for p in ["/run/motd.dynamic", "/etc/motd"] + ["/etc/motd.d/" + n for n in parts]]
    return b"".join(c for c in chunks if c and c.strip()).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

def login_shells(path="/etc/shells"):
    """The host's login shells, as getusershell(3) reads them: /bin/sh and /bin/csh when the file is missing."""
    try:
        with open(path, "rb") as f:
            text = f.read(1 << 16).decode("utf-8", "replace")
    except FileNotFoundError:
        return ["/bin/sh", "/bin/csh"]
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip().startswith("/")]

def resolve_shell(requested, shells_file="/etc/shells"):
    """The shell a session starts: a requested one must be a login shell the host lists (so a client cannot start
    any program as a session's "shell"), matched by its exact path: a path through `..` or a link of the
    client's making is not the listed file."""
    if requested:
        import shutil
        path = requested if "/" in requested else shutil.which(requested)
        shells = login_shells(shells_file)
        if not path or path not in shells:
            raise HelperError("bad_shell", 'Shell "%s" is not a login shell on this host: %s lists %s; start one '
                              "of those, or run the program in a session" % (requested, shells_file,
                                                                          ", ".join(shells) or "none"))
        if not os.access(path, os.X_OK) or os.path.isdir(path):
            raise HelperError("bad_shell", 'Shell "%s" is not an executable on this host' % requested)
        return path
    with suppress(KeyError):  # a user without a passwd entry gets /bin/sh too
        shell = pwd.getpwuid(os.getuid()).pw_shell
        if shell and os.access(shell, os.X_OK):
            return shell
    return "/bin/sh"

def _checked_name(msg):
    name = msg.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise HelperError("bad_request", "Invalid session name %r" % (name,))
    return name

def _clamp(value, low, high, default):
    if not isinstance(value, int) or isinstance(value, bool):
        return default
    return max(low, min(high, value))

def file_path(msg):
    """A request's path on this host: `~` expanded, a relative one taken in the home directory (as scp does)."""
    path = msg.get("path")
    if not isinstance(path, str) or not path or "\0" in path:
        raise HelperError("bad_request", "A file request needs a path")
    return os.path.join(os.path.expanduser("~"), os.path.expanduser(path))

@contextmanager
def file_errors(path):
    """An OSError on `path` as the HelperError that says what to do."""
    try:
        yield
    except (FileNotFoundError, NotADirectoryError):
        raise HelperError("no_file", "No such file or directory on the host: %s" % path) from None
    except PermissionError:
        raise HelperError("file_denied", "Permission denied on the host: %s (check its mode and owner)" % path) from None
    except OSError as exc:
        raise HelperError("remote", "%s on the host: %s" % (exc.strerror, path)) from None

def log(message):
    sys.stderr.write("%s sessh-daemon[%d]: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), os.getpid(), message))
    sys.stderr.flush()

# ---------------------------------------------------------------- daemon
class Client:
    """One connection from a bridge: framed requests in, replies and events out."""

    def __init__(self, writer, closers=()):
        self.writer, self.agent = writer, None  # agent: the ssh agent socket forwarded to this client's bridge
        self.closers = closers  # what else to close with the connection: a handed-over channel's read side
        self.watch = {}  # session name -> "events" or "output"
        self.feeds = {}  # session name -> Feed, for an "output" watcher that is not the attached client
        self.idle = {}  # session name -> the token of its idle watch (see Daemon.check_idle)
        self.matchers = {}  # session name -> the TextMatcher of its `wait --for`
        self.drain = None  # the task that resumes output to its attached sessions once the connection drains
        writer.transport.set_write_buffer_limits(ATTACH_HIGH_WATER, ATTACH_LOW_WATER)

    def send(self, obj):
        if self.writer.is_closing():
            return
        self.writer.write(frame(obj))

    def reply(self, req_id, **fields):
        self.send(dict(fields, id=req_id, ok=True))

    def close(self):
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
    reported. Events that came meanwhile wait until the output before them has gone, so they keep their order."""
    __slots__ = ("session", "sent", "held", "due", "viewer")

    def __init__(self, session, sent, viewer=False):
        # viewer: a read-only attached client, which redraws from a tail (resync) where a follower gets a gap.
        self.session, self.sent, self.held, self.due, self.viewer = session, sent, [], False, viewer

class Daemon:
    """Owns every session of the user; serves bridge connections on one asyncio event loop."""

    def __init__(self, listener, rt, state):
        self.listener, self.rt, self.loop, self.run_seq = listener, rt, None, 0
        self.patterns = None  # the PatternWorker, once the loop runs
        self.sessions, self.clients, self.recent_exits, self.tasks = {}, [], {}, set()
        self.ended = {}  # name -> a session closed for idleness: its history and last output, to read
        self.socket_path, self.server, self.bound = os.path.join(rt, SOCKET_NAME), None, None
        # The log and the registry live in the state dir when there is one: tmp cleaners and logout leave it alone.
        self.state, self.started = state or rt, time.time()
        self.registry = os.path.join(self.state, REGISTRY_NAME)
        import hashlib
        self.hash = hashlib.sha256(read_file(source_path())).hexdigest()[:16]
        self.base_env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
        self.install_files()
        self.lost = self.load_lost()
        self.save_registry()

    def install_files(self):
        self.scripts = install_integration(self.rt)
        # `sessh detach` and `sessh list` inside sessions, without Deno on this host.
        shim = "#!/bin/sh\nexec '%s' '%s' \"$@\"\n" % (sys.executable, source_path())
        write_private_file(os.path.join(self.rt, "bin", "sessh"), shim.encode(), 0o700)

    def load_lost(self):
        """The sessions of a daemon that died before they ended are lost: kept, so that calls can say so."""
        registry = parse_registry(read_file(self.registry))
        pid = registry["daemon"].get("pid")
        alive = isinstance(pid, int) and pid != os.getpid() and daemon_of(pid) is not None
        if alive:
            log("daemon %d of %s still runs; its sessions are left to it" % (pid, self.registry))
        lost = lost_sessions(registry, alive, int(time.time() * 1000), last_fatal(os.path.join(self.state, "daemon.log")))
        for name in lost:
            remove_command_files(self.rt, name)
        return lost

    def save_registry(self):
        """Record the sessions where the next daemon finds them, should this one die before they end."""
        import json
        sessions = [{"name": s.name, "shell": s.shell, "pid": s.pid, "created": int(s.created * 1000)}
                    for s in self.sessions.values()]
        daemon = {"pid": os.getpid(), "started": int(self.started * 1000), "socket": self.socket_path}
        data = json.dumps({"daemon": daemon, "sessions": sessions, "lost": list(self.lost.values())})
        try:
            write_private_file(self.registry, data.encode())
        except OSError as exc:
            log("cannot write %s: %s" % (self.registry, exc))

    def forget_lost(self, name):
        if self.lost.pop(name, None) is None:
            return
        remove_command_files(self.rt, name)
        self.save_registry()

    def run(self):
        import asyncio  # here, not at the top: it would slow down every bridge, and only the daemon needs it
        self.loop = asyncio.new_event_loop()
        self.patterns = PatternWorker(self.loop)
        self.loop.add_signal_handler(signal.SIGCHLD, self.reap_children)
        self.loop.add_signal_handler(signal.SIGUSR1, self.keep_files, "a bridge found no socket")
        for sig in (signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_IGN)
        self.listen(self.listener)
        # At exit, the path is left alone if another socket took it.
        self.bound = getattr(or_none(os.stat, self.socket_path), "st_ino", None)
        self.housekeep(time.time())
        self.loop.run_forever()
        with suppress(OSError):
            if os.stat(self.socket_path).st_ino == self.bound:
                os.unlink(self.socket_path)

    def housekeep(self, idle_since):
        """Every 5 s: re-create removed files; exit after a minute without sessions or clients."""
        self.keep_files("5 s check")
        if self.sessions or self.clients:
            idle_since = time.time()
        if time.time() - idle_since > DAEMON_IDLE_EXIT:
            self.loop.stop()
        self.loop.call_later(5.0, self.housekeep, idle_since)

    def keep_files(self, trigger):
        """Re-create what a tmp cleaner or an rm -rf removed, as tmux does: the socket, so that the sessions stay
        reachable, and the registry, so that a later daemon still learns of them. Another file in the socket's
        place is left alone."""
        if not os.path.exists(self.registry):
            with suppress(OSError):
                self.restore_state()  # failing, it still leaves the socket to be re-created
        try:
            if os.path.lexists(self.socket_path):
                return
            dirs = [os.path.join(self.rt, d) for d in ("shell", "cmd", "bin")]
            if not make_private_dirs(self.rt) or not all(map(private_dir, dirs)):
                raise OSError("not a private dir")
            self.install_files()
            self.point_agent()
            listener = listen_at(self.socket_path)
        except OSError as exc:
            log("cannot re-create %s: %s" % (self.socket_path, exc))
            return
        self.bound = os.stat(self.socket_path).st_ino
        self.serve_on(listener, trigger)

    def restore_state(self):
        make_private_dirs(self.state)
        log_fd = open_log(self.state)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        self.save_registry()
        if os.path.basename(self.rt).startswith("sessh-%d-" % os.getuid()):  # see tmp_runtime_dir
            write_private_file(os.path.join(self.state, "runtime-dir"), self.rt.encode())

    def serve_on(self, listener, trigger):
        old = self.server
        self.listen(listener)
        self.loop.remove_reader(old.fileno())
        old.close()  # it stops listening; its connections stay
        log("listening again on %s (%s)" % (self.socket_path, trigger))

    def listen(self, listener):
        self.server = listener
        listener.setblocking(False)
        self.loop.add_reader(listener.fileno(), self.accept, listener)

    def accept(self, listener):
        try:
            conn = listener.accept()[0]
        except OSError:  # another wake-up took it
            return
        uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
        if uid != os.getuid():
            log("refused connection from uid %d" % uid)
            conn.close()
            return
        conn.setblocking(False)
        self.loop.add_reader(conn.fileno(), self.greet, conn)

    def greet(self, conn):
        """The first bytes of a connection: a bridge handing over its ssh channel (a handover frame with its stdin
        and stdout), or a client that speaks on the socket itself (the first bytes of its frames)."""
        self.loop.remove_reader(conn.fileno())
        try:
            data, ancillary = conn.recvmsg(READ_CHUNK, socket.CMSG_SPACE(8))[:2]
        except BlockingIOError:
            self.loop.add_reader(conn.fileno(), self.greet, conn)
            return
        except OSError:
            data, ancillary = b"", []
        fds = []
        for level, kind, blob in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds += struct.unpack("%di" % (len(blob) // 4), blob[:len(blob) // 4 * 4])
        frames = split_frames(bytearray(data)) if len(fds) == 2 else []
        msg = or_none(unpack, frames[0]) if frames else None
        if isinstance(msg, dict) and msg.get("op") == "handover":
            self.keep(self.serve_channel(conn, fds, msg))
            return
        for fd in fds:
            os.close(fd)
        if not data:
            conn.close()
            return
        self.keep(self.serve_socket(conn, data))

    def keep(self, coroutine):
        """Run a connection's task, held here: the loop holds tasks weakly, and one whose reading is paused (its
        input waits on a full PTY) would be collected mid-call."""
        task = self.loop.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def serve_socket(self, conn, first):
        import asyncio
        reader = asyncio.StreamReader()

        def protocol():
            reader.feed_data(first)  # before anything the transport reads
            return asyncio.StreamReaderProtocol(reader)
        transport, proto = await self.loop.connect_accepted_socket(protocol, sock=conn)
        await self.serve(Client(asyncio.StreamWriter(transport, proto, reader, self.loop)), reader)

    async def serve_channel(self, conn, fds, msg):
        """A bridge's ssh channel, handed over: the daemon reads and writes ssh's pipes itself, so that no process
        relays the bytes (a hop and a copy less on every call). The bridge waits until `conn` closes: sshd ends the
        channel once its command has exited and the pipes are closed."""
        import asyncio
        reader = asyncio.StreamReader()
        try:
            rtransport = (await self.loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                           os.fdopen(fds[0], "rb", 0)))[0]
            wtransport, wproto = await self.loop.connect_write_pipe(asyncio.streams.FlowControlMixin,
                                                                    os.fdopen(fds[1], "wb", 0))
        except (OSError, ValueError) as exc:
            log("handover failed: %r" % (exc,))
            conn.close()
            return
        conn.sendall(frame({"id": msg.get("id"), "ok": True}))
        client = Client(asyncio.StreamWriter(wtransport, wproto, None, self.loop), (rtransport.close, conn.close))
        await self.serve(client, reader, msg)

    async def serve(self, client, reader, handover=None):
        writer = client.writer
        self.clients.append(client)
        if handover:
            self.op_agent(client, handover)
        with suppress(EOFError, OSError):  # IncompleteReadError is an EOFError
            while not writer.is_closing():
                if writer.transport.get_write_buffer_size() > CLIENT_QUEUE_LIMIT:
                    # A client that asks faster than it reads the answers waits: its next request is read once its
                    # replies have drained, so its queue stays bounded and it is never dropped.
                    await writer.drain()
                size = struct.unpack(">I", await reader.readexactly(4))[0]
                if size > MAX_FRAME:
                    client.fail(None, "protocol", "frame of %d bytes exceeds the %d byte limit" % (size, MAX_FRAME))
                    break
                self.handle_frame(client, await reader.readexactly(size))
        self.drop_client(client)

    def handle_frame(self, client, body):
        try:
            msg = unpack(body)
        except Exception as exc:  # a ValueError, or a RecursionError from absurd nesting
            client.fail(None, "protocol", "Malformed frame: %s" % exc)
            return
        if not isinstance(msg, dict):
            client.fail(None, "protocol", "A frame must hold a map")
            return
        handler = getattr(self, "op_" + str(msg.get("op")), None)
        try:
            if handler is None:
                raise HelperError("protocol", 'Unknown operation "%s"' % msg.get("op"))
            reply = handler(client, msg)
            if reply is not None:
                client.reply(msg.get("id"), **reply)  # None: it answers by itself, now or later
        except HelperError as exc:
            client.fail(msg.get("id"), *exc.args, name=msg.get("name"))
        except Exception as exc:
            log("request %r failed: %r" % (msg.get("op"), exc))
            client.fail(msg.get("id"), "remote", "Helper error: %s" % exc)

    def drop_client(self, client):
        """Forget a client; what was queued for it still goes out before its connection closes."""
        if client not in self.clients:
            return
        self.clients.remove(client)
        for session in self.sessions.values():
            if session.attached is client:
                session.attached, session.detached_at = None, time.time()
        if client.agent:
            self.point_agent()
        client.close()

    def notify(self, session, event, level="events", skip=None):
        """Send an event to every client watching `session` at `level` or more ("output" includes "events")."""
        if event["ev"] == "exit":
            self.feed_attached(session, final=True)  # the shell's last words before its exit
        for client in self.clients:
            if client is skip or client.watch.get(session.name) not in ("output", level):
                continue
            feed = client.feeds.get(session.name)
            if feed is not None and feed.session is session and feed.sent < session.end:
                feed.held.append((session.end, event))
            else:
                client.send(event)

    def session(self, msg):
        name = _checked_name(msg)
        if name in self.sessions:
            return self.sessions[name]
        if name in self.lost:
            raise HelperError("session_lost", lost_message(self.lost[name]))
        if name in self.ended:
            raise HelperError("session_exited", 'Session "%s" was closed after %d s without input or output; its '
                              "history and last output remain (sessh result, history, logs) until it is opened "
                              "again" % (name, self.ended[name].idle_timeout))
        if name in self.recent_exits:
            raise HelperError("session_exited",
                              'Session "%s" ended: its shell exited with status %d' % (name, self.recent_exits[name]))
        raise HelperError("no_session", 'No session named "%s"' % name)

    def session_or_new(self, msg, options):
        """The session `msg` names, and whether it was created now, from `options` (a map) when there was none.
        A lost session is not silently replaced: that takes an explicit open."""
        name = _checked_name(msg)
        if name in self.sessions or name in self.lost or not isinstance(options, dict):
            return self.session(msg), False
        return self.create_session(dict(options, name=name)), True

    def create_session(self, options):
        name, shell, term = options["name"], resolve_shell(options.get("shell")), options.get("term")
        kind = shell_kind(shell)
        env = dict(self.base_env, TERM=term if isinstance(term, str) and term and term != "dumb" else "xterm-256color")
        if options.get("agent_env", True):
            env.update(AGENT_ENV)
        env.update((key, value) for key, value in (options.get("env") or {}).items()
                   if isinstance(key, str) and isinstance(value, str) and key and "=" not in key)
        env.update(SESSH_SESSION=name, SHELL=shell, SESSH_BIN=os.path.join(self.rt, "bin"),
                   SSH_AUTH_SOCK=os.path.join(self.rt, "agent.sock"))
        env.update(integration_env(kind, self.scripts, env))
        cols, rows = _clamp(options.get("cols"), 2, 1000, 160), _clamp(options.get("rows"), 2, 1000, 48)
        fd, pid = spawn_shell(shell, cols, rows, env)
        capacity = _clamp(options.get("buffer"), 4096, MAX_BUFFER, DEFAULT_BUFFER)
        session = self.sessions[name] = Session(name, shell, fd, pid, cols, rows, capacity, kind)
        session.append(motd_text(env.get("HOME", "/")))
        self.recent_exits.pop(name, None)
        self.ended.pop(name, None)
        idle_ms = options.get("idle_timeout_ms")
        if isinstance(idle_ms, int) and not isinstance(idle_ms, bool) and idle_ms > 0:
            session.idle_timeout = idle_ms / 1000.0
            self.loop.call_later(session.idle_timeout, self.check_session_idle, session)
        self.save_registry()
        self.loop.add_reader(fd, self.read_pty, session)
        if kind:
            self.loop.call_later(2.0, self._integrate_fallback, session)
        return session

    def check_session_idle(self, session):
        """Close a session with an idle timeout once nothing came in or out for that long; its history and last
        output stay readable (see `ended`)."""
        if session.exit_status is not None or self.sessions.get(session.name) is not session:
            return
        quiet = time.time() - session.last_activity
        if quiet < session.idle_timeout:
            self.loop.call_later(session.idle_timeout - quiet, self.check_session_idle, session)
            return
        log("closing session %s: idle for %d s" % (session.name, quiet))
        session.idle_closed = True
        self.signal_session(session, signal.SIGHUP)
        self.loop.call_later(CLOSE_GRACE_MS / 1000.0, self.signal_session, session, signal.SIGKILL)

    def _integrate_fallback(self, session):
        """Type the integration in when the environment route did not take."""
        if not session.integrated and session.exit_status is None and session.name in self.sessions:
            self.write_pty(session, b"\x15 . '%s'\r" % self.scripts[session.kind].encode())

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
            stop = min(session.end, feed.sent + READ_CHUNK)
            client.send({"ev": "output", "name": session.name, "offset": feed.sent,
                         "data": session.slice(feed.sent, stop)})
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
        if client.writer.transport.get_write_buffer_size() <= ATTACH_HIGH_WATER:
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
        elif kind == "P":
            session.integrated, session.interrupted = True, None
            self.finish_command(session, int(arg) if arg.lstrip("-").isdigit() else None)
            self.dispatch_pending_run(session)

    def finish_command(self, session, status):
        if not session.running and session.run is None:
            return
        run, session.run = session.run, None
        session.running, session.last_exit = False, status
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
            self.fail_input(session, "session_exited", 'The shell of "%s" exited' % session.name)
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
        self.fail_input(session, "remote", 'The terminal of "%s" took no input for %d s; the program in it does '
                        "not read its input" % (session.name, INPUT_STALL_S))

    def fail_input(self, session, code, message):
        if session.in_writing:
            or_none(self.loop.remove_writer, session.fd)
        written = session.in_done
        for end, client, req_id, count in session.in_waiters:
            client.fail(req_id, code, "%s (%d of its %d bytes were written)" % (message, max(0, count - (end - written)), count))
        session.inq, session.inq_pos, session.in_waiters, session.in_writing = bytearray(), 0, [], False

    def reap_children(self):
        while True:
            pid, status = or_none(os.waitpid, -1, os.WNOHANG) or (0, 0)  # ChildProcessError: no children left
            if not pid:
                return
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
            for session in [s for s in self.sessions.values() if s.pid == pid]:
                self.end_session(session, code)

    def end_session(self, session, code):
        for data in iter(lambda: or_none(os.read, session.fd, READ_CHUNK) or b"", b""):
            self.process_output(session, data)
        self.emit_output(session, session.scanner.flush())
        session.exit_status = code
        self.finish_command(session, None)
        remove_command_files(self.rt, session.name)
        self.notify(session, {"ev": "exit", "name": session.name, "status": code})
        if session.in_waiters or session.in_writing:
            self.fail_input(session, "session_exited", 'The shell of "%s" exited with status %d' % (session.name, code))
        self.loop.remove_reader(session.fd)
        os.close(session.fd)
        del self.sessions[session.name]
        self.save_registry()
        if getattr(session, "idle_closed", False):
            # Its last output and history stay readable (`result`, `history`, `logs`) until it is opened again.
            excess = len(session.buf) - ENDED_KEEP
            if excess > 0:
                del session.buf[:excess]
                session.origin += excess
            session.capacity = min(session.capacity, ENDED_KEEP)
            self.ended[session.name] = session
            while len(self.ended) > ENDED_MAX:
                del self.ended[next(iter(self.ended))]
        self.recent_exits[session.name] = code
        if len(self.recent_exits) > 100:
            del self.recent_exits[next(iter(self.recent_exits))]
        for client, req_id in session.closing:
            client.reply(req_id, status=code)
        if session.pending_run:
            client, req_id = session.pending_run[2:4]
            client.fail(req_id, "session_exited", 'The shell of "%s" exited with status %d' % (session.name, code))

    # -- requests: each op_NAME answers the request {"op": NAME}; returning None means it answered itself
    def op_hello(self, client, msg):
        if msg.get("version") != PROTOCOL:
            raise HelperError("protocol", "Expected protocol %d, got %r" % (PROTOCOL, msg.get("version")))
        return {"version": PROTOCOL, "helper": self.hash, "pid": os.getpid(), "max_frame": MAX_FRAME,
                "runtime_dir": self.rt, "caps": CAPS}

    def op_open(self, client, msg):
        self.forget_lost(_checked_name(msg))  # opening anew is one way to acknowledge a lost session
        session, created = self.session_or_new(msg, msg)
        return {"created": created, "session": session.info()}

    def op_info(self, client, msg):
        return {"session": self.session(msg).info()}

    def op_list(self, client, msg):
        live = [s.info() for s in sorted(self.sessions.values(), key=lambda s: s.created)]
        return {"sessions": live + [lost_info(entry) for entry in self.lost.values()]}

    def op_input(self, client, msg):
        if not isinstance(msg.get("data"), bytes):
            raise HelperError("bad_request", "input needs bytes in data")
        session = self.session(msg)
        feed = client.feeds.get(session.name)
        if feed is not None and feed.viewer:
            raise HelperError("bad_request", 'This client watches "%s" read-only: its keys go nowhere; attach '
                              "it, not read-only, to type" % session.name)
        session.last_input = session.end
        self.write_pty(session, msg["data"], (client, msg.get("id")))  # answered once written

    def op_secret(self, client, msg):
        """Type a secret and Enter, only while the terminal does not echo (a password prompt): never shown on
        screen, in the buffer or in a log. Kept in memory to be redacted from output that repeats it."""
        secret = msg.get("data")
        if not isinstance(secret, bytes) or not secret or len(secret) > SECRET_MAX or b"\r" in secret or \
                b"\n" in secret:
            raise HelperError("bad_request", "A secret is 1 to %d bytes without line breaks" % SECRET_MAX)
        session = self.session(msg)
        # A password prompt reads a line with echo off (ECHO clear, ICANON set). A line editor at a shell prompt
        # also clears ECHO, but reads keys one by one (ICANON clear) and echoes them itself, into its history too.
        attrs = or_none(termios.tcgetattr, session.fd)
        if attrs is None or attrs[3] & termios.ECHO or not attrs[3] & termios.ICANON:
            raise HelperError("terminal_echoes", 'The terminal of "%s" shows what is typed (its program echoes '
                              "input, or reads keys one by one as a shell prompt or an editor does), so the secret "
                              "would show on screen and in the output; wait until a program asks for it with echo "
                              "off (a password prompt)" % session.name)
        session.redactor.add(secret)
        session.last_input = session.end
        self.write_pty(session, secret + b"\r", (client, msg.get("id")))  # answered once written

    def op_resize(self, client, msg):
        session = self.session(msg)
        session.cols = _clamp(msg.get("cols"), 2, 1000, session.cols)
        session.rows = _clamp(msg.get("rows"), 2, 1000, session.rows)
        set_winsize(session.fd, session.cols, session.rows)
        return {}

    def op_read(self, client, msg):
        session = self.readable_session(msg)
        since, lines, until = msg.get("since"), msg.get("lines"), msg.get("until")
        whole = True
        if isinstance(since, int):
            start = since
        elif isinstance(lines, int):
            start, whole = session.tail_start(max(1, lines))
        else:
            start = session.base
        evicted, start = start < session.base or not whole, max(start, session.base)
        limit = _clamp(msg.get("max"), 1, MAX_READ_REPLY, MAX_READ_REPLY)
        data = session.slice(start, min(until if isinstance(until, int) else session.end, start + limit))
        # The terminal size comes along: renderers need it, and asking for it apart would cost a round trip.
        return {"data": data, "start": start, "end": start + len(data), "evicted": evicted,
                "cols": session.cols, "rows": session.rows,
                "buffer_start": session.base, "buffer_end": session.end}

    def op_subscribe(self, client, msg):
        session = self.session(msg)
        since = session.last_input if msg.get("from_input") else msg.get("since")
        start = session.end if not isinstance(since, int) else max(since, session.base)
        spec = msg.get("match")
        # A pattern the daemon cannot compile fails the request before it changes what the client watches.
        matcher = self.start_matcher(spec, start) if isinstance(spec, dict) else None
        client.matchers.pop(session.name, None)
        level = client.watch[session.name] = "output" if msg.get("output", True) else "events"
        client.reply(msg.get("id"), start=start, end=session.end, running=session.info()["running"],
                     evicted=isinstance(since, int) and since < session.base, last_exit=session.last_exit)
        if level == "output":  # the backlog, then live output, paced by what the client reads
            client.feeds[session.name] = Feed(session, start)
            self.feed_watcher(client, client.feeds[session.name])
        else:
            client.feeds.pop(session.name, None)
        idle_ms = msg.get("idle_ms")
        client.idle.pop(session.name, None)
        if isinstance(idle_ms, int) and not isinstance(idle_ms, bool) and idle_ms > 0:
            # Idleness is told here, so that a client waiting for it need not receive a flood to see it end.
            client.idle[session.name] = token = (time.time(), idle_ms / 1000.0)
            self.loop.call_later(token[1], self.check_idle, client, session, token)
        if matcher is not None:
            client.matchers[session.name] = matcher
            self.advance_matcher(client, session, matcher)

    def check_idle(self, client, session, token):
        """Tell an idle watcher once the session's output has been quiet for its time since it subscribed."""
        if client.idle.get(session.name) is not token or client.writer.is_closing():
            return
        quiet = time.time() - max(session.last_output, token[0])
        if quiet < token[1]:
            self.loop.call_later(token[1] - quiet, self.check_idle, client, session, token)
            return
        del client.idle[session.name]
        client.send({"ev": "idle", "name": session.name, "end": session.end})

    def start_matcher(self, spec, start):
        """Compile the pattern of a `wait --for` (see TextMatcher); it searches from `start` once the reply is out."""
        source, flags = spec.get("source"), spec.get("flags")
        if not isinstance(source, str) or not isinstance(flags, str):
            raise HelperError("bad_request", "match needs the pattern's source and flags as strings")
        try:
            pattern = re.compile(source, (re.I if "i" in flags else 0) | (re.S if "s" in flags else 0))
        except (re.error, OverflowError, RecursionError) as exc:
            raise HelperError("bad_pattern", "The daemon cannot compile the pattern: %s" % exc)
        return TextMatcher(pattern, start)

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

    def readable_session(self, msg):
        """The session `msg` names, or one closed for idleness, whose output and history can still be read."""
        name = _checked_name(msg)
        return self.ended[name] if name not in self.sessions and name in self.ended else self.session(msg)

    def op_history(self, client, msg):
        """The session's last HISTORY_MAX commands typed by `run`, oldest first: id, text, output cursors, exit code,
        times; `end` is None while one runs. Their output is read with `read` from `start` to `end`."""
        session = self.readable_session(msg)
        return {"commands": [dict(entry) for entry in session.history], "buffer_start": session.base,
                "buffer_end": session.end}

    def op_result(self, client, msg):
        """One command of the history: `command_id`, or the latest; what `history` says of it, and where the
        buffer begins now, so that the client can tell how much of its output is left."""
        session = self.readable_session(msg)
        wanted = msg.get("command_id")
        found = [e for e in session.history if wanted is None or e["id"] == wanted]
        if not found:
            known = ", ".join(str(e["id"]) for e in session.history[-5:])
            raise HelperError("no_command", "No command %s in the history of \"%s\"%s" % (
                "at all" if wanted is None else "with id %r" % (wanted,), session.name,
                " (the latest: %s; see sessh history)" % known if known else ": nothing was run there yet"))
        return {"command": dict(found[-1]), "buffer_start": session.base, "buffer_end": session.end}

    def op_timeline(self, client, msg):
        """When the output from `since` to `until` came: [offset, milliseconds since the epoch] for each burst, the
        first at or before `since`; and the terminal size, for a recording."""
        session = self.readable_session(msg)
        since = max(_clamp(msg.get("since"), 0, 1 << 62, session.base), session.base)
        until = min(_clamp(msg.get("until"), 0, 1 << 62, session.end), session.end)
        entries = [(o, t) for o, t in session.timeline if o < until]
        first = max((i for i, (o, _) in enumerate(entries) if o <= since), default=0)
        return {"timeline": [[o, int(t * 1000)] for o, t in entries[first:]], "since": since, "until": until,
                "cols": session.cols, "rows": session.rows}

    def op_unsubscribe(self, client, msg):
        client.watch.pop(msg.get("name"), None)
        client.feeds.pop(msg.get("name"), None)
        client.idle.pop(msg.get("name"), None)
        client.matchers.pop(msg.get("name"), None)
        return {}

    def op_run(self, client, msg):
        create, command = msg.get("create"), msg.get("command")
        session, created = self.session_or_new(msg, create if isinstance(create, dict) else {} if create else None)
        if not isinstance(command, bytes):
            raise HelperError("bad_request", "run needs the command as bytes")
        if session.kind is None:
            raise HelperError("no_integration", 'Cannot tell when commands finish in %s; run commands without waiting, '
                              'or open the session with a bash, zsh or sh shell' % session.shell)
        info = session.info()
        if not msg.get("force") and (info["running"] or session.pending_run):
            raise HelperError("session_busy", 'Session "%s" is busy running %s; wait for it to finish, interrupt it (C-c) or '
                              'force the run'
                              % (session.name, info["command"] or "a command"))
        if msg.get("force"):
            self.supersede(session, info["running"])
        seq = self.run_seq = self.run_seq + 1
        client.watch.setdefault(session.name, "events")
        session.pending_run = (seq, command, client, msg.get("id"), created)
        self.dispatch_pending_run(session)
        if session.pending_run:
            wait = _clamp(msg.get("ready_timeout_ms"), 100, 600000, 15000) / 1000.0
            self.loop.call_later(wait, self._expire_pending_run, session, seq)

    def supersede(self, session, running):
        """Make way for a forced run, whose reply and result must be its own: the run waiting for a prompt gives way,
        the one typed before ends as superseded, and the foreground job is interrupted; the forced run is typed at
        the prompt that follows."""
        if session.pending_run:
            client, req_id = session.pending_run[2:4]
            session.pending_run = None
            client.fail(req_id, "session_busy", 'A newer forced run in "%s" took the place of this command before '
                        "it was typed" % session.name)
        if not running:
            return
        run, session.run = session.run, None
        if run:
            self.report_done(session, run, exit=None, superseded=True)
        session.interrupted = token = object()
        # A job of its own gets SIGINT directly: a Ctrl-C typed into the terminal would stay queued if the job ended
        # just now, and the shell would answer it with a second prompt that ends the forced run before it ran.
        group = or_none(os.tcgetpgrp, session.fd)
        if group and group != session.pid:
            or_none(os.killpg, group, signal.SIGINT)
        else:
            self.write_pty(session, b"\x03")  # the shell itself is busy (a builtin such as read)
        self.loop.call_later(1.0, self.escalate, session, token, signal.SIGTERM)

    def escalate(self, session, token, sig):
        """The interrupted job kept the terminal: signal its process group (never the shell's own), harder later."""
        if session.interrupted is not token or session.exit_status is not None:
            return
        group = or_none(os.tcgetpgrp, session.fd)
        if group and group != session.pid:
            or_none(os.killpg, group, sig)
        if sig == signal.SIGTERM:
            self.loop.call_later(2.0, self.escalate, session, token, signal.SIGKILL)

    def dispatch_pending_run(self, session):
        """Type the waiting command in once the shell shows a prompt with sessh's hooks (after an interrupted job:
        the prompt that follows it)."""
        if not session.pending_run or not session.integrated or session.interrupted:
            return
        (seq, command, client, req_id, created), session.pending_run = session.pending_run, None
        if is_typeable(command, session.kind, session.preexec):
            path, data = None, b"\x15" + command + b"\r"
        else:
            path = os.path.join(self.rt, "cmd", "%s.%d.sh" % (session.name, seq))
            prefix = b"" if session.preexec else b"printf '\\033]6973;C\\007'\n"
            write_private_file(path, prefix + command + (b"" if command.endswith(b"\n") else b"\n"))
            data = b"\x15 . '%s'\r" % path.encode()
        offset = session.last_input = session.end
        entry = {"id": seq, "command": command[:COMMAND_TEXT_MAX].decode("utf-8", "replace"), "start": offset,
                 "end": None, "exit": None, "started": int(time.time() * 1000), "ended": None, "superseded": False}
        session.history.append(entry)
        del session.history[:-HISTORY_MAX]
        session.run = {"seq": seq, "start": offset, "file": path, "client": client, "entry": entry}
        session.running = True
        self.write_pty(session, data)
        client.reply(req_id, seq=seq, offset=offset, typed=path is None, cols=session.cols, created=created)

    def _expire_pending_run(self, session, seq):
        if not session.pending_run or session.pending_run[0] != seq:
            return
        client, req_id = session.pending_run[2:4]
        session.pending_run = None
        client.fail(req_id, "no_integration", 'The shell of "%s" did not show a prompt with sessh\'s hooks in time; '
                    "check its startup files or run commands without waiting" % session.name)

    def op_attach(self, client, msg):
        """Make `client` the session's one interactive client; reply with the replay, then stream output. With
        `read_only`, one of any number of viewers beside it: the same replay and output, no input, no resize."""
        if msg.get("read_only"):
            return self.attach_viewer(client, msg)
        session, _ = self.session_or_new(msg, msg.get("create"))
        holder, since = session.attached, msg.get("since")
        if holder is not None and holder is not client:
            # Only a reconnecting client takes over: the holder is its own stale connection.
            if not msg.get("steal"):
                raise HelperError("session_busy", 'Session "%s" is busy: another client is attached '
                                  "(detaching it frees it)" % session.name)
            self.release(session, "replaced")
            self.drop_client(holder)
        session.attached, session.sent = client, session.end  # the reply carries the output up to the end
        client.watch[session.name] = "output"
        client.feeds.pop(session.name, None)
        self.op_resize(client, msg)
        resume = isinstance(since, int) and session.base <= since <= session.end
        start = since if resume else max(session.base, session.end - MAX_READ_REPLY)
        return {"start": start, "end": session.end, "data": session.slice(start, session.end),
                "evicted": start > 0 and not resume, "shell_pid": session.pid,
                "modes": scan_modes(session.modes, session.buf, 0, start - session.origin)}

    def attach_viewer(self, client, msg):
        session, since = self.session(msg), msg.get("since")
        resume = isinstance(since, int) and session.base <= since <= session.end
        start = since if resume else max(session.base, session.end - MAX_READ_REPLY)
        client.watch[session.name] = "output"
        client.feeds[session.name] = Feed(session, session.end, viewer=True)
        return {"start": start, "end": session.end, "data": session.slice(start, session.end),
                "evicted": start > 0 and not resume, "shell_pid": session.pid, "read_only": True,
                "modes": scan_modes(session.modes, session.buf, 0, start - session.origin)}

    def op_detach(self, client, msg):
        session = self.session(msg)
        attached = session.attached is not None
        if attached:
            self.release(session, "requested")
        return {"detached": attached}

    def release(self, session, reason):
        """Detach the session's client: its output stops, and it is told why."""
        holder, session.attached, session.detached_at = session.attached, None, time.time()
        holder.watch.pop(session.name, None)
        holder.send({"ev": "detached", "name": session.name, "reason": reason})

    # -- files (cp without sftp, the library's upload and download): one request per part, paths as data
    def op_fstat(self, client, msg):
        path = file_path(msg)
        with file_errors(path):
            st = os.stat(path)
        return {"path": path, "size": st.st_size, "dir": stat.S_ISDIR(st.st_mode)}

    def op_fread(self, client, msg):
        path = file_path(msg)
        with file_errors(path):
            fd = os.open(path, os.O_RDONLY)
            try:
                return {"size": os.fstat(fd).st_size, "data": os.pread(
                    fd, _clamp(msg.get("max"), 1, MAX_READ_REPLY, MAX_READ_REPLY), _clamp(msg.get("offset"), 0, 1 << 62, 0))}
            finally:
                os.close(fd)

    def op_fwrite(self, client, msg):
        """Write `data` at `offset`; the first part of a copy truncates, and creates the file with `mode`.

        A copy that must not leave its target half written sends its parts to a part file beside it (`part`: the
        file is made without following a link there); its last request names the target in `commit`, and the part
        is synced and renamed over it, so that a reader sees the old file or the new one and a cut copy leaves the
        old file. `discard` removes a part that will not be finished."""
        path, data, offset = file_path(msg), memoryview(msg.get("data") or b""), _clamp(msg.get("offset"), 0, 1 << 62, 0)
        if msg.get("discard"):
            with file_errors(path):
                if or_none(os.lstat, path) is not None:
                    os.unlink(path)
            return {"path": path}
        # A part's errors name the file the user asked for (`target`), not the part beside it.
        shown = file_path({"path": msg["target"]}) if isinstance(msg.get("target"), str) else path
        flags = os.O_WRONLY | (os.O_CREAT | os.O_TRUNC if msg.get("truncate") else 0)
        if msg.get("part"):
            # Only the first part makes the file: a later one (or the commit) finds the part gone rather than
            # renaming an empty file over the target.
            flags |= os.O_NOFOLLOW
        elif not msg.get("truncate"):
            flags |= os.O_CREAT
        with file_errors(shown):
            fd = os.open(path, flags, _clamp(msg.get("mode"), 0, 0o777, 0o644))
            try:
                while data:
                    written = os.pwrite(fd, data, offset)
                    data, offset = data[written:], offset + written
                size = os.fstat(fd).st_size
                if isinstance(msg.get("commit"), str):
                    os.fsync(fd)
            finally:
                os.close(fd)
        if isinstance(msg.get("commit"), str):
            target = file_path({"path": msg["commit"]})
            if os.path.dirname(target) != os.path.dirname(path):
                raise HelperError("bad_request", "A part is renamed only within its directory: %s" % target)
            with file_errors(target):
                os.rename(path, target)
            return {"path": target, "size": size}
        return {"path": path, "size": size}

    def op_fmkdir(self, client, msg):
        path = file_path(msg)
        with file_errors(path):
            os.makedirs(path, _clamp(msg.get("mode"), 0, 0o777, 0o755), exist_ok=True)
        return {"path": path}

    def op_flist(self, client, msg):
        """A directory's tree for `cp -r`: its directories and regular files (path from it, size, mode), parents
        first; links and other kinds are counted as skipped, as sftp and scp leave them."""
        top, entries, skipped = file_path(msg), [], 0
        with file_errors(top):
            os.listdir(top)
        for root, dirs, files in os.walk(top):
            for name in sorted(dirs + files):
                full = os.path.join(root, name)
                st = or_none(os.lstat, full)
                if st is None or not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
                    skipped += 1
                    continue
                entries.append({"path": os.path.relpath(full, top), "dir": stat.S_ISDIR(st.st_mode),
                                "size": st.st_size, "mode": st.st_mode & 0o777})
        return {"path": top, "entries": entries, "skipped": skipped}

    def op_fhash(self, client, msg):
        """The SHA-256 of a file's first `length` bytes, hashed in a thread (hashlib lets go of the GIL) so that the
        sessions are not held up: `cp --resume` continues a partial copy only when it is the source's start."""
        import hashlib
        path, length, req_id = file_path(msg), _clamp(msg.get("length"), 0, 1 << 62, 0), msg.get("id")

        def digest():
            with file_errors(path), open(path, "rb") as f:
                sha, left = hashlib.sha256(), length
                while left > 0:
                    chunk = f.read(min(left, 1 << 20))
                    if not chunk:
                        break
                    sha.update(chunk)
                    left -= len(chunk)
                return {"sha256": sha.hexdigest(), "length": length - left}

        def answer(future):
            error = future.exception()
            if error is None:
                client.reply(req_id, **future.result())
            else:
                client.fail(req_id, *(error.args if isinstance(error, HelperError) else ("remote", str(error))))
        self.loop.run_in_executor(None, digest).add_done_callback(answer)

    def op_ping(self, client, msg):
        return {}

    def op_reset(self, client, msg):
        """The local agent lends this connection to its next call: forget what the last call asked for, so that
        nothing of it (output, a late reply) reaches the next. A command it left waiting for a prompt is dropped
        rather than typed for nobody; one already typed runs on, reported to its watchers only."""
        client.watch.clear()
        client.feeds.clear()
        client.idle.clear()
        client.matchers.clear()
        for session in self.sessions.values():
            if session.attached is client:
                self.release(session, "reset")
            if session.pending_run and session.pending_run[2] is client:
                session.pending_run = None
            if session.run and session.run["client"] is client:
                session.run["client"] = None
            session.closing = [(c, req_id) for c, req_id in session.closing if c is not client]
        return {}

    def op_agent(self, client, msg):
        """A bridge's forwarded ssh agent: sessions reach the newest one through a stable symlink."""
        path = msg.get("path")
        if isinstance(path, str) and stat.S_ISSOCK(getattr(or_none(os.stat, path), "st_mode", 0)):
            client.agent = path
            self.point_agent()

    def point_agent(self):
        live = [c.agent for c in self.clients if c.agent]
        if live:
            link = os.path.join(self.rt, "agent.sock")
            or_none(os.symlink, live[-1], link + ".new")
            or_none(os.replace, link + ".new", link)

    def op_close(self, client, msg):
        name = _checked_name(msg)
        if name in self.lost:  # closing is how a lost session is acknowledged
            self.forget_lost(name)
            return {"status": None, "lost": True}
        if name not in self.sessions and name in self.ended:  # closed for idleness: forget what was kept
            return {"status": self.ended.pop(name).exit_status}
        session = self.session(msg)
        session.closing.append((client, msg.get("id")))
        self.signal_session(session, signal.SIGHUP)
        grace = _clamp(msg.get("grace_ms"), 0, 60000, CLOSE_GRACE_MS) / 1000.0
        self.loop.call_later(grace, self.signal_session, session, signal.SIGKILL)

    def signal_session(self, session, sig):
        """Signal every process in the session's terminal session (field 6 of /proc/PID/stat), shell first."""
        if session.exit_status is not None:
            return  # its pid may be another process's by now
        or_none(os.kill, session.pid, sig)
        for entry in filter(str.isdigit, os.listdir("/proc")):
            fields = (read_file("/proc/%s/stat" % entry) or b"").rpartition(b")")[2].split()
            if int(entry) != session.pid and fields[3:4] == [b"%d" % session.pid]:
                or_none(os.kill, int(entry), sig)

# ---------------------------------------------------------------- bridge
def connect_daemon(rt, state):
    """Connect to the user's daemon, starting one when none runs. A running daemon whose socket went missing is
    woken to bind it again, never replaced. The socket is unlinked only after a refused connection and under a
    lock, so two first launches at once give exactly one daemon."""
    path = os.path.join(rt, SOCKET_NAME)
    sock = _try_connect(path)
    if sock is None:
        with os.fdopen(open_in(state or rt, "daemon.lock", os.O_WRONLY | os.O_CREAT), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            sock = _try_connect(path) or wake_daemon(rt, state)
            sock = sock or _try_connect(path, unlink_stale=True) or start_daemon(path, rt, state)
    if sock is None:
        sys.stderr.write("sessh: the daemon did not start; see %s/daemon.log\n" % (state or rt))
        sys.exit(EXIT_DAEMON_START)
    return sock

def _try_connect(path, unlink_stale=False):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        if unlink_stale and isinstance(exc, ConnectionRefusedError):
            or_none(os.unlink, path)
        return None
    uid = peer_uid(sock, path)
    if uid != os.getuid():
        sock.close()
        sys.stderr.write("sessh: refusing the daemon socket %s: it is served by uid %s, not you (uid %d); remove it "
                         "and retry\n" % (path, uid, os.getuid()))
        sys.exit(EXIT_UNSAFE_DIR)
    return sock

def peer_uid(sock, path):
    """The uid of the process that listens at the other end of `sock`, connected to `path`. SO_PEERCRED (Linux)
    tells it; Python has no getpeereid for the BSDs and macOS, so there the socket file's owner stands for it, looked
    up through a descriptor of its directory (open_dir): only its owner can bind it in a directory that is ours
    alone. None when neither can be learnt."""
    if hasattr(socket, "SO_PEERCRED"):
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return struct.unpack("3i", creds)[1]
    fd = open_dir(os.path.dirname(path))
    if isinstance(fd, str):
        return None
    try:
        return os.stat(os.path.basename(path), dir_fd=fd, follow_symlinks=False).st_uid
    except OSError:
        return None
    finally:
        os.close(fd)

def wake_daemon(rt, state):
    """A connection to the daemon already running, after asking it with SIGUSR1 to re-create a socket that was
    removed; None when no daemon runs."""
    for pid, daemon_rt in live_daemons(rt, state):
        path, deadline = os.path.join(daemon_rt, SOCKET_NAME), time.time() + 2.0
        sock = _try_connect(path)
        or_none(os.kill, pid, signal.SIGUSR1)
        while sock is None and time.time() < deadline and daemon_of(pid):
            time.sleep(0.05)
            sock = _try_connect(path)
        if sock is not None:
            return sock
        if daemon_of(pid):
            sys.stderr.write("sessh: the daemon (pid %d) runs but does not answer on %s; see %s/daemon.log\n"
                             % (pid, path, state or daemon_rt))
            sys.exit(EXIT_DAEMON_START)

def listen_at(path):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    return listener

def open_log(directory):
    return open_in(directory, "daemon.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)

def start_daemon(path, rt, state):
    """Listen on `path` and fork the daemon off this process, fully detached from ssh's session; connect to it."""
    listener = listen_at(path)
    if os.fork():
        os.wait()
        listener.close()
        return _try_connect(path)
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        os.chdir("/")
        null = os.open(os.devnull, os.O_RDWR)
        for target, fd in enumerate((null, null, open_log(state or rt))):
            os.dup2(fd, target)
        os.closerange(3, listener.fileno())
        os.closerange(listener.fileno() + 1, 1024)
        os.set_inheritable(listener.fileno(), True)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # until the daemon handles it: a bridge may signal it early
        os.execv(sys.executable, daemon_argv(listener.fileno(), rt, state))
    except BaseException as exc:
        log("fatal: %r" % (exc,))
    os._exit(0)

def run_daemon(args):
    """The daemon, as start_daemon executes it: PROTOCOL, the listener's fd, the runtime dir, the state dir."""
    try:
        daemon = Daemon(socket.socket(fileno=int(args[1])), args[2], args[3] or None)
        log("started, protocol %d" % PROTOCOL)
        why = runtime_base()[1]
        if why:
            log("%s; the socket is in %s instead" % (why, args[2]))
        daemon.run()
    except BaseException as exc:
        log("fatal: %r" % (exc,))
    return 0

def bridge():
    state = state_dir()
    sock = connect_daemon(runtime_dir(state), state)
    os.write(1, MAGIC)
    # The daemon takes ssh's pipes and serves them itself (Daemon.serve_channel); this process then only waits.
    handover = {"op": "handover", "id": 0, "path": os.environ.get("SSH_AUTH_SOCK")}
    sock.sendmsg([frame(handover)], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("2i", 0, 1))])
    buf, frames = bytearray(), []
    while not frames:
        data = sock.recv(READ_CHUNK)
        if not data:
            return 0
        buf += data
        frames = split_frames(buf)
    if unpack(frames[0]).get("ok"):
        while sock.recv(READ_CHUNK):
            pass
        return 0
    # A daemon of an older helper knows no handover: this process relays the bytes, as it did then.
    if handover["path"]:
        sock.sendall(frame({"op": "agent", "path": handover["path"]}))
    while True:
        readable = select.select([sock, 0], [], [])[0]
        if 0 in readable:
            data = os.read(0, READ_CHUNK)
            if not data:
                return 0
            sock.sendall(data)
        if sock in readable:
            data = sock.recv(READ_CHUNK)
            if not data:
                return 0
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()

def request(sock, op, **fields):
    """One request on a blocking connection; returns the reply or exits with its message."""
    sock.sendall(frame(dict(fields, id=1, op=op)))
    buf = bytearray()
    while True:
        data = sock.recv(READ_CHUNK)
        if not data:
            sys.exit("sessh: the daemon closed the connection")
        buf += data
        for msg in map(unpack, split_frames(buf)):
            if msg.get("id") == 1 and msg.get("ok"):
                return msg
            if msg.get("id") == 1:
                sys.exit("sessh: %s" % msg.get("message"))

def in_session(role):
    """`sessh list` and `sessh detach` run inside a session, through the shim on its PATH."""
    current = os.environ.get("SESSH_SESSION")
    if role == "detach" and not current:
        sys.exit("sessh detach: not inside a sessh session (SESSH_SESSION is not set)")
    state = state_dir()
    reply = request(connect_daemon(runtime_dir(state), state), role, name=current)
    if role == "detach":
        print("detached the client of %s" % current if reply["detached"] else "no client is attached to %s" % current)
        return 0
    rows = [("CUR", "NAME", "PID", "STATE", "WHAT")]
    for s in reply["sessions"]:
        state = "lost" if s.get("lost") else "attached" if s["attached"] else "busy" if s["running"] else "idle"
        rows.append(("*" if s["name"] == current else "", s["name"], str(s["pid"] or "-"), state,
                     s["command"] or s["cwd"] or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[4])
    return 0

def main(argv):
    role = argv[1] if len(argv) > 1 else ""
    if role == "bridge":
        return bridge()
    if role == "daemon":
        return run_daemon(argv[2:])
    if role in ("list", "detach"):
        return in_session(role)
    sys.stderr.write("usage: sessh list | sessh detach (inside a sessh session)\n")
    return 2

if __name__ == "__main__":
    sys.exit(main(sys.argv))
