"""Unit tests of file_ops.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import asyncio
import os
import stat
import sys
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import Client  # noqa: E402
from daemon import Daemon, OPS  # noqa: E402
from errors import HelperError  # noqa: E402
from testing import FakeWriter, temp_dir  # noqa: E402

class FileOpsTest(unittest.TestCase):
    """The file requests behind cp without sftp: parts at offsets, home-relative paths, errors by kind."""

    def setUp(self):
        self.home = temp_dir(self)
        patcher = mock.patch.dict(os.environ, {"HOME": self.home})
        patcher.start()
        self.addCleanup(patcher.stop)
        self.daemon = Daemon.__new__(Daemon)
        self.daemon.loop = asyncio.new_event_loop()
        self.addCleanup(self.daemon.loop.close)

    def call(self, op, **fields):
        return OPS[op](self.daemon, None, fields)

    def test_parts_written_at_offsets_read_back_byte_for_byte(self):
        data = bytes(range(256)) * 1000
        self.call("fwrite", path="out.bin", offset=0, data=data[:100000], truncate=True, mode=0o640)
        self.call("fwrite", path="out.bin", offset=100000, data=data[100000:])
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.home, "out.bin")).st_mode) & 0o600, 0o600)
        info = self.call("fstat", path="~/out.bin")
        self.assertEqual((info["path"], info["size"], info["dir"]), (os.path.join(self.home, "out.bin"), len(data), False))
        reply = self.call("fread", path="out.bin", offset=250000, max=10000)
        self.assertEqual((reply["data"], reply["size"]), (data[250000:256000], len(data)))

    def test_a_first_part_truncates_an_older_longer_file(self):
        self.call("fwrite", path="f", offset=0, data=b"x" * 100, truncate=True)
        self.call("fwrite", path="f", offset=0, data=b"new", truncate=True)
        self.assertEqual(self.call("fread", path="f")["data"], b"new")

    def test_a_copy_in_parts_replaces_the_target_only_when_committed(self):
        target, part = os.path.join(self.home, "t.bin"), os.path.join(self.home, ".t.bin.sessh-part")
        with open(target, "wb") as f:
            f.write(b"old")
        self.call("fwrite", path=".t.bin.sessh-part", offset=0, data=b"new ", truncate=True, part=True, mode=0o600)
        self.call("fwrite", path=".t.bin.sessh-part", offset=4, data=b"bytes", part=True)
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"old")  # cut here, the old file is whole
        reply = self.call("fwrite", path=".t.bin.sessh-part", offset=9, part=True, commit="t.bin")
        self.assertEqual((reply["path"], reply["size"]), (target, 9))
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"new bytes")
        self.assertFalse(os.path.exists(part))
        with self.assertRaises(HelperError) as caught:  # a part discarded is never committed as an empty file
            self.call("fwrite", path=".t.bin.sessh-part", offset=9, part=True, commit="t.bin")
        self.assertEqual(caught.exception.args[0], "no_file")
        with self.assertRaises(HelperError) as caught:
            self.call("fwrite", path=".t.bin.sessh-part", offset=0, data=b"x", truncate=True, part=True, commit="o/t")
        self.assertEqual(caught.exception.args[0], "bad_request")
        self.call("fwrite", path=".t.bin.sessh-part", discard=True)
        self.assertFalse(os.path.exists(part))
        self.call("fwrite", path=".t.bin.sessh-part", discard=True)  # already gone: fine

    def test_a_part_sftp_wrote_commits_unopened_and_frees_the_old_file_after_the_reply(self):
        target, part = os.path.join(self.home, "t.bin"), os.path.join(self.home, ".t.bin.sessh-part")
        with open(target, "wb") as f:
            f.write(b"old")
        with open(part, "wb") as f:
            f.write(b"new bytes")
        os.chmod(part, 0o444)  # as sftp makes it from a read-only source
        opened, real_open = [], os.open
        released = mock.Mock()
        with mock.patch.object(os, "open", side_effect=lambda p, *a: opened.append((p, a[0])) or real_open(p, *a)), \
                mock.patch.object(self.daemon.loop, "run_in_executor", released):
            reply = self.call("fwrite", path=".t.bin.sessh-part", part=True, target="t.bin", commit="t.bin", sync=False)
        self.assertEqual((reply["path"], reply["size"]), (target, 9))
        self.assertEqual([flags & (os.O_WRONLY | os.O_RDWR) for path, flags in opened if path == part], [])
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"new bytes")
        self.assertFalse(os.path.exists(part))
        # At the reply, the replaced file is still held, nameless, for a thread to close.
        released.assert_called_once()
        _, close, fd = released.call_args.args
        self.assertEqual((os.fstat(fd).st_nlink, os.pread(fd, 3, 0)), (0, b"old"))
        close(fd)

    def test_a_commit_replaces_a_link_or_a_fifo_at_the_target_without_opening_it(self):
        outside, target = os.path.join(self.home, "outside"), os.path.join(self.home, "t")
        with open(outside, "wb") as f:
            f.write(b"keep")
        os.symlink(outside, target)
        with open(os.path.join(self.home, ".t.sessh-part"), "wb") as f:
            f.write(b"new")
        released = mock.Mock()
        with mock.patch.object(self.daemon.loop, "run_in_executor", released):
            self.call("fwrite", path=".t.sessh-part", part=True, target="t", commit="t", sync=False)
        released.assert_not_called()
        with open(outside, "rb") as f:
            self.assertEqual(f.read(), b"keep")
        self.assertFalse(os.path.islink(target))
        os.mkfifo(os.path.join(self.home, "f"))
        with open(os.path.join(self.home, ".f.sessh-part"), "wb") as f:
            f.write(b"new")
        opened, real_open = [], os.open
        with mock.patch.object(os, "open", side_effect=lambda p, *a: opened.append(p) or real_open(p, *a)), \
                mock.patch.object(self.daemon.loop, "run_in_executor", released):
            self.call("fwrite", path=".f.sessh-part", part=True, target="f", commit="f", sync=False)
        self.assertEqual((opened, os.path.isfile(os.path.join(self.home, "f"))), ([], True))  # a FIFO is never opened
        os.symlink(outside, os.path.join(self.home, ".u.sessh-part"))
        with self.assertRaises(HelperError) as caught:  # nor commits a part that is a link
            self.call("fwrite", path=".u.sessh-part", part=True, target="u", commit="u", sync=False)
        self.assertEqual(caught.exception.args[0], "bad_request")
        self.assertFalse(os.path.lexists(os.path.join(self.home, "u")))

    def test_a_part_starts_its_writeback_off_the_loop_at_each_full_step(self):
        import file_ops
        released = mock.Mock()
        with mock.patch.object(file_ops, "WRITEBACK_STEP", 4096), \
                mock.patch.object(self.daemon.loop, "run_in_executor", released):
            for offset in range(0, 12000, 3000):
                self.call("fwrite", path=".p.sessh-part", offset=offset, data=b"x" * 3000, truncate=offset == 0,
                          part=True, target="p")
            self.call("fwrite", path="in-place", offset=0, data=b"x" * 9000, truncate=True)
        self.assertEqual([call.args[3:] for call in released.call_args_list], [(0, 4096), (4096, 4096)])
        for call in released.call_args_list:
            _, advise, fd, offset, length = call.args
            self.assertEqual(os.fstat(fd).st_size, 12000)  # a descriptor of its own, on the part
            advise(fd, offset, length)
            with self.assertRaises(OSError):
                os.fstat(fd)  # and closed once advised

    def test_a_flush_starts_the_writeback_of_a_part_sftp_writes_past_the_last_one_without_opening_it_to_write(self):
        part = os.path.join(self.home, ".f.bin.sessh-part")
        with open(part, "wb") as f:
            f.write(b"x" * 10000)
        os.chmod(part, 0o444)  # as sftp makes it from a read-only source
        opened, real_open = [], os.open
        released = mock.Mock()
        with mock.patch.object(os, "open", side_effect=lambda p, *a: opened.append((p, a[0])) or real_open(p, *a)), \
                mock.patch.object(self.daemon.loop, "run_in_executor", released):
            first = self.call("fwrite", path=".f.bin.sessh-part", part=True, flush=True, target="f.bin")
            second = self.call("fwrite", path=".f.bin.sessh-part", part=True, flush=True, offset=10000)
        self.assertEqual((first["size"], second["size"]), (10000, 10000))
        self.assertEqual([flags & (os.O_WRONLY | os.O_RDWR) for path, flags in opened if path == part], [0, 0])
        # Only what is past the offset, and nothing once nothing is new.
        self.assertEqual([call.args[3:] for call in released.call_args_list], [(0, 10000)])
        _, advise, fd, offset, length = released.call_args.args
        advise(fd, offset, length)
        with self.assertRaises(OSError):
            os.fstat(fd)  # closed once advised
        with open(part, "rb") as f:
            self.assertEqual(f.read(), b"x" * 10000)

    def test_a_flush_never_follows_a_link_or_opens_a_fifo(self):
        outside = os.path.join(self.home, "outside")
        with open(outside, "wb") as f:
            f.write(b"keep")
        os.symlink(outside, os.path.join(self.home, ".l.sessh-part"))
        os.mkfifo(os.path.join(self.home, ".q.sessh-part"))
        released = mock.Mock()
        with mock.patch.object(self.daemon.loop, "run_in_executor", released):
            for name in (".l.sessh-part", ".q.sessh-part"):
                with self.assertRaises(HelperError):
                    self.call("fwrite", path=name, part=True, flush=True)
        released.assert_not_called()

    def test_a_foreign_commit_syncs_the_part_in_a_thread_then_renames_it_and_answers_on_the_loop(self):
        target, part = os.path.join(self.home, "g.bin"), os.path.join(self.home, ".g.bin.sessh-part")
        with open(target, "wb") as f:
            f.write(b"old")
        with open(part, "wb") as f:
            f.write(b"new bytes")
        os.chmod(part, 0o444)  # as sftp makes it from a read-only source
        answers = []
        client = mock.Mock(reply=lambda req_id, **fields: answers.append(("ok", req_id, fields)),
                           fail=lambda req_id, code, message: answers.append(("fail", req_id, code)))
        synced, real_fsync = [], os.fsync
        opened, real_open = [], os.open
        with mock.patch.object(os, "fsync", side_effect=lambda fd: synced.append(fd) or real_fsync(fd)), \
                mock.patch.object(os, "open", side_effect=lambda p, *a: opened.append((p, a[0])) or real_open(p, *a)):
            reply = OPS["fwrite"](self.daemon, client, {"id": 7, "path": ".g.bin.sessh-part", "part": True,
                                                         "target": "g.bin", "commit": "g.bin", "foreign": True})
            # Not answered at once, nor renamed before its sync.
            self.assertEqual((reply, answers), (None, []))
            self.assertTrue(os.path.exists(part))
            self.daemon.loop.run_until_complete(asyncio.sleep(0.2))
        self.assertEqual(len(synced), 1)
        self.assertEqual([flags & (os.O_WRONLY | os.O_RDWR) for path, flags in opened if path == part], [0])
        self.assertEqual(answers, [("ok", 7, {"path": target, "size": 9})])
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"new bytes")
        self.assertFalse(os.path.exists(part))

    def test_a_foreign_commit_never_follows_a_link_at_the_part(self):
        outside = os.path.join(self.home, "outside")
        with open(outside, "wb") as f:
            f.write(b"keep")
        os.symlink(outside, os.path.join(self.home, ".h.sessh-part"))
        client = mock.Mock()
        with self.assertRaises(HelperError):
            OPS["fwrite"](self.daemon, client, {"id": 1, "path": ".h.sessh-part", "part": True, "target": "h",
                                                "commit": "h", "foreign": True})
        self.assertFalse(os.path.exists(os.path.join(self.home, "h")))
        client.reply.assert_not_called()

    def test_a_part_is_never_written_through_a_link(self):
        outside = os.path.join(self.home, "outside")
        with open(outside, "wb") as f:
            f.write(b"keep")
        os.symlink(outside, os.path.join(self.home, ".x.sessh-part"))
        with self.assertRaises(HelperError):
            self.call("fwrite", path=".x.sessh-part", offset=0, data=b"evil", truncate=True, part=True)
        with open(outside, "rb") as f:
            self.assertEqual(f.read(), b"keep")

    def test_a_fifo_is_refused_without_waiting_for_a_writer(self):
        os.mkfifo(os.path.join(self.home, "fifo"))
        with self.assertRaises(HelperError) as caught:
            self.call("fread", path="fifo")
        self.assertEqual(caught.exception.args[0], "bad_request")
        self.assertIn("not a plain file", caught.exception.args[1])

    def test_errors_say_missing_denied_or_what_else(self):
        with self.assertRaises(HelperError) as caught:
            self.call("fread", path="absent/file")
        self.assertEqual(caught.exception.args[0], "no_file")
        self.assertIn(os.path.join(self.home, "absent/file"), caught.exception.args[1])
        with self.assertRaises(HelperError) as caught:
            self.call("fread", path=self.home)
        self.assertEqual(caught.exception.args[0], "remote")
        self.assertIn("directory", caught.exception.args[1])
        with mock.patch.object(os, "open", side_effect=PermissionError(13, "Permission denied")), \
                self.assertRaises(HelperError) as caught:  # as a mode would, which root is not held to
            self.call("fwrite", path="denied", data=b"x", truncate=True)
        self.assertEqual(caught.exception.args[0], "file_denied")
        with self.assertRaises(HelperError) as caught:
            self.call("fstat", path="")
        self.assertEqual(caught.exception.args[0], "bad_request")

    def test_a_tree_listed_parents_first_links_skipped_and_made(self):
        self.call("fmkdir", path="t/sub/deep", mode=0o750)
        self.call("fwrite", path="t/a b.txt", data=b"ab", truncate=True, mode=0o640)
        self.call("fwrite", path="t/sub/deep/c", data=b"c", truncate=True)
        os.symlink(os.path.join(self.home, "t", "a b.txt"), os.path.join(self.home, "t", "link"))
        os.symlink(os.path.join(self.home, "t", "sub"), os.path.join(self.home, "t", "dirlink"))
        listed = self.call("flist", path="t")
        self.assertEqual(listed["path"], os.path.join(self.home, "t"))
        self.assertEqual(listed["skipped"], 2)
        self.assertEqual([(e["path"], e["dir"]) for e in listed["entries"]],
                         [("a b.txt", False), ("sub", True), ("sub/deep", True), ("sub/deep/c", False)])
        self.assertEqual([e["size"] for e in listed["entries"] if not e["dir"]], [2, 1])
        self.assertEqual(listed["entries"][0]["mode"] & 0o777, 0o640 & ~self.umask())
        self.assertEqual(self.call("fmkdir", path="t/sub")["path"], os.path.join(self.home, "t", "sub"))  # exists: fine
        with self.assertRaises(HelperError) as caught:
            self.call("fmkdir", path="t/a b.txt")  # a file in the way
        self.assertEqual(caught.exception.args[0], "remote")
        with self.assertRaises(HelperError) as caught:
            self.call("flist", path="absent")
        self.assertEqual(caught.exception.args[0], "no_file")

    def umask(self):
        mask = os.umask(0)
        os.umask(mask)
        return mask

    def test_hash_of_a_prefix_in_a_thread(self):
        import asyncio, hashlib
        data = os.urandom(3 << 20)
        with open(os.path.join(self.home, "bin"), "wb") as f:
            f.write(data)
        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        self.daemon.loop, writer = loop, FakeWriter()
        client = Client(writer)
        for req_id, length in ((1, 2 << 20), (2, 5 << 20)):
            OPS["fhash"](self.daemon, client, {"id": req_id, "path": "bin", "length": length})
        OPS["fhash"](self.daemon, client, {"id": 3, "path": "gone.bin", "length": 1})
        loop.run_until_complete(asyncio.sleep(0))
        while len(writer.frames) < 3:
            loop.run_until_complete(asyncio.sleep(0.01))
        replies = {frame["id"]: frame for frame in writer.frames}
        self.assertEqual(replies[1]["sha256"], hashlib.sha256(data[:2 << 20]).hexdigest())
        self.assertEqual((replies[2]["sha256"], replies[2]["length"]), (hashlib.sha256(data).hexdigest(), 3 << 20))
        self.assertEqual((replies[3]["ok"], replies[3]["code"]), (False, "no_file"))


if __name__ == "__main__":
    unittest.main()
