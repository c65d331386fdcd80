"""The bridge, the helper's end of a call's ssh channel: connects to the user's daemon, starting one when none
runs, and hands the channel's pipes to it (or relays them, for a daemon of an older helper); and `sessh list` and
`sessh detach` inside a session. Each call runs it, so it imports only what it needs."""

# _socket and _signal, not socket and signal: those import enum, selectors and collections, more than a quarter of a
# bridge's start (every call starts one), for names the C modules have too.
import _signal, _socket, fcntl, os, select, struct, sys, time

from errors import log
from files import listen_at, open_dir, open_in, open_log, or_none, runtime_dir, state_dir
from framing import frame, split_frames, unpack
from protocol import EXIT_DAEMON_START, EXIT_UNSAFE_RUNTIME_DIR, MAGIC, READ_CHUNK, SOCKET_NAME

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
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
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
        sys.exit(EXIT_UNSAFE_RUNTIME_DIR)
    return sock

def peer_uid(sock, path):
    """The uid serving `sock`, connected to `path`: SO_PEERCRED (Linux); without it (the BSDs, macOS) the socket file's
    owner, found through its directory (open_dir): only its owner can bind it in a dir ours alone. None if unknown."""
    if hasattr(_socket, "SO_PEERCRED"):
        creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, struct.calcsize("3i"))
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
    from procfs import procfs_available  # here: only a bridge that found no socket needs them
    from registry import live_daemons, running
    for pid, daemon_rt in live_daemons(rt, state, procfs_available()):
        path, deadline = os.path.join(daemon_rt, SOCKET_NAME), time.time() + 2.0
        sock = _try_connect(path)
        or_none(os.kill, pid, _signal.SIGUSR1)
        while sock is None and time.time() < deadline and running(pid):
            time.sleep(0.05)
            sock = _try_connect(path)
        if sock is not None:
            return sock
        if running(pid):
            sys.stderr.write("sessh: the daemon (pid %d) runs but does not answer on %s; see %s/daemon.log\n"
                             % (pid, path, state or daemon_rt))
            sys.exit(EXIT_DAEMON_START)

def start_daemon(path, rt, state):
    """Listen on `path` and fork the daemon off this process, fully detached from ssh's session; connect to it. No
    exec: the daemon keeps what the bridge imported (its own modules import the rest, asyncio's socket and signal
    among them)."""
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
        _signal.signal(_signal.SIGUSR1, _signal.SIG_IGN)  # until the daemon handles it: a bridge may signal it early
        from daemon import run_daemon
        run_daemon(listener, rt, state)
    except BaseException as exc:
        log("fatal: %r" % (exc,))
    os._exit(0)

def bridge():
    state = state_dir()
    sock = connect_daemon(runtime_dir(state), state)
    os.write(1, MAGIC)
    # The daemon takes ssh's pipes and serves them itself (Daemon.serve_channel); this process then only waits.
    handover = {"op": "handover", "id": 0, "path": os.environ.get("SSH_AUTH_SOCK")}
    sock.sendmsg([frame(handover)], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("2i", 0, 1))])
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
