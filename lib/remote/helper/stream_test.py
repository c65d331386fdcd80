"""Unit tests of stream.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from protocol import MAGIC  # noqa: E402
from testing import temp_dir  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class StreamTest(unittest.TestCase):
    """`put`: a file's bytes behind a request line, to a part renamed over the target only once all came."""

    def setUp(self):
        self.home = temp_dir(self)

    def put(self, stdin):
        """Runs the role as the loader would, in a home of its own; (reply, exit status)."""
        run = subprocess.run(
            [sys.executable, "-c", "import sys; sys.path.insert(0, %r); from stream import stream; sys.exit(stream())"
             % HERE], input=stdin, stdout=subprocess.PIPE, env=dict(os.environ, HOME=self.home), timeout=60)
        self.assertTrue(run.stdout.startswith(MAGIC), run.stdout)
        return json.loads(run.stdout[len(MAGIC):]), run.returncode

    def request(self, data, size=None, **fields):
        fields.setdefault("path", "out.bin")
        return json.dumps(dict(fields, size=len(data) if size is None else size)).encode() + b"\n" + data

    def home_file(self, name):
        with open(os.path.join(self.home, name), "rb") as f:
            return f.read()

    def test_a_whole_stream_replaces_the_target(self):
        with open(os.path.join(self.home, "out.bin"), "wb") as f:
            f.write(b"old" * 100000)
        data = os.urandom(3 << 20)
        reply, code = self.put(self.request(data, mode=0o640))
        self.assertEqual((reply, code), ({"ok": True, "path": os.path.join(self.home, "out.bin"), "size": len(data)}, 0))
        self.assertEqual(self.home_file("out.bin"), data)
        self.assertEqual(os.listdir(self.home), ["out.bin"])

    def test_bytes_past_the_size_asked_are_not_written(self):
        reply, code = self.put(self.request(b"abcdef", size=3))
        self.assertEqual(code, 0, reply)
        self.assertEqual(self.home_file("out.bin"), b"abc")

    def test_a_cut_stream_leaves_the_old_file_and_removes_the_part(self):
        with open(os.path.join(self.home, "out.bin"), "wb") as f:
            f.write(b"the old file")
        reply, code = self.put(self.request(b"x" * 1000, size=5000))
        self.assertEqual(code, 1)
        self.assertEqual(reply["code"], "remote")
        self.assertIn("cut short at byte 1000 of 5000", reply["message"])
        self.assertEqual(self.home_file("out.bin"), b"the old file")
        self.assertEqual(os.listdir(self.home), ["out.bin"])

    def test_a_link_at_the_part_is_replaced_not_written_through(self):
        with open(os.path.join(self.home, "victim"), "wb") as f:
            f.write(b"mine")
        os.symlink(os.path.join(self.home, "victim"), os.path.join(self.home, ".out.bin.sessh-part"))
        reply, code = self.put(self.request(b"new bytes"))
        self.assertEqual(code, 0, reply)
        self.assertEqual(self.home_file("victim"), b"mine")
        self.assertEqual(self.home_file("out.bin"), b"new bytes")
        self.assertFalse(os.path.islink(os.path.join(self.home, "out.bin")))

    def test_errors_say_what_is_wrong(self):
        reply, code = self.put(self.request(b"x", path="absent/dir/out.bin"))
        self.assertEqual((reply["code"], code), ("no_file", 1))
        self.assertIn("absent/dir/out.bin", reply["message"])
        reply, code = self.put(b"[1, 2]\nxyz")
        self.assertEqual((reply["code"], code), ("bad_request", 1))
        reply, code = self.put(b"")
        self.assertEqual((reply["code"], code), ("bad_request", 1))


if __name__ == "__main__":
    unittest.main()
