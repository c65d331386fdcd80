"""sessh remote helper: hosts the PTY sessions that sessh drives over ssh.

Sent by the sessh client over the ssh channel and cached under its content hash; Python 3.8+, standard library
only. `bridge` relays stdin/stdout to the user's daemon, starting it when none runs; after the magic line both
directions carry frames of a 4-byte big-endian length and a msgpack map.
"""

import fcntl, hashlib, heapq, os, pwd, re, select, selectors, shutil, signal, socket, stat, struct, sys, termios, time
from contextlib import suppress
from functools import partial

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
# A whole marker: MARKER, a payload without BEL, then BEL, in at most MARKER_MAX bytes.
MARKER_RE = re.compile(re.escape(MARKER) + rb"([^\x07]{0,%d})\x07" % (MARKER_MAX - len(MARKER) - 1))
NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
SAFE_PATH_RE = re.compile(r"[A-Za-z0-9/._-]+\Z")
# Terminal modes an attaching terminal must be put in before replay (the client's replay.ts keeps the same list).
MODE_RE = re.compile(rb"\x1b\[\?([0-9;]+)([hl])|\x1b([=>c])")
TRACKED_MODES = {b"1", b"25", b"47", b"1047", b"1049", b"1000", b"1002", b"1003", b"1005", b"1006", b"1015", b"2004"}
EXIT_UNSAFE_DIR = 3
EXIT_DAEMON_START = 4
AGENT_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "MANPAGER": "cat", "SYSTEMD_PAGER": ""}
DROP_ENV = ("SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY", "SSH_ORIGINAL_COMMAND", "SSH_AUTH_SOCK")
PROMPT_RE = re.compile(r"(?i)(pass(word|phrase)[^\n]*:\s*$|\[y/n\]\s*:?\s*$|\(y/n\)\s*:?\s*$|\(yes/no[^)]*\)\??\s*$"
                       r"|continue\?\s*$|\(END\)\s*$|--More--|^:\s*$|>>>\s*$|\?\s*$)")
ESCAPE_RE = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
PAGERS = ("less", "more", "most", "man", "pg")

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
        for item in obj: pack(item, out)
    elif isinstance(obj, dict):
        _pack_header(out, len(obj), 0x80, 15, (None, 0xDE, 0xDF))
        for key, value in obj.items():
            pack(key, out)
            pack(value, out)
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
        if self.pos + n > len(self.data): raise ValueError("truncated msgpack data")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def number(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def value(self):
        tag = self.take(1)[0]
        if tag < 0x80 or tag >= 0xE0: return tag if tag < 0x80 else tag - 0x100
        # fixmap, fixarray and fixstr carry their size in the tag
        if tag < 0xA0: return self.sized("map" if tag < 0x90 else "array", tag & 0x0F)
        if tag < 0xC0: return self.sized("str", tag & 0x1F)
        if tag in _CONSTANTS: return _CONSTANTS[tag]
        if tag in _NUMBERS: return self.number(_NUMBERS[tag])
        if tag not in _SIZED: raise ValueError("unsupported msgpack type 0x%02x" % tag)
        return self.sized(_SIZED[tag][0], self.number(_SIZED[tag][1]))

    def sized(self, kind, n):
        if kind == "array": return [self.value() for _ in range(n)]
        if kind == "map":
            items = [(self.value(), self.value()) for _ in range(n)]
            if not all(isinstance(key, (str, int)) for key, _ in items): raise ValueError("unsupported map key")
            return dict(items)
        data = bytes(self.take(n))
        return data if kind == "bin" else data.decode("utf-8", "surrogateescape")

def unpack(data):
    reader = _Reader(data)
    value = reader.value()
    if reader.pos != len(data): raise ValueError("trailing bytes after msgpack value")
    return value

def frame(obj):
    body = pack(obj)
    return struct.pack(">I", len(body)) + body

def split_frames(buf):
    """Take the complete frames off the front of `buf` (a bytearray)."""
    frames = []
    while len(buf) >= 4:
        size = struct.unpack(">I", bytes(buf[:4]))[0]
        if size > MAX_FRAME: raise ValueError("frame of %d bytes exceeds the %d byte limit" % (size, MAX_FRAME))
        if len(buf) < 4 + size: break
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
        # Hold back the first marker that is still short enough to complete, else a partial MARKER at the end;
        # a longer unfinished one is not ours and passes through.
        hold = data.find(MARKER, i)
        while hold >= 0 and len(data) - hold >= MARKER_MAX:
            hold = data.find(MARKER, hold + 1)
        if hold < 0:
            hold = len(data) - _partial_marker_len(data, i)
        out += data[i:hold]
        self.pending = data[hold:]
        return bytes(out), markers

    def flush(self):
        data, self.pending = self.pending, b""
        return data

def _partial_marker_len(data, start):
    for n in range(min(len(MARKER) - 1, len(data) - start), 0, -1):
        if data.endswith(MARKER[:n]): return n
    return 0

def scan_modes(modes, data, start, stop):
    """The terminal modes in force after data[start:stop], given `modes` before it."""
    modes = dict(modes)
    for match in MODE_RE.finditer(data, start, stop):
        if match.group(3) == b"c": modes.clear()
        elif match.group(3): modes["keypad"] = match.group(3) == b"="
        else: modes.update((p.decode(), match.group(2) == b"h") for p in match.group(1).split(b";") if p in TRACKED_MODES)
    return modes

# ---------------------------------------------------------------- files
def runtime_dir():
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if base and os.path.isdir(base) and SAFE_PATH_RE.match(base):
        path = os.path.join(base, "sessh")
    else:
        path = "/tmp/sessh-%d" % os.getuid()
    for directory in (path, os.path.join(path, "shell"), os.path.join(path, "cmd"), os.path.join(path, "bin")):
        ensure_private_dir(directory)
    return path

def ensure_private_dir(path):
    with suppress(FileExistsError): os.mkdir(path, 0o700)
    st = os.lstat(path)
    mode = stat.S_IMODE(st.st_mode)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or mode != 0o700:
        sys.stderr.write("sessh: refusing %s: it must be a directory owned by uid %d with mode 0700 (found uid %d "
                         "mode %o); remove it and retry\n" % (path, os.getuid(), st.st_uid, mode))
        sys.exit(EXIT_UNSAFE_DIR)

def socket_path(rt):
    return os.path.join(rt, "daemon-%d.sock" % PROTOCOL)

def write_private_file(path, data, mode=0o600):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "wb", opener=lambda name, flags: os.open(name, flags, mode)) as f:
        f.write(data)
    os.replace(tmp, path)

def read_file(path, limit=-1):
    """The file's bytes, or None when it is missing or unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return None

def or_none(fn, *args):
    """fn(*args), or None when it raises OSError: the process or file it names may be gone already."""
    try:
        return fn(*args)
    except OSError:
        return None

def helper_hash():
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]

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
if [ -n "${SESSH_ORIG_ENV+x}" ]; then
  ENV=$SESSH_ORIG_ENV; unset SESSH_ORIG_ENV
  if [ -n "$ENV" ] && [ -r "$ENV" ]; then . "$ENV"; fi
else
  unset ENV
fi
if [ -z "${__sessh_installed-}" ]; then
  __sessh_installed=1
  case ":$PATH:" in *":$SESSH_BIN:"*) ;; *) PATH="$SESSH_BIN:$PATH" ;; esac
  PS1="$(printf '\033]6973;P;')"'$?'"$(printf '\007')${PS1-\$ }"
  printf '\033]6973;I;\007'
fi
"""

def shell_kind(shell):
    name = os.path.basename(shell).lstrip("-")
    if name.startswith("bash"): return "bash"
    if name.startswith("zsh"): return "zsh"
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
    if kind not in ("zsh", "posix"): return {}
    # zsh reads $ZDOTDIR/.zshenv and sh reads $ENV; the scripts restore the user's own value.
    var, value = ("ZDOTDIR", scripts["zsh_dir"]) if kind == "zsh" else ("ENV", scripts["posix"])
    extra = {var: value}
    if var in env: extra["SESSH_ORIG_" + var] = env[var]
    return extra

def is_typeable(command, kind, preexec):
    """Whether a command can be typed as is (readable for a human watching, and in history) rather than sourced
    from a file: only a short single line of printable text survives line editing and history expansion unchanged."""
    if kind not in ("bash", "zsh") or not preexec or len(command) > 1000 or not command.strip(): return False
    try:
        text = command.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.isprintable() and "!" not in text and not text.startswith((" ", "#"))

# ---------------------------------------------------------------- sessions
class Session:
    """One PTY with a login shell, its output ring buffer and command state."""

    def __init__(self, name, shell, master_fd, pid, cols, rows, capacity, kind):
        self.name, self.shell, self.kind, self.fd, self.pid = name, shell, kind, master_fd, pid
        self.cols, self.rows, self.capacity = cols, rows, capacity
        self.buf, self.base = bytearray(), 0  # buf holds output bytes [base, end) of all the shell wrote
        self.created = self.last_activity = time.time()
        self.scanner = MarkerScanner()
        self.integrated = self.preexec = self.running = False
        self.run = self.pending_run = None  # the command typed in; one waiting for the next prompt
        self.last_exit = self.exit_status = None  # of the last command; of the shell
        self.last_input = 0
        self.attached = self.detached_at = None  # the interactive client; when the last one left
        self.modes = {}  # terminal modes in force at `base`, kept as old output is evicted
        self.closing = []  # (client, request id) of close requests waiting for the shell to exit

    @property
    def end(self):
        return self.base + len(self.buf)

    def append(self, data):
        if not data: return
        self.buf += data
        self.last_activity = time.time()
        excess = len(self.buf) - self.capacity
        if excess > 0:
            self.modes = scan_modes(self.modes, self.buf, 0, excess)
            del self.buf[:excess]
            self.base += excess

    def slice(self, start, stop):
        start, stop = max(start, self.base), min(stop, self.end)
        return bytes(self.buf[start - self.base:stop - self.base]) if stop > start else b""

    def tail_start(self, lines):
        """Offset where the last `lines` lines of the buffer begin."""
        pos = len(self.buf) - (1 if self.buf.endswith(b"\n") else 0)
        for _ in range(lines):
            pos = self.buf.rfind(b"\n", 0, pos)
            if pos < 0: return self.base
        return self.base + pos + 1

    def info(self):
        fg = or_none(os.tcgetpgrp, self.fd)
        busy_pid = fg if fg and fg != self.pid else None
        parts = (read_file("/proc/%d/cmdline" % busy_pid) or b"").split(b"\0") if busy_pid else []
        command = b" ".join(p for p in parts if p).decode("utf-8", "replace") or None
        running = bool(self.running or busy_pid)
        return {"name": self.name, "pid": self.pid, "shell": self.shell, "created": int(self.created * 1000),
                "last_activity": int(self.last_activity * 1000), "cols": self.cols, "rows": self.rows,
                "buffer_start": self.base, "buffer_end": self.end, "buffer_size": self.capacity,
                "running": running, "command": command, "waiting_input": running and self._seems_waiting(command),
                "cwd": or_none(os.readlink, "/proc/%d/cwd" % (busy_pid or self.pid)), "last_exit": self.last_exit,
                "integrated": self.integrated, "attached": self.attached is not None,
                "detached_at": self.detached_at and int(self.detached_at * 1000)}

    def _seems_waiting(self, command):
        if os.path.basename((command or "").split(" ")[0]) in PAGERS: return True
        tail = ESCAPE_RE.sub(b"", bytes(self.buf[-512:])).replace(b"\r", b"\n")
        lines = [line for line in tail.decode("utf-8", "replace").split("\n") if line.strip()]
        return bool(lines) and bool(PROMPT_RE.search(lines[-1]))

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
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2): os.dup2(slave, fd)
        if slave > 2: os.close(slave)
        os.closerange(3, 4096)
        for sig in (signal.SIGPIPE, signal.SIGHUP, signal.SIGCHLD, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        try:
            os.chdir(env.get("HOME") or "/")
        except OSError:
            os.chdir("/")
        os.execve(shell, ["-" + os.path.basename(shell)], env)
    except BaseException as exc:
        os.write(2, ("sessh: cannot start %s: %s\r\n" % (shell, exc)).encode())
    os._exit(127)

def set_winsize(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

def motd_text(home):
    """The login banner sshd would print, unless ~/.hushlogin exists."""
    if os.path.exists(os.path.join(home, ".hushlogin")): return b""
    parts = sorted(or_none(os.listdir, "/etc/motd.d") or [])
    chunks = [read_file(p, 65536) for p in ["/run/motd.dynamic", "/etc/motd"] + ["/etc/motd.d/" + n for n in parts]]
    return b"".join(c for c in chunks if c and c.strip()).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

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

def _checked_name(msg):
    name = msg.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise HelperError("bad_request", "Invalid session name %r" % (name,))
    return name

def _session_members(sid):
    """Pids in terminal session `sid`, from /proc/PID/stat (its sixth field)."""
    members = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        fields = (read_file("/proc/%s/stat" % entry) or b"").rpartition(b")")[2].split()
        if len(fields) > 3 and fields[3].isdigit() and int(fields[3]) == sid:
            members.append(int(entry))
    return members

def _utf8_boundary(session, start):
    for _ in range(3):
        chunk = session.slice(start, start + 1)
        if not chunk or not 0x80 <= chunk[0] <= 0xBF: break
        start += 1
    return start

def _clamp(value, low, high, default):
    if not isinstance(value, int) or isinstance(value, bool): return default
    return max(low, min(high, value))

def log(message):
    sys.stderr.write("%s sessh-daemon[%d]: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), os.getpid(), message))
    sys.stderr.flush()

# ---------------------------------------------------------------- daemon
class Client:
    """One connection from a bridge: framed requests in, replies and events out."""

    def __init__(self, sock):
        self.sock, self.rbuf, self.wbuf, self.closed = sock, bytearray(), bytearray(), False
        self.watch = {}  # session name -> "events" or "output"
        self.agent = None  # the ssh agent socket forwarded to this connection's bridge

    def send(self, obj):
        if not self.closed: self.wbuf += frame(obj)

    def fail(self, req_id, code, message):
        self.send({"id": req_id, "ok": False, "code": code, "message": message})

class Daemon:
    """Owns every session of the user; serves bridge connections on one non-blocking event loop."""

    def __init__(self, listener, rt):
        self.listener, self.rt = listener, rt
        self.sel = selectors.DefaultSelector()
        self.sessions, self.clients, self.recent_exits = {}, {}, {}
        self.timers, self.timer_seq, self.run_seq = [], 0, 0
        self.idle_since = time.time()
        self.hash, self.scripts = helper_hash(), install_integration(rt)
        # `sessh detach` and `sessh list` inside sessions, without Deno on this host.
        shim = "#!/bin/sh\nexec '%s' '%s' \"$@\"\n" % (sys.executable, os.path.abspath(__file__))
        write_private_file(os.path.join(rt, "bin", "sessh"), shim.encode(), 0o700)
        self.base_env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
        self.wake_r, self.wake_w = os.pipe()
        for fd in (self.wake_r, self.wake_w): os.set_blocking(fd, False)

    # -- loop: every selector key's data is the callable that handles its events

    def run(self):
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for sig in (signal.SIGHUP, signal.SIGPIPE): signal.signal(sig, signal.SIG_IGN)
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, lambda mask: self.accept())
        # Signals only wake the loop through this pipe; the loop reaps children after every event.
        self.sel.register(self.wake_r, selectors.EVENT_READ, lambda mask: or_none(os.read, self.wake_r, 4096))
        while True:
            timeout = max(0.0, min(5.0, self.timers[0][0] - time.time())) if self.timers else 5.0
            for key, mask in self.sel.select(timeout):
                try:
                    key.data(mask)
                except Exception as exc:
                    log("error handling an event: %r" % (exc,))
            self._run_timers()
            self.reap_children()
            if self.sessions or self.clients:
                self.idle_since = time.time()
            elif time.time() - self.idle_since > DAEMON_IDLE_EXIT:
                self._shutdown()
                return

    def later(self, delay, fn):
        self.timer_seq += 1
        heapq.heappush(self.timers, (time.time() + delay, self.timer_seq, fn))

    def _run_timers(self):
        now = time.time()
        while self.timers and self.timers[0][0] <= now:
            fn = heapq.heappop(self.timers)[2]
            try:
                fn()
            except Exception as exc:
                log("timer failed: %r" % (exc,))

    def _shutdown(self):
        # Leave the socket alone if a newer daemon has bound the path since.
        path = socket_path(self.rt)
        with suppress(OSError):
            if os.stat(path).st_ino == os.fstat(self.listener.fileno()).st_ino:
                os.unlink(path)

    # -- clients

    def accept(self):
        try:
            sock = self.listener.accept()[0]
        except OSError:
            return
        uid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
        if uid != os.getuid():
            log("refused connection from uid %d" % uid)
            sock.close()
            return
        sock.setblocking(False)
        self.clients[sock.fileno()] = client = Client(sock)
        self.sel.register(sock, selectors.EVENT_READ, partial(self.client_ready, client))

    def client_ready(self, client, mask):
        try:
            if mask & selectors.EVENT_READ: self.read_client(client)
            if mask & selectors.EVENT_WRITE and not client.closed: self.flush_client(client)
        except Exception:
            self.drop_client(client)
            raise

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
            self.send_error(client, None, "protocol", str(exc))
            self.drop_client(client)
            return
        for body in frames:
            self.handle_frame(client, body)
            if client.closed: return
        self.flush_client(client)

    def handle_frame(self, client, body):
        try:
            msg = unpack(body)
        except (ValueError, struct.error) as exc:
            client.fail(None, "protocol", "Malformed frame: %s" % exc)
            return
        if not isinstance(msg, dict):
            client.fail(None, "protocol", "A frame must hold a map")
            return
        handler = getattr(self, "op_" + str(msg.get("op")), None)
        try:
            if handler is None: raise HelperError("protocol", 'Unknown operation "%s"' % msg.get("op"))
            reply = handler(client, msg)
        except HelperError as exc:
            client.fail(msg.get("id"), *exc.args)
        except Exception as exc:
            log("request %r failed: %r" % (msg.get("op"), exc))
            client.fail(msg.get("id"), "remote", "Helper error: %s" % exc)
        else:
            if reply is not None:  # None: the handler answers by itself, now or later
                client.send(dict(reply, id=msg.get("id"), ok=True))

    def flush_client(self, client):
        if client.closed: return
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
        self.sel.modify(client.sock, events, partial(self.client_ready, client))

    def drop_client(self, client):
        if client.closed: return
        client.closed = True
        for session in self.sessions.values():
            if session.attached is client: session.attached, session.detached_at = None, time.time()
        self.clients.pop(client.sock.fileno(), None)
        if client.agent: self.point_agent()
        with suppress(KeyError, ValueError): self.sel.unregister(client.sock)
        client.sock.close()

    # Answers of handlers that returned None, sent later from an event or a timer.

    def send_reply(self, client, req_id, **fields):
        client.send(dict(fields, id=req_id, ok=True))
        self.flush_client(client)

    def send_error(self, client, req_id, code, message):
        client.fail(req_id, code, message)
        self.flush_client(client)

    def notify(self, session, event, level="events", skip=None):
        """Send an event to every client watching `session` at `level` or more."""
        for client in list(self.clients.values()):
            want = client.watch.get(session.name)
            if client is not skip and (want == "output" or (want == "events" and level == "events")):
                client.send(event)
                self.flush_client(client)

    # -- sessions

    def session(self, msg):
        name = _checked_name(msg)
        if name in self.sessions: return self.sessions[name]
        if self.recent_exits.get(name) is not None:
            raise HelperError("session_exited",
                              'Session "%s" ended: its shell exited with status %d' % (name, self.recent_exits[name]))
        raise HelperError("no_session", 'No session named "%s"' % name)

    def create_session(self, msg):
        name, shell = msg.get("name"), resolve_shell(msg.get("shell"))
        kind = shell_kind(shell)
        cols, rows = _clamp(msg.get("cols"), 2, 1000, 160), _clamp(msg.get("rows"), 2, 1000, 48)
        capacity = _clamp(msg.get("buffer"), 4096, MAX_BUFFER, DEFAULT_BUFFER)
        term = msg.get("term")
        env = dict(self.base_env, TERM=term if isinstance(term, str) and term and term != "dumb" else "xterm-256color")
        if msg.get("agent_env", True): env.update(AGENT_ENV)
        env.update((key, value) for key, value in (msg.get("env") or {}).items()
                   if isinstance(key, str) and isinstance(value, str) and key and "=" not in key)
        env.update(SESSH_SESSION=name, SHELL=shell, SESSH_BIN=os.path.join(self.rt, "bin"),
                   SSH_AUTH_SOCK=os.path.join(self.rt, "agent.sock"))
        env.update(integration_env(kind, self.scripts, env))
        fd, pid = spawn_shell(shell, cols, rows, env)
        session = self.sessions[name] = Session(name, shell, fd, pid, cols, rows, capacity, kind)
        session.append(motd_text(env.get("HOME", "/")))
        self.recent_exits.pop(name, None)
        self.sel.register(fd, selectors.EVENT_READ, lambda mask: self.read_pty(session))
        if kind: self.later(2.0, lambda: self._integrate_fallback(session))
        return session

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
        if not data: return
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
            if session.running or session.run is not None:
                self.finish_command(session, int(arg) if arg.lstrip("-").isdigit() else None)
            self.dispatch_pending_run(session)

    def finish_command(self, session, status):
        run, session.run = session.run, None
        session.running, session.last_exit = False, status
        event = {"ev": "done", "name": session.name, "exit": status, "end": session.end, "seq": None, "start": None}
        owner = run and run["client"]
        if run is not None:
            event.update(seq=run["seq"], start=run["start"])
            if run.get("file"): or_none(os.unlink, run["file"])
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
                view = view[os.write(session.fd, view):]
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
            if pid == 0: return
            for session in [s for s in self.sessions.values() if s.pid == pid]:
                self.end_session(session, os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status))

    def end_session(self, session, status):
        """The shell exited: drain its output, tell watchers, forget it."""
        code = status if status >= 0 else 128 - status
        while True:
            data = or_none(os.read, session.fd, READ_CHUNK)
            if not data: break
            self.process_output(session, data)
        self.emit_output(session, session.scanner.flush())
        session.exit_status = code
        if session.running or session.run is not None:
            self.finish_command(session, None)
        self.notify(session, {"ev": "exit", "name": session.name, "status": code})
        with suppress(KeyError, ValueError): self.sel.unregister(session.fd)
        os.close(session.fd)
        del self.sessions[session.name]
        self.recent_exits[session.name] = code
        while len(self.recent_exits) > 100:
            self.recent_exits.pop(next(iter(self.recent_exits)))
        for client, req_id in session.closing:
            self.send_reply(client, req_id, status=code)
        if session.pending_run:
            client, req_id = session.pending_run[2:4]
            self.send_error(client, req_id, "session_exited",
                            'The shell of "%s" exited with status %d' % (session.name, code))

    # -- requests: each op_NAME answers the request {"op": NAME}; returning None means it answered itself

    def op_hello(self, client, msg):
        if msg.get("version") != PROTOCOL:
            raise HelperError("protocol", "Expected protocol %d, got %r" % (PROTOCOL, msg.get("version")))
        return {"version": PROTOCOL, "helper": self.hash, "pid": os.getpid(), "max_frame": MAX_FRAME,
                "runtime_dir": self.rt, "caps": ["run", "subscribe", "markers", "attach"]}

    def op_open(self, client, msg):
        session = self.sessions.get(msg.get("name"))
        created = session is None
        if created:
            _checked_name(msg)
            session = self.create_session(msg)
        return {"created": created, "session": session.info()}

    def op_info(self, client, msg):
        return {"session": self.session(msg).info()}
    def op_list(self, client, msg):
        return {"sessions": [s.info() for s in sorted(self.sessions.values(), key=lambda s: s.created)]}

    def op_input(self, client, msg):
        if not isinstance(msg.get("data"), bytes): raise HelperError("bad_request", "input needs bytes in data")
        session = self.session(msg)
        session.last_input = session.end
        self.write_pty(session, msg["data"])
        return {}

    def op_resize(self, client, msg):
        session = self.session(msg)
        session.cols = _clamp(msg.get("cols"), 2, 1000, session.cols)
        session.rows = _clamp(msg.get("rows"), 2, 1000, session.rows)
        set_winsize(session.fd, session.cols, session.rows)
        return {}

    def op_read(self, client, msg):
        session = self.session(msg)
        since, lines, until = msg.get("since"), msg.get("lines"), msg.get("until")
        start = (since if isinstance(since, int) else session.tail_start(max(1, lines)) if isinstance(lines, int)
                 else session.base)
        evicted = start < session.base
        start = _utf8_boundary(session, session.base) if evicted else start
        limit = _clamp(msg.get("max"), 1, MAX_READ_REPLY, MAX_READ_REPLY)
        data = session.slice(start, min(until if isinstance(until, int) else session.end, start + limit))
        return {"data": data, "start": start, "end": start + len(data), "evicted": evicted,
                "buffer_start": session.base, "buffer_end": session.end}

    def op_subscribe(self, client, msg):
        session = self.session(msg)
        level = client.watch[session.name] = "output" if msg.get("output", True) else "events"
        since = session.last_input if msg.get("from_input") else msg.get("since")
        start = session.end if not isinstance(since, int) else max(since, session.base)
        client.send({"id": msg.get("id"), "ok": True, "start": start, "end": session.end,
                     "evicted": isinstance(since, int) and since < session.base,
                     "running": session.info()["running"], "last_exit": session.last_exit})
        if level == "output":  # the backlog goes out before any live output
            for offset in range(start, session.end, MAX_READ_REPLY):
                data = session.slice(offset, min(offset + MAX_READ_REPLY, session.end))
                client.send({"ev": "output", "name": session.name, "offset": offset, "data": data})
        return None

    def op_unsubscribe(self, client, msg):
        client.watch.pop(msg.get("name"), None)
        return {}

    def op_run(self, client, msg):
        name, create, command = msg.get("name"), msg.get("create"), msg.get("command")
        session = self.sessions.get(name) if isinstance(name, str) else None
        created = session is None and bool(create)
        if created:
            _checked_name(msg)
            session = self.create_session(dict(create, name=name) if isinstance(create, dict) else {"name": name})
        session = session or self.session(msg)
        if not isinstance(command, bytes): raise HelperError("bad_request", "run needs the command as bytes")
        if session.kind is None:
            raise HelperError("no_integration", 'Cannot tell when commands finish in %s; use run --no-wait, '
                              'or open the session with --shell bash, zsh or sh' % session.shell)
        info = session.info()
        if not msg.get("force") and (info["running"] or session.pending_run):
            raise HelperError("session_busy", 'Session "%s" is busy running %s; wait for it (sessh wait --done), '
                              'interrupt it (sessh keys ... C-c) or pass --force'
                              % (name, info["command"] or "a command"))
        seq = self.run_seq = self.run_seq + 1
        client.watch.setdefault(session.name, "events")
        session.pending_run = (seq, command, client, msg.get("id"), created)
        self.dispatch_pending_run(session)
        if session.pending_run:
            wait = _clamp(msg.get("ready_timeout_ms"), 100, 600000, 15000) / 1000.0
            self.later(wait, lambda: self._expire_pending_run(session, seq))
        return None

    def dispatch_pending_run(self, session):
        """Type the waiting command in once the shell shows a prompt with sessh's hooks."""
        if not session.pending_run or not session.integrated: return
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
        self.send_reply(client, req_id, seq=seq, offset=offset, typed=path is None, cols=session.cols, created=created)

    def _expire_pending_run(self, session, seq):
        if not session.pending_run or session.pending_run[0] != seq: return
        client, req_id = session.pending_run[2:4]
        session.pending_run = None
        self.send_error(client, req_id, "no_integration", 'The shell of "%s" did not show a prompt with sessh\'s '
                        "hooks in time; check its startup files or use run --no-wait" % session.name)

    def op_attach(self, client, msg):
        """Make `client` the session's one interactive client; reply with the replay, then stream output."""
        name, create = _checked_name(msg), msg.get("create")
        if name not in self.sessions and isinstance(create, dict): self.create_session(dict(create, name=name))
        session, since = self.session(msg), msg.get("since")
        holder = session.attached
        if holder is not None and holder is not client:
            # Only a reconnecting client takes over: the holder is its own stale connection.
            if not msg.get("steal"):
                raise HelperError("session_busy", 'Session "%s" is busy: another client is attached '
                                  "(sessh detach %s DEST frees it)" % (name, name))
            self.release(session, "replaced")
            self.drop_client(holder)
        session.attached = client
        client.watch[name] = "output"
        self.op_resize(client, msg)
        resume = isinstance(since, int) and session.base <= since <= session.end
        start = since if resume else max(session.base, session.end - MAX_READ_REPLY)
        return {"start": start, "end": session.end, "data": session.slice(start, session.end),
                "evicted": start > 0 and not resume, "shell_pid": session.pid,
                "modes": scan_modes(session.modes, session.buf, 0, start - session.base)}

    def op_detach(self, client, msg):
        session = self.session(msg)
        attached = session.attached is not None
        if attached: self.release(session, "requested")
        return {"detached": attached}

    def release(self, session, reason):
        """Detach the session's client: its output stops, and it is told why."""
        holder, session.attached, session.detached_at = session.attached, None, time.time()
        holder.watch.pop(session.name, None)
        holder.send({"ev": "detached", "name": session.name, "reason": reason})
        self.flush_client(holder)

    def op_ping(self, client, msg):
        return {}

    def op_agent(self, client, msg):
        """A bridge's forwarded ssh agent: sessions reach the newest one through a stable symlink."""
        path = msg.get("path")
        if isinstance(path, str) and stat.S_ISSOCK(getattr(or_none(os.stat, path), "st_mode", 0)):
            client.agent = path
            self.point_agent()

    def point_agent(self):
        live = [c.agent for c in self.clients.values() if c.agent and not c.closed]
        if live:
            link = os.path.join(self.rt, "agent.sock")
            or_none(os.symlink, live[-1], link + ".new")
            or_none(os.replace, link + ".new", link)

    def op_close(self, client, msg):
        session = self.session(msg)
        session.closing.append((client, msg.get("id")))
        self.signal_session(session, signal.SIGHUP)
        grace = _clamp(msg.get("grace_ms"), 0, 60000, int(CLOSE_GRACE * 1000)) / 1000.0
        self.later(grace, lambda: session.exit_status is None and self.signal_session(session, signal.SIGKILL))
        return None

    def signal_session(self, session, sig):
        """Signal every process in the session's terminal session, shell first."""
        for pid in [session.pid] + [p for p in _session_members(session.pid) if p != session.pid]:
            or_none(os.kill, pid, sig)

# ---------------------------------------------------------------- bridge
def connect_daemon(rt):
    """Connect to the user's daemon, starting one when none answers. The socket is unlinked only after a refused
    connection and under a lock, so two first launches at once give exactly one daemon."""
    path = socket_path(rt)
    sock = _try_connect(path)
    if sock: return sock
    with open(os.path.join(rt, "daemon.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sock = _try_connect(path, unlink_stale=True)
        if sock: return sock
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
    except OSError as exc:
        sock.close()
        if unlink_stale and isinstance(exc, ConnectionRefusedError):
            or_none(os.unlink, path)
    return None

def start_daemon(listener, rt):
    """Fork the daemon off this process, fully detached from ssh's session."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork(): os._exit(0)
        os.chdir("/")
        null = os.open(os.devnull, os.O_RDWR)
        logfd = os.open(os.path.join(rt, "daemon.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        for target, fd in enumerate((null, null, logfd)): os.dup2(fd, target)
        os.closerange(3, listener.fileno())
        os.closerange(listener.fileno() + 1, 1024)
        log("started, protocol %d" % PROTOCOL)
        Daemon(listener, rt).run()
    except BaseException as exc:
        log("fatal: %r" % (exc,))
    os._exit(0)

def bridge():
    sock = connect_daemon(runtime_dir())
    if os.environ.get("SSH_AUTH_SOCK"): sock.sendall(frame({"op": "agent", "path": os.environ["SSH_AUTH_SOCK"]}))
    os.write(1, MAGIC)
    while True:
        readable = select.select([sock, 0], [], [])[0]
        if 0 in readable:
            data = os.read(0, READ_CHUNK)
            if not data: return 0
            sock.sendall(data)
        if sock in readable:
            data = sock.recv(READ_CHUNK)
            if not data: return 0
            view = memoryview(data)
            while view:
                view = view[os.write(1, view):]

def request(sock, op, **fields):
    """One request on a blocking connection; returns the reply or exits with its message."""
    sock.sendall(frame(dict(fields, id=1, op=op)))
    buf = bytearray()
    while True:
        data = sock.recv(READ_CHUNK)
        if not data: sys.exit("sessh: the daemon closed the connection")
        buf += data
        for msg in map(unpack, split_frames(buf)):
            if msg.get("id") == 1 and msg.get("ok"): return msg
            if msg.get("id") == 1: sys.exit("sessh: %s" % msg.get("message"))

def in_session(role):
    """`sessh list` and `sessh detach` run inside a session, through the shim on its PATH."""
    current = os.environ.get("SESSH_SESSION")
    sock = connect_daemon(runtime_dir())
    if role == "detach":
        if not current: sys.exit("sessh detach: not inside a sessh session (SESSH_SESSION is not set)")
        detached = request(sock, "detach", name=current)["detached"]
        print("detached the client of %s" % current if detached else "no client is attached to %s" % current)
        return 0
    rows = [("CUR", "NAME", "PID", "STATE", "WHAT")]
    for s in request(sock, "list")["sessions"]:
        state = "attached" if s["attached"] else "busy" if s["running"] else "idle"
        rows.append(("*" if s["name"] == current else "", s["name"], str(s["pid"]), state, s["command"] or s["cwd"] or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows: print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[4])
    return 0

def main(argv):
    role = argv[1] if len(argv) > 1 else ""
    if role == "bridge": return bridge()
    if role in ("list", "detach"): return in_session(role)
    sys.stderr.write("usage: sessh list | sessh detach (inside a sessh session)\n")
    return 2

if __name__ == "__main__":
    sys.exit(main(sys.argv))
