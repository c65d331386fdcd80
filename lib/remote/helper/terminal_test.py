"""Unit tests of terminal.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from daemon import OPS  # noqa: E402
from errors import HelperError  # noqa: E402
from protocol import ATTACH_HIGH_WATER, READ_CHUNK, RESYNC_TAIL  # noqa: E402
from testing import FakeLoop, InlineLoop, InlinePatterns, bare_daemon  # noqa: E402

class AttachPacingTest(unittest.TestCase):
    def setUp(self):
        bare_daemon(self, FakeLoop())
        self.session.attached, self.client.watch["s"] = self.client, "output"

    def flood(self, total, chunk=READ_CHUNK):
        for _ in range(total // chunk): self.daemon.emit_output(self.session, b"y" * (chunk - 1) + b"\n")

    def resume(self):
        """Run the wait for the connection to drain, which the fake connection ends at once."""
        with self.assertRaises(StopIteration):
            self.daemon.loop.tasks.pop().send(None)

    def test_output_stops_at_the_high_mark_and_events_do_not_wait_behind_more(self):
        self.flood(8 << 20)
        frames = list(self.writer.frames)
        self.assertLessEqual(sum(len(f["data"]) for f in frames), ATTACH_HIGH_WATER + READ_CHUNK)
        self.assertEqual([f["offset"] for f in frames], [i * READ_CHUNK for i in range(len(frames))])
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
        self.assertEqual((resync["start"], resync["end"]), (self.session.end - RESYNC_TAIL, self.session.end))
        self.assertEqual(resync["skipped"], resync["start"] - sent)
        self.assertEqual(resync["modes"], {"1049": True})
        self.assertEqual(self.session.sent, self.session.end)

    def test_a_client_a_little_behind_catches_up_in_order_after_draining(self):
        self.flood(1 << 20)
        offsets = [f["offset"] for f in self.writer.drained()]
        self.resume()
        offsets += [f["offset"] for f in self.writer.drained()]
        self.assertEqual(offsets, [i * READ_CHUNK for i in range(16)])

    def test_what_is_owed_goes_before_the_exit(self):
        self.flood(1 << 20)
        self.writer.drained()
        self.daemon.notify(self.session, {"ev": "exit", "name": "s", "status": 0})
        frames = self.writer.drained()
        self.assertEqual([f["ev"] for f in frames], ["resync", "exit"])
        self.assertEqual(frames[0]["end"], self.session.end)


class DaemonMatchTest(unittest.TestCase):
    def setUp(self):
        bare_daemon(self, InlineLoop(), 64 << 10)
        self.daemon.patterns = InlinePatterns()

    def subscribe(self, source, since=0):
        OPS["subscribe"](self.daemon, self.client, {"id": 1, "name": "s", "output": False, "since": since,
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
        with self.assertRaises(HelperError) as caught:
            self.subscribe("(")
        self.assertEqual(caught.exception.args[0], "bad_pattern")
        self.assertEqual(self.client.watch, {"s": "output"})
        self.assertEqual(self.client.matchers, {})

    def test_the_daemon_reports_a_search_that_failed_and_forgets_the_matcher(self):
        class SlowPatterns:
            async def search(self, pattern, text, start):
                raise HelperError("pattern_too_slow", "too slow")
        test = self
        test.daemon.patterns = SlowPatterns()
        test.subscribe("a")
        test.daemon.emit_output(test.session, b"aaa")
        test.daemon.loop.run_scheduled()
        failed = [f for f in test.writer.drained() if f.get("ev") == "match_failed"]
        self.assertEqual([(f["code"], f["message"]) for f in failed], [("pattern_too_slow", "too slow")])
        self.assertEqual(test.client.matchers, {})


class PromptMarkerTest(unittest.TestCase):
    def setUp(self):
        bare_daemon(self, InlineLoop())
        self.daemon.patterns = InlinePatterns()

    def test_the_prompt_sets_the_cwd_and_records_background_jobs(self):
        self.daemon.process_output(self.session, b"\x1b]6973;W;8;/tmp/a b\x07\x1b]6973;B;4242\x07$ ")
        self.assertEqual((self.session.cwd, self.session.jobs), ("/tmp/a b", {4242}))
        self.daemon.process_output(self.session, b"\x1b]6973;W;3;/tmp\x07\x1b]6973;B;0\x07\x1b]6973;B;x\x07")
        self.assertEqual((self.session.cwd, self.session.jobs), (None, {4242}))  # a cut path; zsh's 0; junk

    def test_a_run_asked_for_between_the_hooks_and_the_first_prompt_is_typed_after_that_prompt(self):
        # bash: its hooks print I, then the first prompt's hook prints P; a read may end between the two (zsh's
        # hooks print I from its .zshenv, before its zshrc). Typed ahead, the command was ended by that first P,
        # with the start-up's status and its own echo for output.
        self.session.kind = "bash"
        typed, done = [], []
        self.daemon.write_pty = lambda session, data, waiter=None: typed.append(data)
        self.daemon.report_done = lambda session, run, **fields: done.append((run["seq"], fields.get("exit")))
        self.daemon.run_seq, self.daemon.ended = 0, {}
        self.daemon.process_output(self.session, b"\x1b]6973;I;preexec\x07")
        OPS["run"](self.daemon, self.client, {"name": "s", "command": b"echo hi", "id": 1})
        self.daemon.process_output(self.session, b"\x1b]6973;P;1\x07$ ")  # the start-up's own status
        self.assertEqual((typed, done), ([b"\x15echo hi\r"], []))
        self.daemon.process_output(self.session, b"echo hi\r\n\x1b]6973;C\x07hi\r\n\x1b]6973;P;0\x07$ ")
        self.assertEqual(done, [(1, 0)])

    def test_a_run_clears_the_line_only_when_something_may_be_typed_on_it(self):
        self.session.kind = "bash"
        read_end, self.session.fd = os.pipe()
        self.addCleanup(os.close, read_end)
        self.addCleanup(os.close, self.session.fd)
        self.daemon.run_seq, self.daemon.ended = 0, {}
        prompt = b"\x1b]6973;P;0\x07$ "
        self.daemon.process_output(self.session, b"\x1b]6973;I;preexec\x07" + prompt)

        def run(command):
            OPS["run"](self.daemon, self.client, {"name": "s", "command": command, "id": 1})
            self.daemon.process_output(self.session, command + b"\r\n\x1b]6973;C\x07" + prompt)
            return os.read(read_end, 100)

        self.assertEqual(run(b"true"), b"\x15true\r", "the first prompt's line may hold what start-up typed")
        self.assertEqual(run(b"true"), b"true\r", "a run's line ended with its Enter, and nothing was typed since")
        OPS["input"](self.daemon, self.client, {"name": "s", "data": b"ls", "id": 2})
        self.assertEqual(os.read(read_end, 100), b"ls")
        self.assertEqual(run(b"true"), b"\x15true\r", "keys typed since")


if __name__ == "__main__":
    unittest.main()
