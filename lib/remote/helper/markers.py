"""What output carries beside text: the markers shell integration prints (cut out before output is stored), secrets
to redact, and the terminal modes an attaching terminal must be put in."""

import re

from protocol import MARKER, MARKER_MAX, TRACKED_MODES

REDACTED, SECRET_MAX = b"[REDACTED]", 4096  # what a secret shows as in output; the longest secret taken

# A whole marker: MARKER, a payload without BEL, then BEL, in at most MARKER_MAX bytes.
MARKER_RE = re.compile(re.escape(MARKER) + rb"([^\x07]{0,%d})\x07" % (MARKER_MAX - len(MARKER) - 1))
# The start of a marker at the end of the output, or a part of MARKER there, that the next read may complete.
HELD_RE = re.compile(re.escape(MARKER) + rb"[^\x07]*\Z|\x1b(\](6(9(73?)?)?)?)?\Z")
MODE_RE = re.compile(rb"\x1b\[\?([0-9;]+)([hl])|\x1b([=>c])")

class MarkerScanner:
    """Strips sessh's shell-integration markers (OSC 6973) from PTY output, holding back a marker split across
    reads until the rest arrives; `flush` releases a tail that never completed."""

    def __init__(self):
        self.pending = b""

    def feed(self, data):
        data, out, markers, i = self.pending + data, bytearray(), [], 0
        for match in MARKER_RE.finditer(data):
            out += data[i:match.start()]
            # surrogateescape: a path's bytes that are not UTF-8 survive to reported_cwd
            markers.append((len(out), match.group(1).decode("utf-8", "surrogateescape")))
            i = match.end()
        # Hold back what may still become a marker; a longer unfinished one is not ours and passes through.
        held = HELD_RE.search(data, max(i, len(data) - MARKER_MAX + 1))
        hold = held.start() if held else len(data)
        out += data[i:hold]
        self.pending = data[hold:]
        return bytes(out), markers

    def flush(self):
        data, self.pending = self.pending, b""
        return data

def reported_cwd(arg):
    """The cwd of a `W;LENGTH;PATH` marker, None unless whole and absolute: any byte but BEL stays in a marker, and
    LENGTH (characters or bytes, as the shell counts) tells a path a BEL cut short."""
    length, _, path = arg.partition(";")
    raw = path.encode("utf-8", "surrogateescape")
    if not length.isdigit() or int(length) not in (len(path), len(raw)) or not path.startswith("/"):
        return None
    return raw.decode("utf-8", "replace")

class Redactor:
    """Replaces the secrets typed into a session (kept in memory only) wherever its output repeats them, before
    the output is buffered: a program that prints a password it read shows REDACTED instead. A part of a secret
    at the end of a read is held back until the next read completes it or shows it is not one."""

    def __init__(self):
        self.secrets, self.pending = [], b""

    def add(self, secret):
        if secret and secret not in self.secrets:
            self.secrets.append(secret)
            self.secrets.sort(key=len, reverse=True)  # the longest first, so that none is left half replaced

    def feed(self, data):
        if not self.secrets:
            return data
        data, self.pending = self.pending + data, b""
        for secret in self.secrets:
            data = data.replace(secret, REDACTED)
        longest = len(self.secrets[0])
        for keep in range(min(longest - 1, len(data)), 0, -1):
            tail = data[-keep:]
            if any(secret.startswith(tail) for secret in self.secrets):
                data, self.pending = data[:-keep], tail
                break
        return data

    def flush(self):
        data, self.pending = self.pending, b""
        return data

def scan_modes(modes, data, start, stop):
    """The terminal modes in force after data[start:stop], given `modes` before it."""
    modes = dict(modes)
    for match in MODE_RE.finditer(data, start, stop):
        params, setting, single = match.groups()
        if single == b"c":
            modes.clear()  # a full reset
        elif single:
            modes["keypad"] = single == b"="
        else:
            modes.update((p.decode(), setting == b"h") for p in params.split(b";") if p in TRACKED_MODES)
    return modes
