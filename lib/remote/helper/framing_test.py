"""Unit tests of framing.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from framing import frame, frame_head, pack, split_frames, unpack  # noqa: E402

class MsgpackTest(unittest.TestCase):
    def test_round_trips_every_supported_type(self):
        values = [None, True, False, 0, 127, 128, 255, 65535, 65536, 2**32, 2**63 - 1, -1, -32, -33,
                  -2**31, -2**63, 1.5, "", "héllo", "x" * 40, "y" * 300, "z" * 70000, b"", b"\x00\xff" * 200,
                  b"b" * 70000, [], [1, [2, 3]], list(range(20)), {}, {"a": 1, "b": {"c": b"d"}},
                  {str(i): i for i in range(20)}]
        for value in values:
            self.assertEqual(unpack(pack(value)), value)

    def test_rejects_truncated_and_trailing_data(self):
        with self.assertRaises(ValueError):
            unpack(pack("hello")[:-1])
        with self.assertRaises(ValueError):
            unpack(pack(1) + b"\x01")

    def test_a_string_packs_the_same_the_first_time_and_after(self):
        message = {"ev": "done", "name": "s" * 31, "seq": 300, "end": 70000, "exit": -1, "data": b"ok"}
        first = bytes(pack(message))
        self.assertEqual(first, bytes(pack(message)))
        self.assertEqual(first[:6], b"\x86\xa2ev\xa4d")
        self.assertEqual(unpack(first), message)

    def test_rejects_a_map_cut_short_or_keyed_by_a_list(self):
        for body in (pack({"name": "s"})[:3], b"\x81\x91\x01\x01"):
            with self.assertRaises(ValueError):
                unpack(body)

    def test_rejects_unknown_types(self):
        with self.assertRaises(ValueError):
            unpack(b"\xc1")

    def test_encodes_ints_strs_bins_and_floats_in_fixed_widths(self):
        self.assertEqual(pack(127), b"\x7f")
        self.assertEqual(pack(128), b"\xcd\x00\x80")
        self.assertEqual(pack(65536), b"\xce\x00\x01\x00\x00")
        self.assertEqual(pack(-33), b"\xd3" + (-33).to_bytes(8, "big", signed=True))
        self.assertEqual(pack("a" * 32)[:2], b"\xd9\x20")
        self.assertEqual(pack(b"x"), b"\xc4\x01x")
        self.assertEqual(pack(1.5), b"\xcb\x3f\xf8" + b"\x00" * 6)

    def test_a_frame_head_and_its_data_are_the_frame(self):
        for size in (0, 255, 256, 65535, 65536, 70000):
            data = memoryview(bytes(range(256)) * (size // 256 + 1))[:size]
            obj = {"ev": "output", "name": "s", "offset": 1 << 40}
            self.assertEqual(frame_head(obj, "data", data) + data, frame(dict(obj, data=data)))

    def test_split_frames_across_chunks_and_limit(self):
        buf = bytearray(frame({"a": 1}) + frame({"b": 2})[:3])
        self.assertEqual([unpack(f) for f in split_frames(buf)], [{"a": 1}])
        self.assertEqual(len(buf), 3)
        with self.assertRaises(ValueError):
            split_frames(bytearray(b"\xff\xff\xff\xff"))


if __name__ == "__main__":
    unittest.main()
