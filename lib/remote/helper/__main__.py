"""sessh remote helper: hosts the PTY sessions that sessh drives over ssh.

Sent by the sessh client over the ssh channel as a packed tree, unpacked by the loader into the cache as
`helper-HASH/` and run as `python3 -S helper-HASH ROLE …`; Python 3.8+, standard library only. `bridge` relays
stdin/stdout to the user's daemon (frames: framing.py), starting it when none runs. Each role imports only what it
uses: every call starts a bridge.
"""
import os, sys

# Compiling costs more than the rest of a call, and some hosts set PYTHONDONTWRITEBYTECODE.
sys.dont_write_bytecode = False


def never_run(here):
    """Whether this helper has never run on this host: nothing of it is compiled yet."""
    return sys.pycache_prefix is None and not os.path.isdir(os.path.join(here, "__pycache__"))


def compile_daemon_beside():
    """The first bridge of a helper new on this host will most likely start the daemon: a process of its own compiles
    the daemon's modules meanwhile, on another core, so that the daemon, forked off the bridge later, imports them
    compiled rather than compiling them on the first call's path. Forked once the bridge's own modules are loaded, it
    compiles only the daemon's. It holds none of ssh's pipes and is nobody's child to wait for; a pyc file is written
    whole (temp and rename), so either process may write it."""
    try:
        pid = os.fork()
    except OSError:
        return
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        if not os.fork():
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            import daemon  # noqa: F401 (for its compiled form)
    finally:
        os._exit(0)


def main(argv):
    role = argv[1] if len(argv) > 1 else ""
    if role == "bridge":
        first = never_run(os.path.dirname(os.path.abspath(__file__)))
        from bridge import bridge
        if first:
            compile_daemon_beside()
        return bridge()
    if role in ("list", "detach"):
        from bridge import in_session
        return in_session(role)
    sys.stderr.write("usage: sessh list | sessh detach (inside a sessh session)\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
