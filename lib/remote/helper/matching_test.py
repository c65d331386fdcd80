"""Unit tests of matching.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import re
import sys
import time
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from errors import HelperError  # noqa: E402
import matching  # noqa: E402
from matching import PatternWorker, TextMatcher  # noqa: E402
from protocol import MATCH_OVERLAP  # noqa: E402
from sessions import Session  # noqa: E402

class TextMatcherTest(unittest.TestCase):
    def session(self, capacity=1 << 20):
        return Session("s", "/bin/sh", -1, 1, 80, 24, capacity, "posix")

    def feed(self, session, matcher, *pieces):
        """Append each piece and search it; the first match's text, or None."""
        for piece in pieces:
            session.append(piece)
            match = matcher.scan(session, session.end)
            if match: return match.group(0)
        return None

    def test_a_match_may_span_reads_and_escape_sequences(self):
        session = self.session()
        matcher = TextMatcher(re.compile("flood-done"), 0)
        self.assertEqual(self.feed(session, matcher, b"x flood", b"-\x1b[32", b"mdone\n"), "flood-done")

    def test_window_titles_and_controls_are_not_text(self):
        session = self.session()
        matcher = TextMatcher(re.compile("title|ab"), 0)
        self.assertEqual(self.feed(session, matcher, b"\x1b]0;title\x07a\x00\x1b(B", b"b"), "ab")

    def test_an_osc_split_before_its_terminator_is_held(self):
        session = self.session()
        matcher = TextMatcher(re.compile(r"\]"), 0)
        self.assertIsNone(self.feed(session, matcher, b"\x1b]0;ti\x1b", b"\\x"))

    def test_invalid_utf8_is_u_fffd_and_a_split_character_whole(self):
        session = self.session()
        matcher = TextMatcher(re.compile("A\ufffd+B|caf\u00e9"), 0)
        self.assertEqual(self.feed(session, matcher, b"A\xff\xfeB"), "A\ufffd\ufffdB")
        matcher = TextMatcher(re.compile("caf\u00e9"), session.end)
        self.assertEqual(self.feed(session, matcher, b"caf\xc3", b"\xa9"), "caf\u00e9")

    def test_the_start_anchor_holds_only_where_the_search_began(self):
        session = self.session()
        matcher = TextMatcher(re.compile(r"\Aba"), 0)
        # The kept tail of the first read starts with "ba": not where the search began.
        first = b"a" * 10 + b"b" + b"a" * (MATCH_OVERLAP - 1)
        self.assertIsNone(self.feed(session, matcher, first, b"x"))
        matcher = TextMatcher(re.compile(r"\Aab"), session.end)
        self.assertEqual(self.feed(session, matcher, b"a", b"b"), "ab")

    def test_patterns_see_the_text_output_shows(self):
        """(pieces of output, pattern, the match or None): line ends are `\\n`, escape sequences gone."""
        table = [
            ([b"hello 1\r\n"], r"hello 1\n", "hello 1\n"),
            ([b"hello 2\r\n"], r"hello 2\r\n", None),
            ([b"hello 3\r", b"\n"], r"hello 3\n", "hello 3\n"),
            ([b"zsh\r\r\n"], r"zsh\n", "zsh\n"),
            ([b"cleared\r\x1b[K\n"], r"cleared\n", "cleared\n"),
            ([b"50%\r100%\r\n"], r"50%\r100%\n", "50%\r100%\n"),
            ([b"\x1b[1mbold\x1b[0m\r\n"], r"^bold$", "bold"),
            ([b">>> print(\"42 \xc3\xbcn\xc3\xaf\")\r\n42 \xc3\xbcn\xc3", b"\xaf\r\n>>> "], "42 \u00fcn\u00ef\n",
             "42 \u00fcn\u00ef\n"),
        ]
        for pieces, source, expected in table:
            with self.subTest(source=source):
                pattern = re.compile(source, re.M)
                self.assertEqual(self.feed(self.session(), TextMatcher(pattern, 0), *pieces), expected)

    def test_a_carriage_return_at_the_end_waits_for_what_follows(self):
        session = self.session()
        matcher = TextMatcher(re.compile("x"), 0)
        session.append(b"a\r")
        self.assertEqual(matcher.take(session, session.end)[0], "a")
        session.append(b"b")
        self.assertEqual(matcher.take(session, session.end)[0], "a\rb")

    def test_a_match_may_begin_right_where_eviction_left_the_buffer(self):
        session = self.session(capacity=64 << 10)
        matcher = TextMatcher(re.compile("needle"), 0)
        session.append(b"x" * (200 << 10) + b"needle" + b"y" * ((64 << 10) - 6))
        self.assertEqual(session.base, (200 << 10), "the buffer now begins at the needle")
        match = matcher.scan(session, session.end)
        self.assertTrue(matcher.evicted)
        self.assertEqual(match and match.group(0), "needle")

    def test_output_evicted_before_it_was_searched_is_skipped_and_reported(self):
        session = self.session(capacity=64 << 10)
        matcher = TextMatcher(re.compile("needle"), 0)
        session.append(b"needle" + b"x" * (300 << 10))
        self.assertIsNone(matcher.scan(session, session.end))
        self.assertTrue(matcher.evicted)
        self.assertEqual(matcher.pos, session.end)


class PatternWorkerTest(unittest.TestCase):
    def setUp(self):
        import asyncio
        self.loop = asyncio.new_event_loop()
        self.addCleanup(self.loop.close)
        self.worker = PatternWorker(self.loop)
        self.addCleanup(self.worker.stop)

    def search(self, source, text):
        return self.loop.run_until_complete(self.worker.search(re.compile(source), text, 0))

    def test_searches_in_a_child_process(self):
        self.assertEqual(self.search("b+", "abbc"), (1, 3))
        self.assertIsNone(self.search("x", "abc"))
        self.assertNotEqual(self.worker.pid, os.getpid())

    def test_a_catastrophic_pattern_is_cut_off_and_the_loop_keeps_running(self):
        import asyncio
        ticks = []

        def tick():
            ticks.append(time.monotonic())
            self.loop.call_later(0.01, tick)
        self.loop.call_soon(tick)
        slow_pid = None
        # A budget well above any pause a loaded machine makes: a loop held by the search would show a gap as long.
        with mock.patch.object(matching, "PATTERN_BUDGET_S", 1.5):
            for source, text in [(r"(a+)+$", "a" * 40 + "!"), (r"(a|aa)+$", "a" * 60 + "!"),
                                 (r"(.*a){20}", "a" * 19 + "b" * 20000)]:
                with self.subTest(source=source):
                    ticks.clear()
                    started = time.monotonic()
                    search = self.worker.search(re.compile(source), text, 0)
                    slow_pid = self.worker.pid or slow_pid
                    with self.assertRaises(HelperError) as caught:
                        self.loop.run_until_complete(search)
                    self.assertEqual(caught.exception.args[0], "pattern_too_slow")
                    self.assertLess(time.monotonic() - started, 5.0)
                    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
                    self.assertGreater(len(gaps), 2)
                    self.assertLess(max(gaps), 1.0, "the loop ran while the pattern was searched")
        self.assertEqual(self.search("ok", "ok"), (0, 2), "a new child searches after one was killed")
        self.loop.run_until_complete(asyncio.sleep(0.05))


if __name__ == "__main__":
    unittest.main()
