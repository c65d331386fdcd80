"""The procfs backend, an optional fast path: what /proc tells beyond the portable ways (pid files, the prompt's
markers, process groups). Off without /proc, and with SESSH_NO_PROCFS=1 in the environment the daemon started
with or the bridge runs with."""

import os

from files import or_none, read_file

def procfs_available(environ=os.environ):
    return environ.get("SESSH_NO_PROCFS", "") in ("", "0") and os.path.isdir("/proc/self")

def proc_cmdline(pid):
    data = read_file("/proc/%d/cmdline" % pid)
    return data.split(b"\0")[:-1] if data else None

def proc_cwd(pid):
    return or_none(os.readlink, "/proc/%d/cwd" % pid)

def proc_daemons(uid, name):
    """(pid, [runtime dir, dirs of its pid files]) of `uid`'s daemons, by the pid files `name` they hold, removed or
    not. A pid file names its holder (not a bridge reading it) and runtime dir.
    Only those named as a daemon (or Python, an older one) are read: all fds take long."""
    for entry in filter(str.isdigit, or_none(os.listdir, "/proc") or []):
        if int(entry) == os.getpid() or getattr(or_none(os.stat, "/proc/" + entry), "st_uid", None) != uid:
            continue
        if not (read_file("/proc/%s/comm" % entry) or b"").startswith((b"sessh-daemon\n", b"python")):
            continue
        held, rt = [], None
        for fd in or_none(os.listdir, "/proc/%s/fd" % entry) or []:
            path = or_none(os.readlink, "/proc/%s/fd/%s" % (entry, fd)) or ""
            path = path[:-10] if path.endswith(" (deleted)") else path
            data = read_file("/proc/%s/fd/%s" % (entry, fd), 4096) if os.path.basename(path) == name else None
            pid, _, text = (data or b"").decode("utf-8", "surrogateescape").partition("\n")
            if pid == entry:
                held.append(os.path.dirname(path))
                rt = text.rstrip("\n")
        if rt:
            yield int(entry), [rt] + held

def proc_session_members(sid):
    """The pids of terminal session `sid` but its leader (field 6 of /proc/PID/stat): background jobs included."""
    found = []
    for entry in filter(str.isdigit, or_none(os.listdir, "/proc") or []):
        fields = (read_file("/proc/%s/stat" % entry) or b"").rpartition(b")")[2].split()
        if int(entry) != sid and fields[3:4] == [b"%d" % sid]:
            found.append(int(entry))
    return found
