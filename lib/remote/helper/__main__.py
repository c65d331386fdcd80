"""sessh remote helper: hosts the PTY sessions that sessh drives over ssh.

Sent by the sessh client over the ssh channel as a packed tree, unpacked by the loader into the cache as
`helper-HASH/` and run as `python3 -S helper-HASH ROLE …`; Python 3.8+, standard library only. `bridge` relays
stdin/stdout to the user's daemon (frames: framing.py), starting it when none runs. Each role imports only what it
uses: every call starts a bridge.
"""
import sys

# Compiling costs more than the rest of a call, and some hosts set PYTHONDONTWRITEBYTECODE.
sys.dont_write_bytecode = False


def main(argv):
    role = argv[1] if len(argv) > 1 else ""
    if role == "bridge":
        from bridge import bridge
        return bridge()
    if role in ("list", "detach"):
        from bridge import in_session
        return in_session(role)
    sys.stderr.write("usage: sessh list | sessh detach (inside a sessh session)\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
