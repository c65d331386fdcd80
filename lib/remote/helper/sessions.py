"""A session: its PTY and login shell, and the ring buffer of its output addressed by absolute byte offsets."""

import fcntl, os, pwd, signal, struct, termios, time
from contextlib import suppress

from errors import HelperError
from files import or_none, read_file
from procfs import proc_cmdline, proc_cwd
from markers import MarkerScanner, Redactor, scan_modes
from protocol import ERR_BAD_SHELL, INFO_TAIL, READ_CHUNK, TIMELINE_GAP_S

ENDED_KEEP, ENDED_MAX = 1 << 20, 20  # bytes of output kept of a session closed for idleness; how many are kept

HISTORY_MAX, COMMAND_TEXT_MAX = 100, 4096  # commands kept per session; bytes of each one's text kept

class Session:
    """One PTY with a login shell, its output ring buffer and command state."""

    def __init__(self, name, shell, master_fd, pid, cols, rows, capacity, kind):
        self.name, self.shell, self.kind, self.fd, self.pid = name, shell, kind, master_fd, pid
        self.cols, self.rows, self.capacity = cols, rows, capacity
        self.buf, self.origin = bytearray(), 0  # buf holds output bytes [origin, end) of all the shell wrote
        self.created = self.last_activity = self.last_output = time.time()
        self.scanner, self.last_input = MarkerScanner(), 0  # last_input: the output offset when input last came
        self.history = []  # the last HISTORY_MAX commands typed by `run`, oldest first (see watch_ops.op_history)
        self.redactor = Redactor()  # the secrets typed with `secret`, replaced in the output
        self.idle_timeout = None  # seconds without input or output after which the session is closed
        self.timeline = []  # (output offset, time) where each burst of output began, for recordings
        self.integrated = self.preexec = self.running = self.prompted = False
        self.cwd, self.jobs = None, set()  # the cwd the shell's last prompt reported; its background jobs ($!)
        self.procfs = False  # whether info() may ask procfs (the daemon's choice)
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
        # queued_input() when the shell's line was last known empty: a run's line ended, with its Enter, at the
        # prompt that followed, and nothing typed since.
        self.line_empty_at = None

    def queued_input(self):
        """Bytes of input queued for the PTY since the session began, written or not."""
        return self.in_done + len(self.inq) - self.inq_pos

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

    def view(self, start, stop):
        """The bytes `slice` would copy, as a view for packing them into a frame without that copy: release it
        (`with`) before the buffer takes more output."""
        start = max(start, self.base)
        stop = max(start, min(stop, self.end))
        return memoryview(self.buf)[start - self.origin:stop - self.origin]

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

    def busy(self):
        """Whether a command runs, and which when that can be told: the foreground job's command line (procfs,
        when allowed), or the command `run` typed. The part of info() a run asks for before typing, without the
        rest, which it would build and throw away each time."""
        fg = or_none(os.tcgetpgrp, self.fd)
        busy_pid = fg if fg and fg != self.pid else None
        running = bool(self.running or busy_pid)
        argv = (proc_cmdline(busy_pid) if self.procfs and busy_pid else None) or []
        command = b" ".join(p for p in argv if p).decode("utf-8", "replace") or None
        if command is None and running and self.run:
            command = self.run["entry"]["command"]
        return running, command

    def info(self):
        """The session for `status` and `list`: the cwd the prompt reported, the command `run` typed; procfs, when
        allowed, tells a hand-typed command and a cwd without integration. `unknown`: the fields not to be had."""
        running, command = self.busy()
        cwd = self.cwd or (proc_cwd(self.pid) if self.procfs else None)
        unknown = [field for field, missing in (("command", running and not command), ("cwd", not cwd)) if missing]
        return {"name": self.name, "pid": self.pid, "shell": self.shell, "created": int(self.created * 1000),
                "last_activity": int(self.last_activity * 1000), "cols": self.cols, "rows": self.rows,
                "buffer_start": self.base, "buffer_end": self.end, "buffer_size": self.capacity,
                "running": running, "tail": self.slice(self.end - INFO_TAIL, self.end),
                "command": command, "cwd": cwd, "unknown": unknown, "last_exit": self.last_exit,
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
            raise HelperError(ERR_BAD_SHELL, 'Shell "%s" is not a login shell on this host: %s lists %s; start one '
                              "of those, or run the program in a session" % (requested, shells_file,
                                                                          ", ".join(shells) or "none"))
        if not os.access(path, os.X_OK) or os.path.isdir(path):
            raise HelperError(ERR_BAD_SHELL, 'Shell "%s" is not an executable on this host' % requested)
        return path
    with suppress(KeyError):  # a user without a passwd entry gets /bin/sh too
        shell = pwd.getpwuid(os.getuid()).pw_shell
        if shell and os.access(shell, os.X_OK):
            return shell
    return "/bin/sh"
