"""File operations, for `sessh cp` through the daemon: fstat, fread, fwrite (in parts, to a file renamed on commit),
fmkdir, flist and fhash."""

import os, stat
from contextlib import contextmanager

from errors import HelperError
from fields import clamp
from files import or_none
from protocol import ERR_BAD_REQUEST, ERR_FILE_DENIED, ERR_NO_FILE, ERR_REMOTE, MAX_READ_REPLY

# How many bytes of a part are written before their writeback starts (16 MB, as lib/session/part_flush.ts's steps).
WRITEBACK_STEP = 16 << 20

def file_path(msg):
    """A request's path on this host: `~` expanded, a relative one taken in the home directory (as scp does)."""
    path = msg.get("path")
    if not isinstance(path, str) or not path or "\0" in path:
        raise HelperError(ERR_BAD_REQUEST, "A file request needs a path")
    return os.path.join(os.path.expanduser("~"), os.path.expanduser(path))

@contextmanager
def file_errors(path):
    """An OSError on `path` as the HelperError that says what to do."""
    try:
        yield
    except (FileNotFoundError, NotADirectoryError):
        raise HelperError(ERR_NO_FILE, "No such file or directory on the host: %s" % path) from None
    except PermissionError:
        raise HelperError(ERR_FILE_DENIED, "Permission denied on the host: %s (check its mode and owner)" % path) from None
    except OSError as exc:
        raise HelperError(ERR_REMOTE, "%s on the host: %s" % (exc.strerror, path)) from None



def op_fstat(daemon, client, msg):
    path = file_path(msg)
    with file_errors(path):
        st = os.stat(path)
    return {"path": path, "size": st.st_size, "dir": stat.S_ISDIR(st.st_mode)}


def op_fread(daemon, client, msg):
    """Read a plain file's bytes at `offset`. Anything else is refused: a FIFO's open would wait for a writer (and
    the daemon with it, without O_NONBLOCK), and a device has no end to copy."""
    path = file_path(msg)
    with file_errors(path):
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        try:
            st = os.fstat(fd)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):  # a directory's read says what it is
                raise HelperError(ERR_BAD_REQUEST, "%s on the host is not a plain file (a device or a FIFO); copy it "
                                  "with --via sftp, or read it with run" % path)
            return {"size": st.st_size, "data": os.pread(
                fd, clamp(msg.get("max"), 1, MAX_READ_REPLY, MAX_READ_REPLY), clamp(msg.get("offset"), 0, 1 << 62, 0))}
        finally:
            os.close(fd)


def op_fwrite(daemon, client, msg):
    """Write `data` at `offset`; the first part of a copy truncates, and creates the file with `mode`.

    A copy that must not leave its target half written sends its parts to a part file beside it (`part`: the
    file is made without following a link there); its last request names the target in `commit`, and the part
    is synced and renamed over it, so that a reader sees the old file or the new one and a cut copy leaves the
    old file. A part another writer made (sftp, which syncs it itself) commits with `sync` false: renamed as it is,
    and never opened to write (a read-only source makes a read-only part); while it is written, `flush` starts
    its writeback, and a commit with `foreign` syncs it first (`commit_foreign_part`). `discard` removes a part that
    will not be finished."""
    path, data, offset = file_path(msg), memoryview(msg.get("data") or b""), clamp(msg.get("offset"), 0, 1 << 62, 0)
    if msg.get("discard"):
        with file_errors(path):
            if or_none(os.lstat, path) is not None:
                os.unlink(path)
        return {"path": path}
    # A part's errors name the file the user asked for (`target`), not the part beside it.
    shown = file_path({"path": msg["target"]}) if isinstance(msg.get("target"), str) else path
    flags = os.O_WRONLY | (os.O_CREAT | os.O_TRUNC if msg.get("truncate") else 0)
    if msg.get("part"):
        # Only the first part makes the file: a later one (or the commit) finds the part gone rather than
        # renaming an empty file over the target.
        flags |= os.O_NOFOLLOW
    elif not msg.get("truncate"):
        flags |= os.O_CREAT
    if msg.get("part") and msg.get("flush"):
        return flush_foreign_part(daemon, path, shown, offset)
    if msg.get("part") and msg.get("foreign") and isinstance(msg.get("commit"), str):
        return commit_foreign_part(daemon, client, msg, path, shown)
    if isinstance(msg.get("commit"), str) and msg.get("sync") is False:
        with file_errors(shown):
            st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            raise HelperError(ERR_BAD_REQUEST, "The part of %s is not a plain file: %s" % (shown, path))
        return commit_part(daemon, path, msg["commit"], st.st_size)
    with file_errors(shown):
        fd = os.open(path, flags, clamp(msg.get("mode"), 0, 0o777, 0o644))
        try:
            began = offset
            while data:
                written = os.pwrite(fd, data, offset)
                data, offset = data[written:], offset + written
            if msg.get("part") and began // WRITEBACK_STEP < offset // WRITEBACK_STEP:
                start_writeback(daemon, fd, offset // WRITEBACK_STEP * WRITEBACK_STEP)
            size = os.fstat(fd).st_size
            if isinstance(msg.get("commit"), str):
                os.fsync(fd)
        finally:
            os.close(fd)
    if isinstance(msg.get("commit"), str):
        return commit_part(daemon, path, msg["commit"], size)
    return {"path": path, "size": size}


def open_foreign_part(path, shown):
    """A part another program writes (sftp), opened only to read and never through a link (nor a FIFO or a device
    in its place, whose open would not wait: O_NONBLOCK), with its stat."""
    with file_errors(shown):
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise HelperError(ERR_BAD_REQUEST, "The part of %s is not a plain file: %s" % (shown, path))
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def flush_foreign_part(daemon, path, shown, offset):
    """Starts the writeback of what a part another program writes (sftp) holds past `offset`: asked while sftp
    writes, so that the sync at its end finds little left, as the daemon's own parts and a download's do."""
    fd, st = open_foreign_part(path, shown)
    try:
        if st.st_size > offset and hasattr(os, "posix_fadvise"):
            daemon.loop.run_in_executor(None, advise_written, os.dup(fd), offset, st.st_size - offset)
    finally:
        os.close(fd)
    return {"path": path, "size": st.st_size}


def commit_foreign_part(daemon, client, msg, path, shown):
    """Commits a part another program wrote (sftp): synced in a thread, then renamed over its target on the loop,
    and answered then. The commits of a tree's batch, asked at once, share the disk's journal commits, where one sync
    after the other (sftp's `put -f`) cost a journal commit per file."""
    fd, st = open_foreign_part(path, shown)
    req_id = msg.get("id")

    def synced(future):
        os.close(fd)
        try:
            with file_errors(shown):
                future.result()
            reply = commit_part(daemon, path, msg["commit"], st.st_size)
        except HelperError as exc:
            client.fail(req_id, *exc.args)
        except Exception as exc:
            client.fail(req_id, ERR_REMOTE, "Helper error: %s" % exc)
        else:
            client.reply(req_id, **reply)

    # An asyncio future: its callback runs on the loop, not in the thread.
    daemon.loop.run_in_executor(None, os.fsync, fd).add_done_callback(synced)


def start_writeback(daemon, fd, end):
    """Starts writing the part's last full step before `end` to the disk, in a thread (the kernel may make it wait
    for the disk's queue), on a descriptor of its own: the sync at the commit then finds little left, as a download
    flushes its part in steps (lib/session/part_flush.ts). POSIX_FADV_DONTNEED starts the writeback of dirty pages without
    waiting for it; a host without it syncs the whole part at the commit."""
    if hasattr(os, "posix_fadvise"):
        daemon.loop.run_in_executor(None, advise_written, os.dup(fd), end - WRITEBACK_STEP, WRITEBACK_STEP)


def advise_written(fd, offset, length):
    try:
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
    except OSError:
        pass  # only a head start: the commit's fsync reports what is wrong
    finally:
        os.close(fd)


def commit_part(daemon, path, commit, size):
    """Renames the part over its target, and frees the file it replaces after the reply: the last close of a 100 MB
    file (its pages and blocks let go) took the rename 40-60 ms, a quarter of a copy's time on loopback (issue 21).
    The old file is held open by a descriptor (never through a link: O_NOFOLLOW) so that the rename only drops its
    name; the descriptor is closed in a thread."""
    target = file_path({"path": commit})
    if os.path.dirname(target) != os.path.dirname(path):
        raise HelperError(ERR_BAD_REQUEST, "A part is renamed only within its directory: %s" % target)
    # Only a plain file is held: opening a device or a FIFO can act on it. O_NONBLOCK: one swapped in meanwhile
    # is not waited on.
    there = or_none(os.lstat, target)
    old = None if there is None or not stat.S_ISREG(there.st_mode) else or_none(
        os.open, target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        with file_errors(target):
            os.rename(path, target)
    finally:
        if old is not None:
            daemon.loop.run_in_executor(None, os.close, old)
    return {"path": target, "size": size}


def op_fmkdir(daemon, client, msg):
    path = file_path(msg)
    with file_errors(path):
        os.makedirs(path, clamp(msg.get("mode"), 0, 0o777, 0o755), exist_ok=True)
    return {"path": path}


def op_flist(daemon, client, msg):
    """A directory's tree for `cp -r`: its directories and regular files (path from it, size, mode), parents
    first; links and other kinds are counted as skipped, as sftp and scp leave them."""
    top, entries, skipped = file_path(msg), [], 0
    with file_errors(top):
        os.listdir(top)
    for root, dirs, files in os.walk(top):
        for name in sorted(dirs + files):
            full = os.path.join(root, name)
            st = or_none(os.lstat, full)
            if st is None or not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
                skipped += 1
                continue
            entries.append({"path": os.path.relpath(full, top), "dir": stat.S_ISDIR(st.st_mode),
                            "size": st.st_size, "mode": st.st_mode & 0o777})
    return {"path": top, "entries": entries, "skipped": skipped}


def op_fhash(daemon, client, msg):
    """The SHA-256 of a file's first `length` bytes, hashed in a thread (hashlib lets go of the GIL) so that the
    sessions are not held up: `cp --resume` continues a partial copy only when it is the source's start."""
    import hashlib
    path, length, req_id = file_path(msg), clamp(msg.get("length"), 0, 1 << 62, 0), msg.get("id")

    def digest():
        with file_errors(path), open(path, "rb") as f:
            sha, left = hashlib.sha256(), length
            while left > 0:
                chunk = f.read(min(left, 1 << 20))
                if not chunk:
                    break
                sha.update(chunk)
                left -= len(chunk)
            return {"sha256": sha.hexdigest(), "length": length - left}

    def answer(future):
        error = future.exception()
        if error is None:
            client.reply(req_id, **future.result())
        else:
            client.fail(req_id, *(error.args if isinstance(error, HelperError) else (ERR_REMOTE, str(error))))
    daemon.loop.run_in_executor(None, digest).add_done_callback(answer)


OPS = {
    "fstat": op_fstat,
    "fread": op_fread,
    "fwrite": op_fwrite,
    "fmkdir": op_fmkdir,
    "flist": op_flist,
    "fhash": op_fhash,
}
