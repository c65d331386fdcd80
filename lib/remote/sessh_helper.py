"""sessh remote helper: hosts the PTY sessions that sessh drives over ssh.

Shipped by the sessh client over the ssh channel and cached under a name
derived from its content hash; never installed by hand. Python 3.8+, standard
library only. Roles (first argument):

  bridge   relay one client connection between stdin/stdout and the daemon,
           starting the daemon when none is running
  daemon   (internal) the per-user process that owns every session
  detach   ask the daemon to detach the client of $SESSH_SESSION or a name
  list     print the user's sessions, marking the current one

Wire format: after the bridge prints the magic line, both directions carry
frames of a 4-byte big-endian length and a msgpack map.
"""

import errno
import fcntl
import hashlib
import heapq
import os
import pwd
import re
import select
import selectors
import shutil
import signal
import socket
import stat
import struct
import sys
import termios
import time

PROTOCOL = 1
MAGIC = b"SESSH-HELPER %d\n" % PROTOCOL
MAX_FRAME = 16 << 20
READ_CHUNK = 1 << 16
MAX_READ_REPLY = 4 << 20
CLIENT_QUEUE_LIMIT = 24 << 20
DEFAULT_BUFFER = 1 << 20
MAX_BUFFER = 256 << 20
DAEMON_IDLE_EXIT = 60.0
CLOSE_GRACE = 2.0
MARKER = b"\x1b]6973;"
MARKER_MAX = 256
NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SAFE_PATH_RE = re.compile(r"^[A-Za-z0-9/._-]+$")
EXIT_UNSAFE_DIR = 3
EXIT_DAEMON_START = 4
AGENT_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "MANPAGER": "cat", "SYSTEMD_PAGER": ""}
DROP_ENV = ("SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY", "SSH_ORIGINAL_COMMAND", "SSH_AUTH_SOCK")
PROMPT_RE = re.compile(
    r"(?i)(pass(word|phrase)[^\n]*:\s*$|\[y/n\]\s*:?\s*$|\(y/n\)\s*:?\s*$|\(yes/no[^)]*\)\??\s*$"
    r"|continue\?\s*$|\(END\)\s*$|--More--|^:\s*$|>>>\s*$|\?\s*$)"
)
ESCAPE_RE = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
PAGERS = ("less", "more", "most", "man", "pg")


class HelperError(Exception):
    """A request failed; `code` is the stable error code sent to the client."""

    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code


# ---------------------------------------------------------------- msgpack


def pack(obj):
    out = bytearray()
    _pack_into(out, obj)
    return bytes(out)


def _pack_into(out, obj):
    if obj is None:
        out.append(0xC0)
    elif obj is True:
        out.append(0xC3)
    elif obj is False:
        out.append(0xC2)
    elif isinstance(obj, int):
        _pack_int(out, obj)
    elif isinstance(obj, float):
        out += b"\xcb" + struct.pack(">d", obj)
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
            _pack_into(out, item)
    elif isinstance(obj, dict):
        _pack_header(out, len(obj), 0x80, 15, (None, 0xDE, 0xDF))
        for key, value in obj.items():
            _pack_into(out, key)
            _pack_into(out, value)
    else:
        raise TypeError("cannot pack %r" % type(obj))


def _pack_header(out, size, fix_base, fix_max, wide):
    if fix_base is not None and size <= fix_max:
        out.append(fix_base | size)
    elif wide[0] is not None and size < 0x100:
        out += bytes((wide[0], size))
    elif size < 0x10000:
        out += struct.pack(">BH", wide[1], size)
    else:
        out += struct.pack(">BI", wide[2], size)


def _pack_int(out, n):
    if 0 <= n < 0x80:
        out.append(n)
    elif -32 <= n < 0:
        out.append(n & 0xFF)
    elif 0 <= n < 0x100000000:
        out += struct.pack(">BI", 0xCE, n) if n > 0xFFFF else struct.pack(">BH", 0xCD, n)
    elif n >= 0:
        out += struct.pack(">BQ", 0xCF, n)
    else:
        out += struct.pack(">Bq", 0xD3, n)


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated msgpack data")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]


_FIXED = {
    0xC0: lambda r: None, 0xC2: lambda r: False, 0xC3: lambda r: True,
    0xCA: lambda r: r.unpack(">f"), 0xCB: lambda r: r.unpack(">d"),
    0xCC: lambda r: r.unpack(">B"), 0xCD: lambda r: r.unpack(">H"),
    0xCE: lambda r: r.unpack(">I"), 0xCF: lambda r: r.unpack(">Q"),
    0xD0: lambda r: r.unpack(">b"), 0xD1: lambda r: r.unpack(">h"),
    0xD2: lambda r: r.unpack(">i"), 0xD3: lambda r: r.unpack(">q"),
    0xC4: lambda r: bytes(r.take(r.unpack(">B"))), 0xC5: lambda r: bytes(r.take(r.unpack(">H"))),
    0xC6: lambda r: bytes(r.take(r.unpack(">I"))),
    0xD9: lambda r: _str(r, r.unpack(">B")), 0xDA: lambda r: _str(r, r.unpack(">H")),
    0xDB: lambda r: _str(r, r.unpack(">I")),
    0xDC: lambda r: _array(r, r.unpack(">H")), 0xDD: lambda r: _array(r, r.unpack(">I")),
    0xDE: lambda r: _map(r, r.unpack(">H")), 0xDF: lambda r: _map(r, r.unpack(">I")),
}


def _str(reader, n):
    return bytes(reader.take(n)).decode("utf-8", "surrogateescape")


def _array(reader, n):
    return [_unpack_one(reader) for _ in range(n)]


def _map(reader, n):
    result = {}
    for _ in range(n):
        key = _unpack_one(reader)
        if not isinstance(key, (str, int)):
            raise ValueError("unsupported map key")
        result[key] = _unpack_one(reader)
    return result


def _unpack_one(reader):
    tag = reader.take(1)[0]
    if tag < 0x80:
        return tag
    if tag >= 0xE0:
        return tag - 0x100
    if 0x80 <= tag <= 0x8F:
        return _map(reader, tag & 0x0F)
    if 0x90 <= tag <= 0x9F:
        return _array(reader, tag & 0x0F)
    if 0xA0 <= tag <= 0xBF:
        return _str(reader, tag & 0x1F)
    if tag in _FIXED:
        return _FIXED[tag](reader)
    raise ValueError("unsupported msgpack type 0x%02x" % tag)


def unpack(data):
    reader = _Reader(data)
    value = _unpack_one(reader)
    if reader.pos != len(data):
        raise ValueError("trailing bytes after msgpack value")
    return value


def frame(obj):
    body = pack(obj)
    return struct.pack(">I", len(body)) + body


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
    """Strips sessh's shell-integration markers (OSC 6973) from PTY output.

    A marker split across reads is held back until the rest arrives; a held
    tail that never completes is released by `flush`.
    """

    def __init__(self):
        self.pending = b""

    def feed(self, data):
        data = self.pending + data
        self.pending = b""
        out = bytearray()
        markers = []
        i = 0
        while True:
            j = data.find(MARKER, i)
            if j < 0:
                keep = _partial_marker_len(data, i)
                out += data[i:len(data) - keep]
                self.pending = data[len(data) - keep:]
                break
            out += data[i:j]
            end = data.find(b"\x07", j, j + MARKER_MAX)
            if end < 0:
                if len(data) - j >= MARKER_MAX:
                    out += data[j:j + 1]
                    i = j + 1
                    continue
                self.pending = data[j:]
                break
            payload = data[j + len(MARKER):end].decode("utf-8", "replace")
            markers.append((len(out), payload))
            i = end + 1
        return bytes(out), markers

    def flush(self):
        data, self.pending = self.pending, b""
        return data


def _partial_marker_len(data, start):
    for n in range(min(len(MARKER) - 1, len(data) - start), 0, -1):
        if data.endswith(MARKER[:n]):
            return n
    return 0


# ---------------------------------------------------------------- paths


def runtime_dir():
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if base and os.path.isdir(base) and SAFE_PATH_RE.match(base):
        path = os.path.join(base, "sessh")
    else:
        path = "/tmp/sessh-%d" % os.getuid()
    ensure_private_dir(path)
    for sub in ("shell", "cmd"):
        ensure_private_dir(os.path.join(path, sub))
    return path


def ensure_private_dir(path):
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) != 0o700:
        sys.stderr.write(
            "sessh: refusing %s: it must be a directory owned by uid %d with mode 0700 "
            "(found uid %d mode %o); remove it and retry\n"
            % (path, os.getuid(), st.st_uid, stat.S_IMODE(st.st_mode))
        )
        sys.exit(EXIT_UNSAFE_DIR)


def socket_path(rt):
    return os.path.join(rt, "daemon-%d.sock" % PROTOCOL)


def write_private_file(path, data):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def helper_hash():
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


# ---------------------------------------------------------------- shell integration

BASH_INTEGRATION = r"""
if [[ -z "${__sessh_installed-}" ]]; then
__sessh_installed=1
__sessh_precmd() { local s=$?; printf '\033]6973;P;%s\007' "$s"; return "$s"; }
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
__sessh_precmd() { local s=$?; printf '\033]6973;P;%s\007' "$s"; return $s }
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
if [ -n "${SESSH_ORIG_ENV+x}" ]; then
  ENV=$SESSH_ORIG_ENV; unset SESSH_ORIG_ENV
  if [ -n "$ENV" ] && [ -r "$ENV" ]; then . "$ENV"; fi
else
  unset ENV
fi
if [ -z "${__sessh_installed-}" ]; then
  __sessh_installed=1
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
    if name in ("sh", "dash", "ash", "ksh", "mksh", "ksh93", "posh", "busybox"):
        return "posix"
    return None


def install_integration(rt):
    shell_dir = os.path.join(rt, "shell")
    ensure_private_dir(os.path.join(shell_dir, "zsh"))
    hooks = os.path.join(shell_dir, "zsh_hooks.zsh")
    files = {
        os.path.join(shell_dir, "bash.sh"): BASH_INTEGRATION,
        hooks: ZSH_HOOKS,
        os.path.join(shell_dir, "zsh", ".zshenv"): ZSH_ENV % {"hooks": hooks},
        os.path.join(shell_dir, "posix.sh"): POSIX_INTEGRATION,
    }
    for path, text in files.items():
        write_private_file(path, text.encode())
    return {
        "bash": os.path.join(shell_dir, "bash.sh"),
        "zsh": hooks,
        "zsh_dir": os.path.join(shell_dir, "zsh"),
        "posix": os.path.join(shell_dir, "posix.sh"),
    }


def integration_env(kind, scripts, env):
    """Environment that makes a starting shell load sessh's prompt hooks."""
    extra = {}
    if kind == "bash":
        boot = ' . "%s"' % scripts["bash"]
        extra["SESSH_BOOT"] = boot
        extra["PROMPT_COMMAND"] = boot
    elif kind == "zsh":
        if "ZDOTDIR" in env:
            extra["SESSH_ORIG_ZDOTDIR"] = env["ZDOTDIR"]
        extra["ZDOTDIR"] = scripts["zsh_dir"]
    elif kind == "posix":
        if "ENV" in env:
            extra["SESSH_ORIG_ENV"] = env["ENV"]
        extra["ENV"] = scripts["posix"]
    return extra


def is_typeable(command, kind, preexec):
    """Whether a command can be typed as is rather than sourced from a file.

    Typed commands show up readably for a human watching and in history, but
    only a short single line of printable text survives line editing and
    history expansion unchanged.
    """
    if kind not in ("bash", "zsh") or not preexec or len(command) > 1000 or not command.strip():
        return False
    try:
        text = command.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.isprintable() and "!" not in text and not text.startswith((" ", "#"))


# ---------------------------------------------------------------- sessions


class Session:
    """One PTY with a login shell, its output ring buffer and command state."""

    def __init__(self, name, shell, master_fd, pid, cols, rows, capacity, kind):
        self.name = name
        self.shell = shell
        self.fd = master_fd
        self.pid = pid
        self.cols = cols
        self.rows = rows
        self.capacity = capacity
        self.kind = kind
        self.buf = bytearray()
        self.base = 0
        self.created = time.time()
        self.last_activity = self.created
        self.scanner = MarkerScanner()
        self.integrated = False
        self.preexec = False
        self.running = False
        self.run = None
        self.pending_run = None
        self.last_exit = None
        self.last_input = 0
        self.attached = None
        self.exit_status = None
        self.closing = []

    @property
    def end(self):
        return self.base + len(self.buf)

    def append(self, data):
        if not data:
            return
        self.buf += data
        self.last_activity = time.time()
        excess = len(self.buf) - self.capacity
        if excess > 0:
            del self.buf[:excess]
            self.base += excess

    def slice(self, start, stop):
        start = max(start, self.base)
        stop = min(stop, self.end)
        if stop <= start:
            return b""
        return bytes(self.buf[start - self.base:stop - self.base])

    def tail_start(self, lines):
        """Offset where the last `lines` lines of the buffer begin."""
        pos = len(self.buf)
        if self.buf.endswith(b"\n"):
            pos -= 1
        for _ in range(lines):
            pos = self.buf.rfind(b"\n", 0, pos)
            if pos < 0:
                return self.base
        return self.base + pos + 1

    def foreground(self):
        try:
            return os.tcgetpgrp(self.fd)
        except OSError:
            return None

    def info(self):
        fg = self.foreground()
        busy_pid = fg if fg and fg != self.pid else None
        command = _cmdline(busy_pid) if busy_pid else None
        return {
            "name": self.name,
            "pid": self.pid,
            "shell": self.shell,
            "created": int(self.created * 1000),
            "last_activity": int(self.last_activity * 1000),
            "cols": self.cols,
            "rows": self.rows,
            "buffer_start": self.base,
            "buffer_end": self.end,
            "buffer_size": self.capacity,
            "running": bool(self.running or busy_pid),
            "command": command,
            "waiting_input": bool(self.running or busy_pid) and self._seems_waiting(command),
            "cwd": _readlink("/proc/%d/cwd" % (busy_pid or self.pid)),
            "last_exit": self.last_exit,
            "integrated": self.integrated,
            "attached": self.attached is not None,
        }

    def _seems_waiting(self, command):
        program = os.path.basename((command or "").split(" ")[0])
        if program in PAGERS:
            return True
        tail = ESCAPE_RE.sub(b"", bytes(self.buf[-512:])).replace(b"\r", b"\n")
        lines = [line for line in tail.decode("utf-8", "replace").split("\n") if line.strip()]
        return bool(lines) and bool(PROMPT_RE.search(lines[-1]))


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            parts = f.read().split(b"\0")
        return b" ".join(p for p in parts if p).decode("utf-8", "replace") or None
    except OSError:
        return None


def _readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def spawn_shell(shell, cols, rows, env):
    """Start `shell` as a login shell on a new PTY; returns (master_fd, pid)."""
    master, slave = os.openpty()
    set_winsize(master, cols, rows)
    argv0 = "-" + os.path.basename(shell)
    home = env.get("HOME") or "/"
    pid = os.fork()
    if pid == 0:
        try:
            os.close(master)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            if slave > 2:
                os.close(slave)
            os.closerange(3, 4096)
            for sig in (signal.SIGPIPE, signal.SIGHUP, signal.SIGCHLD, signal.SIGTERM):
                signal.signal(sig, signal.SIG_DFL)
            try:
                os.chdir(home)
            except OSError:
                os.chdir("/")
            os.execve(shell, [argv0], env)
        except BaseException as exc:
            os.write(2, ("sessh: cannot start %s: %s\r\n" % (shell, exc)).encode())
        os._exit(127)
    os.close(slave)
    os.set_blocking(master, False)
    return master, pid


def set_winsize(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def motd_text(home):
    """The login banner sshd would print, unless ~/.hushlogin exists."""
    if os.path.exists(os.path.join(home, ".hushlogin")):
        return b""
    paths = ["/run/motd.dynamic", "/etc/motd"]
    try:
        paths += [os.path.join("/etc/motd.d", n) for n in sorted(os.listdir("/etc/motd.d"))]
    except OSError:
        pass
    chunks = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = f.read(65536)
        except OSError:
            continue
        if data.strip():
            chunks.append(data)
    return b"".join(chunks).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def resolve_shell(requested):
    if requested:
        path = requested if "/" in requested else shutil.which(requested)
        if not path or not os.access(path, os.X_OK) or os.path.isdir(path):
            raise HelperError("bad_request", 'Shell "%s" is not an executable on this host' % requested)
        return path
    try:
        shell = pwd.getpwuid(os.getuid()).pw_shell
    except KeyError:
        shell = ""
    return shell if shell and os.access(shell, os.X_OK) else "/bin/sh"


# ---------------------------------------------------------------- daemon


class Client:
    """One connection from a bridge: framed requests in, replies and events out."""

    def __init__(self, sock):
        self.sock = sock
        self.rbuf = bytearray()
        self.wbuf = bytearray()
        self.watch = {}
        self.closed = False

    def send(self, obj):
        if self.closed:
            return
        self.wbuf += frame(obj)


class Daemon:
    def __init__(self, listener, rt):
        self.listener = listener
        self.rt = rt
        self.sel = selectors.DefaultSelector()
        self.sessions = {}
        self.clients = {}
        self.recent_exits = {}
        self.timers = []
        self.timer_seq = 0
        self.run_seq = 0
        self.idle_since = time.time()
        self.hash = helper_hash()
        self.scripts = install_integration(rt)
        self.base_env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    # -- loop

    def run(self):
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, ("listen", None))
        self.sel.register(self.wake_r, selectors.EVENT_READ, ("wake", None))
        while True:
            timeout = self._next_timeout()
            for key, mask in self.sel.select(timeout):
                kind, obj = key.data
                try:
                    self._dispatch_event(kind, obj, mask)
                except Exception as exc:
                    log("error handling %s: %r" % (kind, exc))
                    if kind == "client":
                        self.drop_client(obj)
            self._run_timers()
            self.reap_children()
            if not self.sessions and not self.clients:
                if time.time() - self.idle_since > DAEMON_IDLE_EXIT:
                    self._shutdown()
                    return
            else:
                self.idle_since = time.time()

    def _dispatch_event(self, kind, obj, mask):
        if kind == "listen":
            self.accept()
        elif kind == "wake":
            try:
                while os.read(self.wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        elif kind == "pty":
            self.read_pty(obj)
        elif kind == "client":
            if mask & selectors.EVENT_READ:
                self.read_client(obj)
            if mask & selectors.EVENT_WRITE and not obj.closed:
                self.flush_client(obj)

    def _next_timeout(self):
        if not self.timers:
            return 5.0
        return max(0.0, min(5.0, self.timers[0][0] - time.time()))

    def later(self, delay, fn):
        self.timer_seq += 1
        heapq.heappush(self.timers, (time.time() + delay, self.timer_seq, fn))

    def _run_timers(self):
        now = time.time()
        while self.timers and self.timers[0][0] <= now:
            _, _, fn = heapq.heappop(self.timers)
            try:
                fn()
            except Exception as exc:
                log("timer failed: %r" % (exc,))

    def _shutdown(self):
        try:
            if os.stat(socket_path(self.rt)).st_ino == os.fstat(self.listener.fileno()).st_ino:
                os.unlink(socket_path(self.rt))
        except OSError:
            pass

    # -- clients

    def accept(self):
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _, uid, _ = struct.unpack("3i", creds)
        if uid != os.getuid():
            log("refused connection from uid %d" % uid)
            sock.close()
            return
        sock.setblocking(False)
        client = Client(sock)
        self.clients[sock.fileno()] = client
        self.sel.register(sock, selectors.EVENT_READ, ("client", client))

    def read_client(self, client):
        try:
            data = client.sock.recv(READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.drop_client(client)
            return
        client.rbuf += data
        try:
            frames = split_frames(client.rbuf)
        except ValueError as exc:
            client.send({"id": None, "ok": False, "code": "protocol", "message": str(exc)})
            self.flush_client(client)
            self.drop_client(client)
            return
        for body in frames:
            self.handle_frame(client, body)
            if client.closed:
                return
        self.flush_client(client)

    def handle_frame(self, client, body):
        try:
            msg = unpack(body)
        except (ValueError, struct.error) as exc:
            client.send({"id": None, "ok": False, "code": "protocol", "message": "Malformed frame: %s" % exc})
            return
        if not isinstance(msg, dict):
            client.send({"id": None, "ok": False, "code": "protocol", "message": "A frame must hold a map"})
            return
        req_id = msg.get("id")
        handler = getattr(self, "op_" + str(msg.get("op")), None)
        try:
            if handler is None:
                raise HelperError("protocol", 'Unknown operation "%s"' % msg.get("op"))
            reply = handler(client, msg)
        except HelperError as exc:
            client.send({"id": req_id, "ok": False, "code": exc.code, "message": str(exc)})
            return
        except Exception as exc:
            log("request %r failed: %r" % (msg.get("op"), exc))
            client.send({"id": req_id, "ok": False, "code": "remote", "message": "Helper error: %s" % exc})
            return
        if reply is not None:
            reply.update({"id": req_id, "ok": True})
            client.send(reply)

    def flush_client(self, client):
        if client.closed:
            return
        if client.wbuf:
            try:
                sent = client.sock.send(client.wbuf)
                del client.wbuf[:sent]
            except BlockingIOError:
                pass
            except OSError:
                self.drop_client(client)
                return
        if len(client.wbuf) > CLIENT_QUEUE_LIMIT:
            log("dropping a client that stopped reading")
            self.drop_client(client)
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.wbuf else 0)
        self.sel.modify(client.sock, events, ("client", client))

    def drop_client(self, client):
        if client.closed:
            return
        client.closed = True
        for session in self.sessions.values():
            if session.attached is client:
                session.attached = None
        self.clients.pop(client.sock.fileno(), None)
        try:
            self.sel.unregister(client.sock)
        except (KeyError, ValueError):
            pass
        client.sock.close()

    def notify(self, session, event, level="events", skip=None):
        """Send an event to every client watching `session` at `level` or more."""
        for client in list(self.clients.values()):
            if client is skip:
                continue
            want = client.watch.get(session.name)
            if want == "output" or (want == "events" and level == "events"):
                client.send(event)
                self.flush_client(client)

    # -- sessions

    def session(self, msg):
        name = msg.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise HelperError("bad_request", "Invalid session name %r" % (name,))
        session = self.sessions.get(name)
        if session is None:
            status = self.recent_exits.get(name)
            if status is not None:
                raise HelperError("session_exited", 'Session "%s" ended: its shell exited with status %d' % (name, status))
            raise HelperError("no_session", 'No session named "%s"' % name)
        return session

    def create_session(self, msg):
        name = msg.get("name")
        shell = resolve_shell(msg.get("shell"))
        kind = shell_kind(shell)
        cols = _clamp(msg.get("cols"), 2, 1000, 160)
        rows = _clamp(msg.get("rows"), 2, 1000, 48)
        capacity = _clamp(msg.get("buffer"), 4096, MAX_BUFFER, DEFAULT_BUFFER)
        env = dict(self.base_env)
        term = msg.get("term")
        env["TERM"] = term if isinstance(term, str) and term and term != "dumb" else "xterm-256color"
        if msg.get("agent_env", True):
            env.update(AGENT_ENV)
        for key, value in (msg.get("env") or {}).items():
            if isinstance(key, str) and isinstance(value, str) and key and "=" not in key:
                env[key] = value
        env["SESSH_SESSION"] = name
        env["SHELL"] = shell
        env.update(integration_env(kind, self.scripts, env))
        fd, pid = spawn_shell(shell, cols, rows, env)
        session = Session(name, shell, fd, pid, cols, rows, capacity, kind)
        session.append(motd_text(env.get("HOME", "/")))
        self.sessions[name] = session
        self.recent_exits.pop(name, None)
        self.sel.register(fd, selectors.EVENT_READ, ("pty", session))
        if kind:
            self.later(2.0, lambda: self._integrate_fallback(session))
        return session

    def _integrate_fallback(self, session):
        """Type the integration in when the environment route did not take."""
        if session.integrated or session.exit_status is not None or session.name not in self.sessions:
            return
        script = self.scripts[session.kind]
        self.write_pty(session, b"\x15 . '%s'\r" % script.encode())

    def read_pty(self, session):
        try:
            data = os.read(session.fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.sel.unregister(session.fd)
            self.reap_children()
            return
        self.process_output(session, data)
        if session.scanner.pending:
            self.later(0.05, lambda: self._flush_scanner(session))

    def _flush_scanner(self, session):
        if session.scanner.pending and session.name in self.sessions:
            self.emit_output(session, session.scanner.flush())

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
        offset = session.end
        session.append(data)
        self.notify(session, {"ev": "output", "name": session.name, "offset": offset, "data": data}, "output")

    def handle_marker(self, session, payload):
        kind, _, arg = payload.partition(";")
        if kind == "I":
            session.integrated = True
            session.preexec = "preexec" in arg.split(",")
        elif kind == "C":
            session.running = True
            if session.run is not None:
                session.run["start"] = session.last_input = session.end
            self.notify(session, {"ev": "started", "name": session.name, "offset": session.end,
                                  "seq": session.run and session.run["seq"]})
        elif kind == "P":
            session.integrated = True
            status = int(arg) if arg.lstrip("-").isdigit() else None
            if session.running or session.run is not None:
                self.finish_command(session, status)
            self.dispatch_pending_run(session)

    def finish_command(self, session, status):
        run = session.run
        session.running = False
        session.run = None
        session.last_exit = status
        event = {"ev": "done", "name": session.name, "exit": status, "end": session.end,
                 "seq": None, "start": None}
        owner = None
        if run is not None:
            event.update({"seq": run["seq"], "start": run["start"]})
            if run.get("file"):
                _unlink_quietly(run["file"])
            owner = run["client"]
            if not owner.closed:
                # The owner gets the output with the event: no second round
                # trip, and it survives a shell that exits right after.
                owner.send(dict(event, data=session.slice(run["start"], session.end),
                                evicted=run["start"] < session.base))
                self.flush_client(owner)
        self.notify(session, event, skip=owner)

    def write_pty(self, session, data):
        """Write input to the PTY; the shell always drains it, so a short wait is fine."""
        view = memoryview(data)
        deadline = time.time() + 5.0
        while view:
            try:
                n = os.write(session.fd, view)
                view = view[n:]
            except BlockingIOError:
                if time.time() > deadline:
                    raise HelperError("remote", "The terminal of \"%s\" does not accept input" % session.name)
                select.select([], [session.fd], [], 0.05)
        session.last_activity = time.time()

    def reap_children(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for session in list(self.sessions.values()):
                if session.pid == pid:
                    self.end_session(session, os.waitstatus_to_exitcode(status))

    def end_session(self, session, status):
        """The shell exited: drain its output, tell watchers, forget it."""
        code = status if status >= 0 else 128 - status
        while True:
            try:
                data = os.read(session.fd, READ_CHUNK)
            except OSError:
                break
            if not data:
                break
            self.process_output(session, data)
        self.emit_output(session, session.scanner.flush())
        session.exit_status = code
        if session.running or session.run is not None:
            self.finish_command(session, None)
        self.notify(session, {"ev": "exit", "name": session.name, "status": code})
        try:
            self.sel.unregister(session.fd)
        except (KeyError, ValueError):
            pass
        os.close(session.fd)
        del self.sessions[session.name]
        self.recent_exits[session.name] = code
        while len(self.recent_exits) > 100:
            self.recent_exits.pop(next(iter(self.recent_exits)))
        for client, req_id in session.closing:
            client.send({"id": req_id, "ok": True, "status": code})
            self.flush_client(client)
        if session.pending_run:
            client, req_id = session.pending_run[2:4]
            client.send({"id": req_id, "ok": False, "code": "session_exited",
                         "message": 'The shell of "%s" exited with status %d' % (session.name, code)})
            self.flush_client(client)

    # -- requests

    def op_hello(self, client, msg):
        if msg.get("version") != PROTOCOL:
            raise HelperError("protocol", "Expected protocol %d, got %r" % (PROTOCOL, msg.get("version")))
        return {"version": PROTOCOL, "helper": self.hash, "pid": os.getpid(), "max_frame": MAX_FRAME,
                "runtime_dir": self.rt, "caps": ["run", "subscribe", "markers"]}

    def op_open(self, client, msg):
        session = self.sessions.get(msg.get("name"))
        created = session is None
        if created:
            self.session_name_ok(msg)
            session = self.create_session(msg)
        return {"created": created, "session": session.info()}

    def session_name_ok(self, msg):
        name = msg.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise HelperError("bad_request", "Invalid session name %r" % (name,))

    def op_info(self, client, msg):
        return {"session": self.session(msg).info()}

    def op_list(self, client, msg):
        return {"sessions": [s.info() for s in sorted(self.sessions.values(), key=lambda s: s.created)]}

    def op_input(self, client, msg):
        data = msg.get("data")
        if not isinstance(data, bytes):
            raise HelperError("bad_request", "input needs bytes in data")
        session = self.session(msg)
        session.last_input = session.end
        self.write_pty(session, data)
        return {}

    def op_resize(self, client, msg):
        session = self.session(msg)
        session.cols = _clamp(msg.get("cols"), 2, 1000, session.cols)
        session.rows = _clamp(msg.get("rows"), 2, 1000, session.rows)
        set_winsize(session.fd, session.cols, session.rows)
        return {}

    def op_read(self, client, msg):
        session = self.session(msg)
        since = msg.get("since")
        if isinstance(since, int):
            start = since
        elif isinstance(msg.get("lines"), int):
            start = session.tail_start(max(1, msg["lines"]))
        else:
            start = session.base
        evicted = start < session.base
        start = _utf8_boundary(session, max(start, session.base)) if evicted else start
        until = msg.get("until") if isinstance(msg.get("until"), int) else session.end
        limit = _clamp(msg.get("max"), 1, MAX_READ_REPLY, MAX_READ_REPLY)
        data = session.slice(start, min(until, start + limit))
        return {"data": data, "start": start, "end": start + len(data), "evicted": evicted,
                "buffer_start": session.base, "buffer_end": session.end}

    def op_subscribe(self, client, msg):
        session = self.session(msg)
        level = "output" if msg.get("output", True) else "events"
        client.watch[session.name] = level
        since = session.last_input if msg.get("from_input") else msg.get("since")
        start = session.end if not isinstance(since, int) else max(since, session.base)
        client.send({"id": msg.get("id"), "ok": True, "start": start, "end": session.end,
                     "evicted": isinstance(since, int) and since < session.base,
                     "running": session.info()["running"], "last_exit": session.last_exit})
        if level == "output":
            for offset in range(start, session.end, MAX_READ_REPLY):
                data = session.slice(offset, min(offset + MAX_READ_REPLY, session.end))
                client.send({"ev": "output", "name": session.name, "offset": offset, "data": data})
        return None

    def op_unsubscribe(self, client, msg):
        client.watch.pop(msg.get("name"), None)
        return {}

    def op_run(self, client, msg):
        name = msg.get("name")
        session = self.sessions.get(name) if isinstance(name, str) else None
        created = session is None and bool(msg.get("create"))
        if created:
            self.session_name_ok(msg)
            session = self.create_session(dict(msg["create"], name=name) if isinstance(msg["create"], dict)
                                          else {"name": name})
        session = session or self.session(msg)
        command = msg.get("command")
        if not isinstance(command, bytes):
            raise HelperError("bad_request", "run needs the command as bytes")
        if session.kind is None:
            raise HelperError("no_integration", 'Cannot tell when commands finish in %s; use run --no-wait, '
                              'or open the session with --shell bash, zsh or sh' % session.shell)
        info = session.info()
        if not msg.get("force") and (info["running"] or session.pending_run):
            what = info["command"] or "a command"
            raise HelperError("session_busy", 'Session "%s" is busy running %s; wait for it '
                              '(sessh wait --done), interrupt it (sessh keys ... C-c) or pass --force' % (name, what))
        self.run_seq += 1
        client.watch.setdefault(session.name, "events")
        session.pending_run = (self.run_seq, command, client, msg.get("id"), created)
        self.dispatch_pending_run(session)
        if session.pending_run:
            seq = self.run_seq
            wait = _clamp(msg.get("ready_timeout_ms"), 100, 600000, 15000) / 1000.0
            self.later(wait, lambda: self._expire_pending_run(session, seq))
        return None

    def dispatch_pending_run(self, session):
        if not session.pending_run or not session.integrated:
            return
        seq, command, client, req_id, created = session.pending_run
        session.pending_run = None
        if is_typeable(command, session.kind, session.preexec):
            path, data = None, b"\x15" + command + b"\r"
        else:
            path = os.path.join(self.rt, "cmd", "%s.%d.sh" % (session.name, seq))
            prefix = b"" if session.preexec else b"printf '\\033]6973;C\\007'\n"
            write_private_file(path, prefix + command + (b"" if command.endswith(b"\n") else b"\n"))
            data = b"\x15 . '%s'\r" % path.encode()
        offset = session.last_input = session.end
        session.run = {"seq": seq, "start": offset, "file": path, "client": client}
        session.running = True
        self.write_pty(session, data)
        client.send({"id": req_id, "ok": True, "seq": seq, "offset": offset, "typed": path is None,
                     "cols": session.cols, "created": created})
        self.flush_client(client)

    def _expire_pending_run(self, session, seq):
        if not session.pending_run or session.pending_run[0] != seq:
            return
        client, req_id = session.pending_run[2:4]
        session.pending_run = None
        client.send({"id": req_id, "ok": False, "code": "no_integration",
                     "message": 'The shell of "%s" did not show a prompt with sessh\'s hooks in time; '
                                "check its startup files or use run --no-wait" % session.name})
        self.flush_client(client)

    def op_close(self, client, msg):
        session = self.session(msg)
        session.closing.append((client, msg.get("id")))
        self.signal_session(session, signal.SIGHUP)
        grace = _clamp(msg.get("grace_ms"), 0, 60000, int(CLOSE_GRACE * 1000)) / 1000.0
        self.later(grace, lambda: session.exit_status is None and self.signal_session(session, signal.SIGKILL))
        return None

    def signal_session(self, session, sig):
        """Signal every process in the session's terminal session, shell first."""
        targets = [session.pid] + [p for p in _session_members(session.pid) if p != session.pid]
        for pid in targets:
            try:
                os.kill(pid, sig)
            except OSError:
                pass


def _session_members(sid):
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) == sid:
                members.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return members


def _utf8_boundary(session, start):
    for _ in range(3):
        chunk = session.slice(start, start + 1)
        if not chunk or not 0x80 <= chunk[0] <= 0xBF:
            break
        start += 1
    return start


def _clamp(value, low, high, default):
    if not isinstance(value, int) or isinstance(value, bool):
        return default
    return max(low, min(high, value))


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def log(message):
    sys.stderr.write("%s sessh-daemon[%d]: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), os.getpid(), message))
    sys.stderr.flush()


# ---------------------------------------------------------------- roles


def connect_daemon(rt, start=True):
    """Connect to the user's daemon, starting one when none answers.

    The socket is unlinked only after a refused connection and under a lock,
    so two first launches at once give exactly one daemon.
    """
    path = socket_path(rt)
    sock = _try_connect(path)
    if sock or not start:
        return sock
    with open(os.path.join(rt, "daemon.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sock = _try_connect(path, unlink_stale=True)
        if sock:
            return sock
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        os.chmod(path, 0o600)
        listener.listen(64)
        start_daemon(listener, rt)
        listener.close()
        sock = _try_connect(path)
    if sock is None:
        sys.stderr.write("sessh: the daemon did not start; see %s/daemon.log\n" % rt)
        sys.exit(EXIT_DAEMON_START)
    return sock


def _try_connect(path, unlink_stale=False):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        return sock
    except ConnectionRefusedError:
        sock.close()
        if unlink_stale:
            _unlink_quietly(path)
    except (FileNotFoundError, OSError):
        sock.close()
    return None


def start_daemon(listener, rt):
    """Fork the daemon off this process, fully detached from ssh's session."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        os.chdir("/")
        null = os.open(os.devnull, os.O_RDWR)
        logfd = os.open(os.path.join(rt, "daemon.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(logfd, 2)
        keep = listener.fileno()
        for fd in range(3, 1024):
            if fd != keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        log("started, protocol %d" % PROTOCOL)
        Daemon(listener, rt).run()
    except BaseException as exc:
        log("fatal: %r" % (exc,))
    os._exit(0)


def bridge():
    rt = runtime_dir()
    sock = connect_daemon(rt)
    os.write(1, MAGIC)
    stdin_open = True
    while True:
        fds = [sock] + ([0] if stdin_open else [])
        readable, _, _ = select.select(fds, [], [])
        if 0 in readable:
            data = os.read(0, READ_CHUNK)
            if not data:
                return 0
            sock.sendall(data)
        if sock in readable:
            data = sock.recv(READ_CHUNK)
            if not data:
                return 0
            _write_all(1, data)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def request(sock, op, **fields):
    """Send one request on a blocking connection and wait for its reply."""
    sock.sendall(frame(dict(fields, id=1, op=op)))
    buf = bytearray()
    while True:
        data = sock.recv(READ_CHUNK)
        if not data:
            raise HelperError("daemon_gone", "The sessh daemon closed the connection")
        buf += data
        for body in split_frames(buf):
            msg = unpack(body)
            if msg.get("id") == 1:
                if not msg.get("ok"):
                    raise HelperError(msg.get("code"), msg.get("message"))
                return msg


def main(argv):
    role = argv[1] if len(argv) > 1 else ""
    if role == "bridge":
        return bridge()
    sys.stderr.write("usage: sessh_helper.py bridge\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
