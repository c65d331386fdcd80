"""Unit tests of markers.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from markers import MarkerScanner, Redactor, reported_cwd  # noqa: E402
from protocol import MARKER_MAX  # noqa: E402

class MarkerScannerTest(unittest.TestCase):
    def test_strips_markers_and_reports_positions(self):
        scanner = MarkerScanner()
        clean, markers = scanner.feed(b"out\r\n\x1b]6973;P;3\x07$ ")
        self.assertEqual(clean, b"out\r\n$ ")
        self.assertEqual(markers, [(5, "P;3")])

    def test_holds_a_marker_split_across_reads(self):
        scanner = MarkerScanner()
        clean, markers = scanner.feed(b"abc\x1b]69")
        self.assertEqual((clean, markers), (b"abc", []))
        clean, markers = scanner.feed(b"73;C\x07def")
        self.assertEqual((clean, markers), (b"def", [(0, "C")]))

    def test_flush_releases_a_lone_escape(self):
        scanner = MarkerScanner()
        self.assertEqual(scanner.feed(b"vim\x1b")[0], b"vim")
        self.assertEqual(scanner.flush(), b"\x1b")

    def test_passes_an_unfinished_marker_longer_than_the_limit_through(self):
        data = b"\x1b]6973;" + b"x" * (MARKER_MAX + 10)
        self.assertEqual(MarkerScanner().feed(data), (data, []))

    def test_passes_other_osc_sequences_through(self):
        clean, markers = MarkerScanner().feed(b"\x1b]0;title\x07x")
        self.assertEqual((clean, markers), (b"\x1b]0;title\x07x", []))

    def test_a_working_directory_marker_carries_any_bytes_but_bel(self):
        path = b"/tmp/a b\n\x1b[31m;%\xff"
        clean, markers = MarkerScanner().feed(b"\x1b]6973;W;%d;%s\x07\x1b]6973;P;0\x07$ " % (len(path), path))
        self.assertEqual(clean, b"$ ")
        self.assertEqual([m[1][:2] for m in markers], ["W;", "P;"])
        self.assertEqual(reported_cwd(markers[0][1][2:]), "/tmp/a b\n\x1b[31m;%\ufffd")

    def test_a_path_cut_short_by_a_bel_is_no_working_directory(self):
        path = b"/tmp/x\x07\x1b]6973;C\x07y"
        clean, markers = MarkerScanner().feed(b"\x1b]6973;W;%d;%s\x07\x1b]6973;P;0\x07" % (len(path), path))
        self.assertIsNone(reported_cwd(markers[0][1][2:]))
        self.assertEqual(markers[-1][1], "P;0")  # the exit status still parses

    def test_reported_cwd_takes_the_length_in_characters_or_bytes(self):
        self.assertEqual(reported_cwd("4;/t\u00fcp"), "/t\u00fcp")
        self.assertEqual(reported_cwd("5;/t\u00fcp"), "/t\u00fcp")
        for arg in ("6;/t\u00fcp", "3;/t\u00fcp", ";/tmp", "x;/tmp", "0;", "3;tmp", "4;/tmp;"):
            self.assertIsNone(reported_cwd(arg), arg)


class RedactorTest(unittest.TestCase):
    def test_without_secrets_output_passes_untouched(self):
        redactor = Redactor()
        self.assertEqual(redactor.feed(b"hunter"), b"hunter")
        self.assertEqual(redactor.pending, b"")

    def test_a_secret_split_across_reads_is_replaced_whole(self):
        redactor = Redactor()
        redactor.add(b"hunter2")
        self.assertEqual(redactor.feed(b"pw: hun"), b"pw: ")
        self.assertEqual(redactor.feed(b"ter2!\r\n"), b"[REDACTED]!\r\n")

    def test_a_held_start_that_is_no_secret_comes_out(self):
        redactor = Redactor()
        redactor.add(b"hunter2")
        self.assertEqual(redactor.feed(b"the hunt"), b"the ")
        self.assertEqual(redactor.feed(b"ing party"), b"hunting party")
        self.assertEqual(redactor.feed(b"hu"), b"")
        self.assertEqual(redactor.flush(), b"hu")

    def test_the_longest_secret_wins(self):
        redactor = Redactor()
        redactor.add(b"abc")
        redactor.add(b"abcdef")
        self.assertEqual(redactor.feed(b"x abcdef abc y"), b"x [REDACTED] [REDACTED] y")


if __name__ == "__main__":
    unittest.main()
