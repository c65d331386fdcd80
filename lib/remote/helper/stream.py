"""`sessh cp`'s upload as a stream (role `put`): after the magic line, a JSON request line on stdin (no path is on the
command line), then `size` bytes, written to a part beside the target (made anew, never through a link), synced and
renamed over it once all came; a cut stream removes the part. The reply is a JSON line on stdout."""

import json, os

from errors import HelperError
from fields import clamp
from file_ops import file_errors, file_path
from files import or_none
from protocol import ERR_BAD_REQUEST, ERR_REMOTE, MAGIC

CHUNK = 1 << 20
# Writeback starts every STEP bytes, so that the sync before the rename finds little left.
STEP = 16 << 20
MAX_REQUEST = 64 << 10


def stream():
    try:
        os.write(1, MAGIC)
        msg, rest = read_request()
        answer(put(msg, rest))
        return 0
    except HelperError as exc:
        answer({"ok": False, "code": exc.args[0], "message": exc.args[1]})
    except BrokenPipeError:
        pass  # the client is gone: nobody to answer
    return 1


def answer(reply):
    write_all(1, json.dumps(reply).encode() + b"\n")


def read_request():
    """The request line, and the bytes that came behind it."""
    got = b""
    while b"\n" not in got:
        chunk = os.read(0, CHUNK)
        if not chunk or len(got) > MAX_REQUEST:
            raise HelperError(ERR_BAD_REQUEST, "The stream's request line did not come")
        got += chunk
    line, _, rest = got.partition(b"\n")
    try:
        msg = json.loads(line)
    except ValueError:
        msg = None
    if not isinstance(msg, dict):
        raise HelperError(ERR_BAD_REQUEST, "The stream's request is not a JSON object")
    return msg, rest


def part_of(path):
    """The part file beside `path`, named as the client's partPathOf names it."""
    return os.path.join(os.path.dirname(path), ".%s.sessh-part" % os.path.basename(path))


def put(msg, rest):
    """The request's bytes into the part, then the part over the target."""
    path = file_path(msg)
    part, size = part_of(path), clamp(msg.get("size"), 0, 1 << 62, 0)
    with file_errors(path):
        # A part left by a cut copy is made anew (a link there unlinked, not followed).
        if or_none(os.lstat, part) is not None:
            os.unlink(part)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, clamp(msg.get("mode"), 0, 0o777, 0o644))
    try:
        with file_errors(path):
            got = receive(fd, memoryview(rest)[:size], size)
            if got == size:
                os.fsync(fd)
    finally:
        os.close(fd)
    if got < size:
        or_none(os.unlink, part)
        raise HelperError(ERR_REMOTE, "The copy was cut short at byte %d of %d; %s on the host left as it was" % (
            got, size, path))
    with file_errors(path):
        os.rename(part, path)
    return {"ok": True, "path": path, "size": size}


def receive(fd, first, size):
    """Writes `first`, then stdin's bytes, up to `size`; how many came."""
    buffer, got, started = bytearray(CHUNK), 0, 0
    view = memoryview(buffer)
    while got < size:
        if first:
            data, first = first, None
        else:
            n = os.readv(0, [view[:min(CHUNK, size - got)]])
            if n == 0:
                break
            data = view[:n]
        write_all(fd, data)
        got += len(data)
        if got - started >= STEP and hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, started, got - started, os.POSIX_FADV_DONTNEED)
            started = got
    return got


def write_all(fd, data):
    data = memoryview(data)
    while data:
        data = data[os.write(fd, data):]
