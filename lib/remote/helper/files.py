"""The helper's own directories and files: the state and runtime directories, each checked by descriptor (owner,
mode, no link) from / down, and files opened relative to the descriptor of a checked directory."""

# No re, socket or contextlib at the top: every bridge imports this module, and they took 3.8 ms of its import (6.5
# ms against 2.7); the few functions that need re or socket import them.
import os, stat, sys

from protocol import EXIT_UNSAFE_RUNTIME_DIR, PIPE_SIZE, SOCKET_NAME, SOCKET_PATH_MAX

NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
SAFE_PATH_CHARS = NAME_CHARS | frozenset("/.")

def safe_path(path):
    """Whether `path` is made of letters, digits and /._- alone, and not empty."""
    return bool(path) and all(c in SAFE_PATH_CHARS for c in path)

def state_dir():
    """`${XDG_STATE_HOME:-~/.local/state}/sessh/HOST`, or None when it cannot be made private. The daemon's log and
    session registry live there, out of reach of tmp cleaners and logout; per host, as homes may be shared (NFS)."""
    base = os.environ.get("XDG_STATE_HOME", "")
    top, below = (base, []) if os.path.isabs(base) else (os.path.expanduser("~"), [".local", "state"])
    host = "".join(c if c in NAME_CHARS else "_" for c in os.uname().nodename.partition(".")[0]) or "localhost"
    if not safe_path(top) or not safe_dir(top):
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
                try:
                    os.mkdir(part, 0o700, dir_fd=fd)
                except FileExistsError:
                    pass
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
    if not safe_path(base) or not os.path.isabs(base):
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
    import re
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
    sys.exit(EXIT_UNSAFE_RUNTIME_DIR)

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

def remove_command_files(rt, name):
    """Unlink the command files (NAME.SEQ.sh) of session `name`: a run that never got its prompt leaves one."""
    directory = os.path.join(rt, "cmd")
    for entry in or_none(os.listdir, directory) or []:
        stem, _, seq = entry[:-3].rpartition(".")
        if entry.endswith(".sh") and stem == name and seq.isdigit():
            or_none(os.unlink, os.path.join(directory, entry))

def widen_pipe(fd, size=PIPE_SIZE):
    """Let the pipe `fd` holds one end of hold `size` bytes (Linux; elsewhere, or past the system's limit, it keeps
    its own), and say whether it does. A flood through a pipe of 64 KiB costs a write and a wake-up per 32-64 KiB on
    either side."""
    if not sys.platform.startswith("linux"):
        return False
    import fcntl
    return (or_none(fcntl.fcntl, fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), size) or 0) >= size

def listen_at(path):
    import socket  # the daemon's: asyncio imports it anyway
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    return listener

def open_log(directory):
    return open_in(directory, "daemon.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
