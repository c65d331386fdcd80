"""Daemons and their registry of sessions: where the helper runs from, how a daemon is found by its pid file, and
the sessions a daemon that died has lost."""

import fcntl, os, stat, time
from contextlib import suppress

from fields import NAME_RE, clamp
from files import open_in, or_none
from protocol import PID_NAME

def helper_dir():
    """The directory this helper runs from: the loader's `helper-HASH` in the cache, or its source tree."""
    return os.path.dirname(os.path.abspath(__file__))

def hold_pid_file(directory, rt, wait=2.0):
    """Write this daemon's pid and runtime dir to its pid file in `directory`, locked for as long as it lives: a pid
    file whose lock is free is stale. OSError when another daemon holds it (a bridge's probe, only for `wait`)."""
    fd, deadline = open_in(directory, PID_NAME, os.O_RDWR | os.O_CREAT), time.time() + wait
    try:
        while not locked(fd, fcntl.LOCK_EX):
            if time.time() > deadline:
                holder = os.pread(fd, 64, 0).split(b"\n")[0].decode()
                raise OSError("%s/%s is held by pid %s" % (directory, PID_NAME, holder))
            time.sleep(0.02)
        if not private_file(fd):
            raise PermissionError("refusing %s/%s: not a 0600 file of uid %d" % (directory, PID_NAME, os.getuid()))
        os.ftruncate(fd, 0)
        os.pwrite(fd, b"%d\n%s\n" % (os.getpid(), rt.encode("utf-8", "surrogateescape")), 0)
        return fd
    except BaseException:
        os.close(fd)
        raise

def daemon_in(directory):
    """(pid, runtime dir) of the daemon holding the pid file in `directory`; None for none, or one not ours alone."""
    fd = or_none(open_in, directory, PID_NAME, os.O_RDONLY)
    if fd is None:
        return None
    try:
        if not private_file(fd) or locked(fd, fcntl.LOCK_SH):  # we got the lock: nobody holds it
            return None
        pid, _, rt = os.pread(fd, 4096, 0).decode("utf-8", "surrogateescape").partition("\n")
        return (int(pid), rt.rstrip("\n")) if pid.isdigit() and rt.startswith("/") else None
    finally:
        os.close(fd)

def locked(fd, kind):
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False

def private_file(fd):
    st = os.fstat(fd)
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077

def pid_dirs(rt, state):
    """Where a daemon's pid files are: beside its socket and, out of reach of tmp cleaners, in the state dir."""
    return [rt] + ([state] if state and state != rt else [])

def live_daemons(rt, state, procfs=False):
    """(pid, runtime dir) of this user's daemons that use runtime dir `rt` or state dir `state` (as a call without
    XDG_RUNTIME_DIR, say, would), by their pid files; with `procfs`, also one whose pid files were removed."""
    found = dict(filter(None, map(daemon_in, pid_dirs(rt, state))))
    if not found and procfs:
        from procfs import proc_daemons
        for pid, held in proc_daemons(os.getuid(), PID_NAME):
            if rt in held or state in held:
                found[pid] = held[0]
    return sorted(found.items())

def running(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False

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
    return {"name": entry["name"], "lost": True, "lost_at": clamp(entry.get("lost_at"), 0, 1 << 53, 0),
            "shell": str(entry.get("shell") or ""), "created": clamp(entry.get("created"), 0, 1 << 53, 0),
            "pid": None, "running": False, "attached": False, "command": None, "cwd": None,
            "unknown": []}

def lost_message(entry):
    found = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clamp(entry.get("lost_at"), 0, 1 << 53, 0) / 1000))
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
