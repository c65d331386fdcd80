"""Daemons and their registry of sessions: where the helper runs from, how a daemon is found in /proc, and the
sessions a daemon that died has lost."""

import os, sys, time
from contextlib import suppress

from fields import NAME_RE, clamp
from files import or_none, read_file
from protocol import PROTOCOL

def helper_dir():
    """The directory this helper runs from: the loader's `helper-HASH` in the cache, or its source tree."""
    return os.path.dirname(os.path.abspath(__file__))

def daemon_argv(fd, rt, state):
    """How start_daemon re-executes the daemon: its argv says what it is, so bridges can find it in /proc. Python
    runs the helper's directory, from the bytecode in its __pycache__ that the bridge's call compiled."""
    return [sys.executable, "-S", helper_dir(), "daemon", str(PROTOCOL), str(fd), rt, state or ""]

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
    return {"name": entry["name"], "lost": True, "lost_at": clamp(entry.get("lost_at"), 0, 1 << 53, 0),
            "shell": str(entry.get("shell") or ""), "created": clamp(entry.get("created"), 0, 1 << 53, 0),
            "pid": None, "running": False, "attached": False, "command": None, "cwd": None}

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
