"""Unit tests of the remote helper's pure parts: python3 -m unittest."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sessh_helper as h  # noqa: E402


class MsgpackTest(unittest.TestCase):
    def test_round_trips_every_supported_type(self):
        values = [None, True, False, 0, 127, 128, 255, 65535, 65536, 2**32, 2**63 - 1, -1, -32, -33,
                  -2**31, -2**63, 1.5, "", "héllo", "x" * 40, "y" * 300, "z" * 70000, b"", b"\x00\xff" * 200,
                  b"b" * 70000, [], [1, [2, 3]], list(range(20)), {}, {"a": 1, "b": {"c": b"d"}},
                  {str(i): i for i in range(20)}]
        for value in values:
            self.assertEqual(h.unpack(h.pack(value)), value)

    def test_rejects_truncated_and_trailing_data(self):
        with self.assertRaises(ValueError):
            h.unpack(h.pack("hello")[:-1])
        with self.assertRaises(ValueError):
            h.unpack(h.pack(1) + b"\x01")

    def test_rejects_unknown_types(self):
        with self.assertRaises(ValueError):
            h.unpack(b"\xc1")

    def test_encodes_ints_strs_bins_and_floats_in_fixed_widths(self):
        self.assertEqual(h.pack(127), b"\x7f")
        self.assertEqual(h.pack(128), b"\xcd\x00\x80")
        self.assertEqual(h.pack(65536), b"\xce\x00\x01\x00\x00")
        self.assertEqual(h.pack(-33), b"\xd3" + (-33).to_bytes(8, "big", signed=True))
        self.assertEqual(h.pack("a" * 32)[:2], b"\xd9\x20")
        self.assertEqual(h.pack(b"x"), b"\xc4\x01x")
        self.assertEqual(h.pack(1.5), b"\xcb\x3f\xf8" + b"\x00" * 6)

    def test_split_frames_across_chunks_and_limit(self):
        buf = bytearray(h.frame({"a": 1}) + h.frame({"b": 2})[:3])
        self.assertEqual([h.unpack(f) for f in h.split_frames(buf)], [{"a": 1}])
        self.assertEqual(len(buf), 3)
        with self.assertRaises(ValueError):
            h.split_frames(bytearray(b"\xff\xff\xff\xff"))


class MarkerScannerTest(unittest.TestCase):
    def test_strips_markers_and_reports_positions(self):
        scanner = h.MarkerScanner()
        clean, markers = scanner.feed(b"out\r\n\x1b]6973;P;3\x07$ ")
        self.assertEqual(clean, b"out\r\n$ ")
        self.assertEqual(markers, [(5, "P;3")])

    def test_holds_a_marker_split_across_reads(self):
        scanner = h.MarkerScanner()
        clean, markers = scanner.feed(b"abc\x1b]69")
        self.assertEqual((clean, markers), (b"abc", []))
        clean, markers = scanner.feed(b"73;C\x07def")
        self.assertEqual((clean, markers), (b"def", [(0, "C")]))

    def test_flush_releases_a_lone_escape(self):
        scanner = h.MarkerScanner()
        self.assertEqual(scanner.feed(b"vim\x1b")[0], b"vim")
        self.assertEqual(scanner.flush(), b"\x1b")

    def test_passes_an_unfinished_marker_longer_than_the_limit_through(self):
        data = b"\x1b]6973;" + b"x" * 300
        self.assertEqual(h.MarkerScanner().feed(data), (data, []))

    def test_passes_other_osc_sequences_through(self):
        clean, markers = h.MarkerScanner().feed(b"\x1b]0;title\x07x")
        self.assertEqual((clean, markers), (b"\x1b]0;title\x07x", []))


class TypeableTest(unittest.TestCase):
    def test_short_printable_lines_are_typed_in_shells_with_preexec(self):
        self.assertTrue(h.is_typeable(b"ls -la 'x y'", "bash", True))
        self.assertFalse(h.is_typeable(b"ls", "posix", False))
        self.assertFalse(h.is_typeable(b"ls", "bash", False))

    def test_text_that_line_editing_would_change_is_sourced(self):
        for command in (b"echo hi!", b"a\nb", b"a\tb", b" ls", b"x" * 1001, b"\xff", b"#c"):
            self.assertFalse(h.is_typeable(command, "zsh", True), command)


class SessionBufferTest(unittest.TestCase):
    def make(self, capacity=16):
        return h.Session("s", "/bin/sh", -1, 1, 80, 24, capacity, "posix")

    def test_evicts_oldest_bytes_and_keeps_absolute_offsets(self):
        s = self.make()
        s.append(b"0123456789")
        s.append(b"abcdefghij")
        self.assertEqual((s.base, s.end), (4, 20))
        self.assertEqual(s.slice(0, 8), b"4567")
        self.assertEqual(s.slice(18, 99), b"ij")

    def test_tail_start_finds_the_last_lines(self):
        s = self.make(100)
        s.append(b"a\r\nb\r\nc\r\n")
        self.assertEqual(s.slice(s.tail_start(2), s.end), b"b\r\nc\r\n")
        self.assertEqual(s.tail_start(10), 0)


class ShellKindTest(unittest.TestCase):
    def test_kinds(self):
        self.assertEqual(h.shell_kind("/bin/bash"), "bash")
        self.assertEqual(h.shell_kind("-zsh"), "zsh")
        self.assertEqual(h.shell_kind("/usr/bin/dash"), "posix")
        self.assertIsNone(h.shell_kind("/usr/bin/fish"))


if __name__ == "__main__":
    unittest.main()
