"""Unit tests of the remote helper's pure parts: python3 -m unittest."""

import json
import os
import shutil
import stat
import sys
import tempfile
import time
import unittest
from unittest import mock

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

    def test_a_flood_moves_the_buffer_in_bulk_but_readers_see_its_capacity(self):
        s = self.make(1 << 20)
        for i in range(3000):
            s.append(bytes([65 + i % 26]) * 4096)
            self.assertLessEqual(len(s.buf), (1 << 20) + (1 << 18) + 4096)
            self.assertEqual(s.end - s.base, min(s.end, 1 << 20))
        self.assertEqual(len(s.slice(0, s.end)), 1 << 20)
        self.assertEqual(s.slice(s.base, s.base + 1), bytes([65 + (3000 - 256) % 26]))
        lines = self.make(64)
        lines.append(b"old line\n" * 20)
        start, whole = lines.tail_start(1000)
        self.assertFalse(whole)
        self.assertEqual(lines.slice(start, lines.end), b"old line\n" * 7)

    def test_tail_start_finds_the_last_lines(self):
        s = self.make(100)
        s.append(b"a\r\nb\r\nc\r\n")
        self.assertEqual(s.slice(s.tail_start(2)[0], s.end), b"b\r\nc\r\n")
        self.assertEqual(s.tail_start(10), (0, True))


class TextMatcherTest(unittest.TestCase):
    def session(self, capacity=1 << 20):
        return h.Session("s", "/bin/sh", -1, 1, 80, 24, capacity, "posix")

    def feed(self, session, matcher, *pieces):
        """Append each piece and search it; the first match's text, or None."""
        for piece in pieces:
            session.append(piece)
            match = matcher.scan(session, session.end)
            if match: return match.group(0)
        return None

    def test_a_match_may_span_reads_and_escape_sequences(self):
        session = self.session()
        matcher = h.TextMatcher(h.re.compile("flood-done"), 0)
        self.assertEqual(self.feed(session, matcher, b"x flood", b"-\x1b[32", b"mdone\n"), "flood-done")

    def test_window_titles_and_controls_are_not_text(self):
        session = self.session()
        matcher = h.TextMatcher(h.re.compile("title|ab"), 0)
        self.assertEqual(self.feed(session, matcher, b"\x1b]0;title\x07a\x00\x1b(B", b"b"), "ab")

    def test_an_osc_split_before_its_terminator_is_held(self):
        session = self.session()
        matcher = h.TextMatcher(h.re.compile(r"\]"), 0)
        self.assertIsNone(self.feed(session, matcher, b"\x1b]0;ti\x1b", b"\\x"))

    def test_invalid_utf8_is_u_fffd_and_a_split_character_whole(self):
        session = self.session()
        matcher = h.TextMatcher(h.re.compile("A\ufffd+B|caf\u00e9"), 0)
        self.assertEqual(self.feed(session, matcher, b"A\xff\xfeB"), "A\ufffd\ufffdB")
        matcher = h.TextMatcher(h.re.compile("caf\u00e9"), session.end)
        self.assertEqual(self.feed(session, matcher, b"caf\xc3", b"\xa9"), "caf\u00e9")

    def test_the_start_anchor_holds_only_where_the_search_began(self):
        session = self.session()
        matcher = h.TextMatcher(h.re.compile(r"\Aba"), 0)
        # The kept tail of the first read starts with "ba": not where the search began.
        first = b"a" * 10 + b"b" + b"a" * (h.MATCH_OVERLAP - 1)
        self.assertIsNone(self.feed(session, matcher, first, b"x"))
        matcher = h.TextMatcher(h.re.compile(r"\Aab"), session.end)
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
                pattern = h.re.compile(source, h.re.M)
                self.assertEqual(self.feed(self.session(), h.TextMatcher(pattern, 0), *pieces), expected)

    def test_a_carriage_return_at_the_end_waits_for_what_follows(self):
        session = self.session()
        matcher = h.TextMatcher(h.re.compile("x"), 0)
        session.append(b"a\r")
        self.assertEqual(matcher.take(session, session.end)[0], "a")
        session.append(b"b")
        self.assertEqual(matcher.take(session, session.end)[0], "a\rb")

    def test_a_match_may_begin_right_where_eviction_left_the_buffer(self):
        session = self.session(capacity=64 << 10)
        matcher = h.TextMatcher(h.re.compile("needle"), 0)
        session.append(b"x" * (200 << 10) + b"needle" + b"y" * ((64 << 10) - 6))
        self.assertEqual(session.base, (200 << 10), "the buffer now begins at the needle")
        match = matcher.scan(session, session.end)
        self.assertTrue(matcher.evicted)
        self.assertEqual(match and match.group(0), "needle")

    def test_output_evicted_before_it_was_searched_is_skipped_and_reported(self):
        session = self.session(capacity=64 << 10)
        matcher = h.TextMatcher(h.re.compile("needle"), 0)
        session.append(b"needle" + b"x" * (300 << 10))
        self.assertIsNone(matcher.scan(session, session.end))
        self.assertTrue(matcher.evicted)
        self.assertEqual(matcher.pos, session.end)


class RedactorTest(unittest.TestCase):
    def test_without_secrets_output_passes_untouched(self):
        redactor = h.Redactor()
        self.assertEqual(redactor.feed(b"hunter"), b"hunter")
        self.assertEqual(redactor.pending, b"")

    def test_a_secret_split_across_reads_is_replaced_whole(self):
        redactor = h.Redactor()
        redactor.add(b"hunter2")
        self.assertEqual(redactor.feed(b"pw: hun"), b"pw: ")
        self.assertEqual(redactor.feed(b"ter2!\r\n"), b"[REDACTED]!\r\n")

    def test_a_held_start_that_is_no_secret_comes_out(self):
        redactor = h.Redactor()
        redactor.add(b"hunter2")
        self.assertEqual(redactor.feed(b"the hunt"), b"the ")
        self.assertEqual(redactor.feed(b"ing party"), b"hunting party")
        self.assertEqual(redactor.feed(b"hu"), b"")
        self.assertEqual(redactor.flush(), b"hu")

    def test_the_longest_secret_wins(self):
        redactor = h.Redactor()
        redactor.add(b"abc")
        redactor.add(b"abcdef")
        self.assertEqual(redactor.feed(b"x abcdef abc y"), b"x [REDACTED] [REDACTED] y")


class TimelineTest(unittest.TestCase):
    def test_bursts_are_timed_and_evicted_ones_dropped(self):
        session = h.Session("s", "/bin/sh", -1, 1, 80, 24, 64 << 10, "posix")
        with mock.patch.object(h.time, "time", side_effect=[100.0, 100.001, 101.0, 102.5]):
            session.append(b"a")
            session.append(b"b")  # within a burst: no entry of its own
            session.append(b"c")
            self.assertEqual(session.timeline, [(0, 100.0), (2, 101.0)])
            session.append(b"x" * (200 << 10))
        # "b" shared the burst of "a"; "a" and "c" left with the bytes they timed. The burst of x's began
        # before the origin, and it times the oldest bytes kept.
        self.assertEqual(session.timeline, [(3, 102.5)])
        self.assertLess(session.timeline[0][0], session.origin)


class FakeTransport:
    def __init__(self):
        self.queued = 0

    def get_write_buffer_size(self):
        return self.queued

    def set_write_buffer_limits(self, high, low):
        pass


class FakeWriter:
    """A connection that holds what is written until the test drains it."""

    def __init__(self):
        self.transport, self.frames = FakeTransport(), []

    def is_closing(self):
        return False

    def write(self, data):
        self.transport.queued += len(data)
        self.frames.append(h.unpack(data[4:]))

    async def drain(self):
        pass

    def drained(self):
        frames, self.frames, self.transport.queued = self.frames, [], 0
        return frames


class FakeLoop:
    """Records what the daemon starts and schedules; a test runs it, or not."""

    def __init__(self):
        self.tasks, self.scheduled = [], []

    def create_task(self, coroutine):
        self.tasks.append(coroutine)
        return coroutine

    def call_later(self, delay, fn, *args):
        self.scheduled.append((fn, args))

    def call_soon(self, fn, *args):
        self.scheduled.append((fn, args))

    def run_scheduled(self):
        while self.scheduled:
            fn, args = self.scheduled.pop(0)
            fn(*args)


class AttachPacingTest(unittest.TestCase):
    def setUp(self):
        self.daemon = h.Daemon.__new__(h.Daemon)
        self.daemon.loop = FakeLoop()
        self.session = h.Session("s", "/bin/sh", -1, 1, 80, 24, 2 << 20, "posix")
        self.daemon.sessions = {"s": self.session}
        self.writer = FakeWriter()
        self.client = h.Client(self.writer)
        self.daemon.clients = [self.client]
        self.session.attached, self.client.watch["s"] = self.client, "output"

    def flood(self, total, chunk=h.READ_CHUNK):
        for _ in range(total // chunk): self.daemon.emit_output(self.session, b"y" * (chunk - 1) + b"\n")

    def tearDown(self):
        for task in self.daemon.loop.tasks: task.close()

    def resume(self):
        """Run the wait for the connection to drain, which the fake connection ends at once."""
        with self.assertRaises(StopIteration):
            self.daemon.loop.tasks.pop().send(None)

    def test_output_stops_at_the_high_mark_and_events_do_not_wait_behind_more(self):
        self.flood(8 << 20)
        frames = list(self.writer.frames)
        self.assertLessEqual(sum(len(f["data"]) for f in frames), h.ATTACH_HIGH_WATER + h.READ_CHUNK)
        self.assertEqual([f["offset"] for f in frames], [i * h.READ_CHUNK for i in range(len(frames))])
        self.assertEqual(len(self.daemon.loop.tasks), 1, "one wait for the connection to drain")
        self.daemon.release(self.session, "requested")
        self.assertEqual(self.writer.frames[-1]["ev"], "detached")
        self.assertEqual(len(self.writer.frames), len(frames) + 1)

    def test_a_client_far_behind_skips_ahead_to_a_tail_with_its_modes(self):
        self.daemon.emit_output(self.session, b"\x1b[?1049h")
        self.writer.drained()
        self.flood(6 << 20)
        sent = self.session.sent
        self.writer.drained()
        self.resume()
        self.assertIsNone(self.client.drain)
        resync = self.writer.drained()[0]
        self.assertEqual(resync["ev"], "resync")
        self.assertEqual((resync["start"], resync["end"]), (self.session.end - h.RESYNC_TAIL, self.session.end))
        self.assertEqual(resync["skipped"], resync["start"] - sent)
        self.assertEqual(resync["modes"], {"1049": True})
        self.assertEqual(self.session.sent, self.session.end)

    def test_a_client_a_little_behind_catches_up_in_order_after_draining(self):
        self.flood(1 << 20)
        offsets = [f["offset"] for f in self.writer.drained()]
        self.resume()
        offsets += [f["offset"] for f in self.writer.drained()]
        self.assertEqual(offsets, [i * h.READ_CHUNK for i in range(16)])

    def test_what_is_owed_goes_before_the_exit(self):
        self.flood(1 << 20)
        self.writer.drained()
        self.daemon.notify(self.session, {"ev": "exit", "name": "s", "status": 0})
        frames = self.writer.drained()
        self.assertEqual([f["ev"] for f in frames], ["resync", "exit"])
        self.assertEqual(frames[0]["end"], self.session.end)


class ViewerTest(unittest.TestCase):
    def setUp(self):
        self.daemon = h.Daemon.__new__(h.Daemon)
        self.daemon.loop = FakeLoop()
        self.daemon.lost, self.daemon.recent_exits = {}, {}
        self.session = h.Session("s", "/bin/sh", -1, 1, 80, 24, 2 << 20, "posix")
        self.daemon.sessions = {"s": self.session}
        self.writer = FakeWriter()
        self.client = h.Client(self.writer)
        self.daemon.clients = [self.client]

    def tearDown(self):
        for task in self.daemon.loop.tasks:
            task.close()

    def test_a_viewer_far_behind_redraws_from_a_tail_and_may_not_type(self):
        reply = self.daemon.op_attach(self.client, {"id": 1, "name": "s", "read_only": True})
        self.assertTrue(reply["read_only"])
        self.assertIsNone(self.session.attached, "a viewer is not the interactive client")
        # A first batch goes out and fills the connection to its high mark; it never drains.
        self.daemon.emit_output(self.session, b"x" * 65535 + b"\n")
        self.daemon.loop.run_scheduled()
        self.writer.transport.queued = 1 << 20
        for _ in range(6 << 4):  # then 6 MiB through a 2 MiB buffer
            self.daemon.emit_output(self.session, b"y" * 65535 + b"\n")
        self.daemon.loop.run_scheduled()
        self.writer.drained()  # the connection drains at last
        self.daemon.feed_watcher(self.client, self.client.feeds["s"])
        events = [f["ev"] for f in self.writer.drained()]
        self.assertEqual(events[0], "resync")
        self.assertNotIn("gap", events)
        with self.assertRaises(h.HelperError) as caught:
            self.daemon.op_input(self.client, {"id": 2, "name": "s", "data": b"ls\r"})
        self.assertIn("read-only", caught.exception.args[1])


class InlineLoop(FakeLoop):
    """Runs a task at once, to its end: the searches of InlinePatterns never suspend."""

    class Done:
        def add_done_callback(self, fn):
            fn(self)

    def create_task(self, coroutine):
        try:
            coroutine.send(None)
        except StopIteration:
            return self.Done()
        raise AssertionError("a task suspended")


class InlinePatterns:
    """A PatternWorker that searches in this process."""

    async def search(self, pattern, text, start):
        match = pattern.search(text, start)
        return match and match.span()


class DaemonMatchTest(unittest.TestCase):
    def setUp(self):
        self.daemon = h.Daemon.__new__(h.Daemon)
        self.daemon.loop, self.daemon.patterns, self.daemon.tasks = InlineLoop(), InlinePatterns(), set()
        self.daemon.lost, self.daemon.recent_exits = {}, {}
        self.session = h.Session("s", "/bin/sh", -1, 1, 80, 24, 64 << 10, "posix")
        self.daemon.sessions = {"s": self.session}
        self.writer = FakeWriter()
        self.client = h.Client(self.writer)
        self.daemon.clients = [self.client]

    def subscribe(self, source, since=0):
        self.daemon.op_subscribe(self.client, {"id": 1, "name": "s", "output": False, "since": since,
                                               "match": {"source": source, "flags": ""}})

    def matches(self):
        return [f for f in self.writer.drained() if f.get("ev") == "match"]

    def test_output_is_searched_before_it_leaves_the_buffer_however_late_the_loop_runs(self):
        self.subscribe("(?:^|(?<=[\\n]))needle-\\d+")
        for i in range(256):  # 1 MiB through a 64 KiB buffer, the loop never getting to a batched search
            self.daemon.emit_output(self.session, b"needle-42\n" if i == 128 else b"y" * 4095 + b"\n")
        [match] = self.matches()
        self.assertEqual(match["match"], "needle-42")
        self.assertFalse(match["evicted"])
        self.assertGreaterEqual(match["end"], 128 * 4096 + 10)
        self.assertLess(match["end"], 160 * 4096, "found within a buffer of the needle")
        self.daemon.loop.run_scheduled()
        self.assertEqual(self.matches(), [], "one match is reported, once")

    def test_a_backlog_is_searched_in_steps_that_let_the_loop_run(self):
        self.session.capacity = 16 << 20
        for _ in range(160):
            self.daemon.emit_output(self.session, b"y" * (64 << 10))
        self.daemon.emit_output(self.session, b"needle-7\n")
        self.subscribe("needle-\\d")
        self.assertEqual(self.matches(), [], "the first step searched only MATCH_STEP bytes")
        self.daemon.loop.run_scheduled()
        self.assertEqual([m["match"] for m in self.matches()], ["needle-7"])

    def test_a_pattern_python_refuses_fails_the_request_and_changes_nothing(self):
        self.client.watch["s"] = "output"
        with self.assertRaises(h.HelperError) as caught:
            self.subscribe("(")
        self.assertEqual(caught.exception.args[0], "bad_pattern")
        self.assertEqual(self.client.watch, {"s": "output"})
        self.assertEqual(self.client.matchers, {})


class PatternWorkerTest(unittest.TestCase):
    def setUp(self):
        import asyncio
        self.loop = asyncio.new_event_loop()
        self.addCleanup(self.loop.close)
        self.worker = h.PatternWorker(self.loop)
        self.addCleanup(self.worker.stop)

    def search(self, source, text):
        return self.loop.run_until_complete(self.worker.search(h.re.compile(source), text, 0))

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
        with mock.patch.object(h, "PATTERN_BUDGET_S", 0.5):
            for source, text in [(r"(a+)+$", "a" * 40 + "!"), (r"(a|aa)+$", "a" * 60 + "!"),
                                 (r"(.*a){20}", "a" * 19 + "b" * 20000)]:
                with self.subTest(source=source):
                    ticks.clear()
                    started = time.monotonic()
                    search = self.worker.search(h.re.compile(source), text, 0)
                    slow_pid = self.worker.pid or slow_pid
                    with self.assertRaises(h.HelperError) as caught:
                        self.loop.run_until_complete(search)
                    self.assertEqual(caught.exception.args[0], "pattern_too_slow")
                    self.assertLess(time.monotonic() - started, 2.0)
                    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
                    self.assertGreater(len(gaps), 10)
                    self.assertLess(max(gaps), 0.25, "the loop ran while the pattern was searched")
        self.assertEqual(self.search("ok", "ok"), (0, 2), "a new child searches after one was killed")
        self.loop.run_until_complete(asyncio.sleep(0.05))

    def test_the_daemon_reports_a_search_that_failed_and_forgets_the_matcher(self):
        class SlowPatterns:
            async def search(self, pattern, text, start):
                raise h.HelperError("pattern_too_slow", "too slow")
        test = DaemonMatchTest("test_a_pattern_python_refuses_fails_the_request_and_changes_nothing")
        test.setUp()
        test.daemon.patterns = SlowPatterns()
        test.subscribe("a")
        test.daemon.emit_output(test.session, b"aaa")
        test.daemon.loop.run_scheduled()
        failed = [f for f in test.writer.drained() if f.get("ev") == "match_failed"]
        self.assertEqual([(f["code"], f["message"]) for f in failed], [("pattern_too_slow", "too slow")])
        self.assertEqual(test.client.matchers, {})


class ShellKindTest(unittest.TestCase):
    def test_kinds(self):
        self.assertEqual(h.shell_kind("/bin/bash"), "bash")
        self.assertEqual(h.shell_kind("-zsh"), "zsh")
        self.assertEqual(h.shell_kind("/usr/bin/dash"), "posix")
        self.assertIsNone(h.shell_kind("/usr/bin/fish"))


class ResolveShellTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.shells = os.path.join(self.dir, "shells")
        with open(self.shells, "w") as f:
            f.write("# login shells\n/bin/sh\n%s\n\n" % shutil.which("bash"))

    def refused(self, requested):
        with self.assertRaises(h.HelperError) as caught:
            h.resolve_shell(requested, self.shells)
        return caught.exception.args

    def test_listed_shells_by_path_or_name(self):
        self.assertEqual(h.resolve_shell("/bin/sh", self.shells), "/bin/sh")
        self.assertEqual(h.resolve_shell("bash", self.shells), shutil.which("bash"))

    def test_other_programs_refused(self):
        code, message = self.refused("/usr/bin/mktemp")
        self.assertEqual(code, "bad_shell")
        self.assertIn("lists /bin/sh, ", message)
        self.assertEqual(self.refused("mktemp")[0], "bad_shell")
        self.assertEqual(self.refused("/bin/../bin/sh")[0], "bad_shell")
        self.assertEqual(self.refused("no-such-shell")[0], "bad_shell")

    def test_a_missing_file_lists_what_getusershell_assumes(self):
        self.assertEqual(h.login_shells(os.path.join(self.dir, "absent")), ["/bin/sh", "/bin/csh"])

    def test_the_login_shell_needs_no_listing(self):
        self.assertTrue(os.path.isabs(h.resolve_shell(None, os.path.join(self.dir, "absent"))))



class RegistryTest(unittest.TestCase):
    REGISTRY = {"daemon": {"pid": 41, "started": 1000, "socket": "/run/s"},
                "sessions": [{"name": "a", "shell": "/bin/bash", "pid": 50, "created": 2000}, "junk", {"name": "../x"}],
                "lost": [{"name": "old", "shell": "/bin/sh", "created": 1, "lost_at": 5, "daemon_pid": 7}]}

    def test_a_missing_or_damaged_file_is_an_empty_registry(self):
        empty = {"daemon": {}, "sessions": [], "lost": []}
        for data in (None, b"", b"{", b"\xff", b"[]", b'{"daemon": 1, "sessions": [], "lost": []}'):
            self.assertEqual(h.parse_registry(data), empty, data)

    def test_the_sessions_of_a_dead_daemon_are_lost_with_the_ones_lost_before(self):
        registry = h.parse_registry(json.dumps(self.REGISTRY).encode())
        lost = h.lost_sessions(registry, False, 9000, "x sessh-daemon[41]: fatal: boom")
        self.assertEqual(sorted(lost), ["a", "old"])  # entries with invalid names are dropped
        self.assertEqual(lost["a"], {"name": "a", "shell": "/bin/bash", "created": 2000, "lost_at": 9000,
                                     "daemon_pid": 41, "reason": "x sessh-daemon[41]: fatal: boom"})
        self.assertEqual(lost["old"]["lost_at"], 5)

    def test_the_sessions_of_a_live_daemon_are_not_lost(self):
        self.assertEqual(sorted(h.lost_sessions(h.parse_registry(json.dumps(self.REGISTRY)), True, 9000, None)),
                         ["old"])

    def test_the_message_says_which_daemon_when_and_what_to_do(self):
        message = h.lost_message({"name": "a", "daemon_pid": 41, "lost_at": 1767225600000, "reason": "fatal: boom"})
        self.assertEqual(message, 'Session "a" was lost: the sessh daemon (pid 41) that held it is gone (found at '
                                  "2026-01-01T00:00:00Z; its terminal closed with it; its log ends with: fatal: boom); "
                                  "closing it forgets it, opening it starts a new one")

    def test_list_shows_a_lost_session_with_null_for_what_died(self):
        info = h.lost_info({"name": "a", "shell": "/bin/sh", "created": 2, "lost_at": 5})
        self.assertEqual((info["lost"], info["lost_at"], info["pid"], info["running"]), (True, 5, None, False))

    def test_last_fatal_reads_only_a_fatal_last_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "daemon.log")
            self.assertIsNone(h.last_fatal(path))
            with open(path, "w") as f: f.write("t sessh-daemon[1]: started\nt sessh-daemon[1]: fatal: OSError()\n")
            self.assertEqual(h.last_fatal(path), "t sessh-daemon[1]: fatal: OSError()")
            with open(path, "a") as f: f.write("t sessh-daemon[2]: started\n")
            self.assertIsNone(h.last_fatal(path))


class FileOpsTest(unittest.TestCase):
    """The file requests behind cp without sftp: parts at offsets, home-relative paths, errors by kind."""

    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="sessh-test-")
        self.addCleanup(shutil.rmtree, self.home)
        patcher = mock.patch.dict(os.environ, {"HOME": self.home})
        patcher.start()
        self.addCleanup(patcher.stop)
        self.daemon = h.Daemon.__new__(h.Daemon)

    def call(self, op, **fields):
        return getattr(self.daemon, "op_" + op)(None, fields)

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
        with self.assertRaises(h.HelperError) as caught:  # a part discarded is never committed as an empty file
            self.call("fwrite", path=".t.bin.sessh-part", offset=9, part=True, commit="t.bin")
        self.assertEqual(caught.exception.args[0], "no_file")
        with self.assertRaises(h.HelperError) as caught:
            self.call("fwrite", path=".t.bin.sessh-part", offset=0, data=b"x", truncate=True, part=True, commit="o/t")
        self.assertEqual(caught.exception.args[0], "bad_request")
        self.call("fwrite", path=".t.bin.sessh-part", discard=True)
        self.assertFalse(os.path.exists(part))
        self.call("fwrite", path=".t.bin.sessh-part", discard=True)  # already gone: fine

    def test_a_part_is_never_written_through_a_link(self):
        outside = os.path.join(self.home, "outside")
        with open(outside, "wb") as f:
            f.write(b"keep")
        os.symlink(outside, os.path.join(self.home, ".x.sessh-part"))
        with self.assertRaises(h.HelperError):
            self.call("fwrite", path=".x.sessh-part", offset=0, data=b"evil", truncate=True, part=True)
        with open(outside, "rb") as f:
            self.assertEqual(f.read(), b"keep")

    def test_errors_say_missing_denied_or_what_else(self):
        with self.assertRaises(h.HelperError) as caught:
            self.call("fread", path="absent/file")
        self.assertEqual(caught.exception.args[0], "no_file")
        self.assertIn(os.path.join(self.home, "absent/file"), caught.exception.args[1])
        with self.assertRaises(h.HelperError) as caught:
            self.call("fread", path=self.home)
        self.assertEqual(caught.exception.args[0], "remote")
        self.assertIn("directory", caught.exception.args[1])
        with mock.patch.object(h.os, "open", side_effect=PermissionError(13, "Permission denied")), \
                self.assertRaises(h.HelperError) as caught:  # as a mode would, which root is not held to
            self.call("fwrite", path="denied", data=b"x", truncate=True)
        self.assertEqual(caught.exception.args[0], "file_denied")
        with self.assertRaises(h.HelperError) as caught:
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
        with self.assertRaises(h.HelperError) as caught:
            self.call("fmkdir", path="t/a b.txt")  # a file in the way
        self.assertEqual(caught.exception.args[0], "remote")
        with self.assertRaises(h.HelperError) as caught:
            self.call("flist", path="absent")
        self.assertEqual(caught.exception.args[0], "no_file")

    def umask(self):
        mask = os.umask(0)
        os.umask(mask)
        return mask

    def test_hash_of_a_prefix_in_a_thread(self):
        import asyncio, hashlib
        data = os.urandom(3 << 20)
        with open(os.path.join(self.home, "h.bin"), "wb") as f:
            f.write(data)
        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        self.daemon.loop, writer = loop, FakeWriter()
        client = h.Client(writer)
        for req_id, length in ((1, 2 << 20), (2, 5 << 20)):
            self.daemon.op_fhash(client, {"id": req_id, "path": "h.bin", "length": length})
        self.daemon.op_fhash(client, {"id": 3, "path": "gone.bin", "length": 1})
        loop.run_until_complete(asyncio.sleep(0))
        while len(writer.frames) < 3:
            loop.run_until_complete(asyncio.sleep(0.01))
        replies = {frame["id"]: frame for frame in writer.frames}
        self.assertEqual(replies[1]["sha256"], hashlib.sha256(data[:2 << 20]).hexdigest())
        self.assertEqual((replies[2]["sha256"], replies[2]["length"]), (hashlib.sha256(data).hexdigest(), 3 << 20))
        self.assertEqual((replies[3]["ok"], replies[3]["code"]), (False, "no_file"))


class BridgeTest(unittest.TestCase):
    """The bridge hands ssh's pipes to the daemon; a daemon of an older helper, which knows no handover, answers
    with an error, and the bridge then relays the bytes itself. Both against a stand-in daemon on the socket."""

    def setUp(self):
        import socket
        self.base = tempfile.mkdtemp(prefix="sessh-test-")
        self.addCleanup(shutil.rmtree, self.base)
        os.makedirs(os.path.join(self.base, "run", "sessh"), 0o700)
        os.makedirs(os.path.join(self.base, "state"), 0o700)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(os.path.join(self.base, "run", "sessh", h.SOCKET_NAME))
        self.listener.listen(1)
        self.addCleanup(self.listener.close)
        self.seen, self.thread = {}, None

    def start_daemon(self, knows_handover):
        import socket, struct as st, threading

        def daemon():
            conn = self.listener.accept()[0]
            data, ancillary = conn.recvmsg(1 << 16, socket.CMSG_SPACE(8))[:2]
            self.seen["handover"] = h.unpack(data[4:])
            fds = [fd for _, _, blob in ancillary for fd in st.unpack("2i", blob[:8])]
            if knows_handover:  # answer on the handed-over stdout, then free the bridge
                conn.sendall(h.frame({"id": 0, "ok": True}))
                os.write(fds[1], h.frame({"ev": "through the pipe"}))
                self.seen["request"] = h.unpack(os.read(fds[0], 1 << 16)[4:])
            else:  # an older daemon: the fds are dropped; it answers on the socket and serves there
                conn.sendall(h.frame({"id": 0, "ok": False, "code": "protocol", "message": 'Unknown operation'}))
                self.seen["agent"] = h.unpack(conn.recv(1 << 16)[4:])
                conn.sendall(h.frame({"ev": "through the socket"}))
                self.seen["request"] = h.unpack(conn.recv(1 << 16)[4:])
            for fd in fds:
                os.close(fd)
            conn.close()
        self.thread = threading.Thread(target=daemon)
        self.thread.start()

    def run_bridge(self):
        import subprocess
        env = dict(os.environ, XDG_RUNTIME_DIR=os.path.join(self.base, "run"), XDG_STATE_HOME=os.path.join(self.base, "state"),
                   SSH_AUTH_SOCK="/nonexistent/agent.sock")
        bridge = subprocess.Popen([sys.executable, "-S", h.__file__, "bridge"], env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        self.assertEqual(bridge.stdout.readline(), h.MAGIC)
        size = h.struct.unpack(">I", bridge.stdout.read(4))[0]
        event = h.unpack(bridge.stdout.read(size))
        bridge.stdin.write(h.frame({"op": "ping", "id": 1}))
        bridge.stdin.flush()
        self.thread.join(10)
        bridge.stdin.close()
        self.assertEqual(bridge.wait(10), 0)
        bridge.stdout.close()
        return event

    def test_the_daemon_takes_the_pipes(self):
        self.start_daemon(knows_handover=True)
        self.assertEqual(self.run_bridge(), {"ev": "through the pipe"})
        self.assertEqual(self.seen["handover"], {"op": "handover", "id": 0, "path": "/nonexistent/agent.sock"})
        self.assertEqual(self.seen["request"], {"op": "ping", "id": 1})

    def test_an_older_daemon_gets_the_bytes_relayed(self):
        self.start_daemon(knows_handover=False)
        self.assertEqual(self.run_bridge(), {"ev": "through the socket"})
        self.assertEqual(self.seen["agent"], {"op": "agent", "path": "/nonexistent/agent.sock"})
        self.assertEqual(self.seen["request"], {"op": "ping", "id": 1})


class DaemonArgvTest(unittest.TestCase):
    def test_the_daemon_runs_the_compiled_helper_beside_the_source_and_knows_its_source(self):
        with tempfile.TemporaryDirectory() as cache:
            src = os.path.join(cache, "helper-0123456789abcdef.py")
            pyc = os.path.join(cache, "helper-0123456789abcdef.%s.pyc" % sys.implementation.cache_tag)
            open(src, "w").close()
            with mock.patch.object(h, "__file__", src):
                self.assertEqual(h.daemon_argv(3, "/rt", None)[2:5], [src, "daemon", str(h.PROTOCOL)])
                open(pyc, "w").close()
                self.assertEqual(h.daemon_argv(3, "/rt", None)[2], pyc)
            with mock.patch.object(h, "__file__", pyc):  # the daemon, run from the .pyc
                self.assertEqual(h.source_path(), src)


class CommandFilesTest(unittest.TestCase):
    def test_removes_the_files_of_one_session_only(self):
        with tempfile.TemporaryDirectory() as rt:
            os.mkdir(os.path.join(rt, "cmd"))
            names = ["a.1.sh", "a.22.sh", "a.1.5.sh", "ab.1.sh", "a.x.sh", "a.3.sh.99.tmp"]
            for name in names: open(os.path.join(rt, "cmd", name), "w").close()
            h.remove_command_files(rt, "a")
            self.assertEqual(sorted(os.listdir(os.path.join(rt, "cmd"))), ["a.1.5.sh", "a.3.sh.99.tmp", "a.x.sh",
                                                                            "ab.1.sh"])


class DirectoriesTest(unittest.TestCase):
    def setUp(self):
        self.base = tempfile.mkdtemp(prefix="sessh-test-")
        self.addCleanup(shutil.rmtree, self.base)

    def test_private_dir_creates_0700_and_refuses_symlinks_and_open_modes(self):
        path = os.path.join(self.base, "p")
        self.assertTrue(h.private_dir(path))
        self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o700)
        os.symlink(path, os.path.join(self.base, "link"))
        self.assertFalse(h.private_dir(os.path.join(self.base, "link")))
        os.chmod(path, 0o755)
        self.assertFalse(h.private_dir(path))

    def test_state_dir_is_per_host_under_xdg_state_home(self):
        with mock.patch.dict(os.environ, {"XDG_STATE_HOME": self.base}), \
                mock.patch.object(h.socket, "gethostname", return_value="box-1.example.org"):
            self.assertEqual(h.state_dir(), os.path.join(self.base, "sessh", "box-1"))
        self.assertEqual(stat.S_IMODE(os.lstat(os.path.join(self.base, "sessh")).st_mode), 0o700)

    def test_state_dir_refuses_a_base_others_can_write_to(self):
        os.chmod(self.base, 0o777)
        with mock.patch.dict(os.environ, {"XDG_STATE_HOME": self.base}):
            self.assertIsNone(h.state_dir())

    def test_state_dir_checks_each_component_under_home(self):
        os.symlink("/tmp", os.path.join(self.base, ".local"))
        with mock.patch.dict(os.environ, {"HOME": self.base}):
            os.environ.pop("XDG_STATE_HOME", None)
            self.assertIsNone(h.state_dir())

    def test_runtime_dir_is_the_state_dir_when_a_socket_path_fits(self):
        state = os.path.join(self.base, "state")
        os.mkdir(state, 0o700)
        with mock.patch.dict(os.environ):
            os.environ.pop("XDG_RUNTIME_DIR", None)
            self.assertEqual(h.runtime_dir(state), state)
        self.assertTrue(all(os.path.isdir(os.path.join(state, d)) for d in ("shell", "cmd", "bin")))
        self.assertTrue(h.socket_fits("/" + "d" * 85))
        self.assertFalse(h.socket_fits("/" + "d" * 86))

    def test_make_private_dirs_re_creates_removed_parents(self):
        path = os.path.join(self.base, "a", "b", "c")
        self.assertTrue(h.make_private_dirs(path))
        self.assertEqual(stat.S_IMODE(os.lstat(os.path.join(self.base, "a")).st_mode), 0o700)

    def test_open_dir_checks_the_directory_and_every_one_above_it_by_descriptor(self):
        shared = os.path.join(self.base, "shared")
        os.mkdir(shared)
        mine = os.path.join(shared, "mine")
        os.mkdir(mine, 0o700)
        fd = h.open_dir(mine)
        self.assertIsInstance(fd, int)
        self.assertTrue(os.path.samestat(os.fstat(fd), os.stat(mine)))
        os.close(fd)
        os.chmod(shared, 0o777)  # anyone may rename mine and put another in its place
        self.assertRegex(h.open_dir(mine), r"shared \(uid \d+, mode 777\) lets others replace")
        self.assertFalse(h.private_dir(mine))
        os.chmod(shared, 0o1777)  # sticky, as /tmp: only mine's owner may rename it
        self.assertTrue(h.private_dir(mine))
        os.chmod(mine, 0o770)
        self.assertRegex(h.open_dir(mine), "mode 770")
        os.chmod(mine, 0o700)
        os.symlink(mine, os.path.join(shared, "link"))
        self.assertIsInstance(h.open_dir(os.path.join(shared, "link")), str)

    def test_files_are_written_through_a_checked_descriptor_of_their_directory(self):
        shared = os.path.join(self.base, "shared")
        os.mkdir(shared)
        mine = os.path.join(shared, "mine")
        os.mkdir(mine, 0o700)
        outside = os.path.join(self.base, "outside")
        os.symlink(outside, os.path.join(mine, "registry"))
        h.write_private_file(os.path.join(mine, "registry"), b"data")
        self.assertFalse(os.path.lexists(outside), "the link at the target is replaced, not written through")
        self.assertEqual(h.read_file(os.path.join(mine, "registry")), b"data")
        os.chmod(shared, 0o777)
        with self.assertRaisesRegex(PermissionError, "lets others replace"):
            h.write_private_file(os.path.join(mine, "registry"), b"other")
        with self.assertRaisesRegex(PermissionError, "lets others replace"):
            h.open_log(mine)
        self.assertEqual(h.read_file(os.path.join(mine, "registry")), b"data")

    @unittest.skipUnless(os.getuid() == 0, "needs root to give a directory to another user")
    def test_open_dir_refuses_a_directory_of_another_user_and_one_under_it(self):
        theirs = os.path.join(self.base, "theirs")
        os.mkdir(theirs, 0o755)
        os.mkdir(os.path.join(theirs, "mine"), 0o700)
        os.chown(theirs, 65534, 65534)
        self.assertRegex(h.open_dir(theirs), "owned by uid 65534")
        self.assertRegex(h.open_dir(os.path.join(theirs, "mine")), "theirs \\(uid 65534, mode 755\\)")

    def test_an_xdg_runtime_dir_others_can_change_is_passed_over_with_the_reason(self):
        state = os.path.join(self.base, "state")
        os.mkdir(state, 0o700)
        runtime = os.path.join(self.base, "run")
        os.mkdir(runtime, 0o700)
        with mock.patch.dict(os.environ, {"XDG_RUNTIME_DIR": runtime}):
            self.assertEqual(h.runtime_base(), (runtime, None))
            self.assertEqual(h.runtime_dir(state), os.path.join(runtime, "sessh"))
            os.chmod(runtime, 0o777)
            base, why = h.runtime_base()
            self.assertIsNone(base)
            self.assertIn("XDG_RUNTIME_DIR=%s is not a private directory" % runtime, why)
            self.assertEqual(h.runtime_dir(state), state)

    def test_the_bridge_learns_the_uid_behind_the_daemon_socket(self):
        path = os.path.join(self.base, "d.sock")
        listener = h.listen_at(path)
        self.addCleanup(listener.close)
        sock = h._try_connect(path)
        self.addCleanup(sock.close)
        self.assertEqual(h.peer_uid(sock, path), os.getuid())
        # Without SO_PEERCRED (the BSDs, macOS): the socket file's owner.
        with mock.patch.object(h.socket, "SO_PEERCRED", None, create=True):
            delattr(h.socket, "SO_PEERCRED")
            self.assertEqual(h.peer_uid(sock, path), os.getuid())
        with mock.patch.object(h, "peer_uid", return_value=65534), self.assertRaises(SystemExit) as caught, \
                mock.patch.object(h.sys, "stderr"):
            h._try_connect(path)
        self.assertEqual(caught.exception.code, h.EXIT_UNSAFE_RUNTIME_DIR)


if __name__ == "__main__":
    unittest.main()
