"""Unit tests of daemon.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import signal
import subprocess
import sys
import time
import unittest
import unittest.mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import daemon  # noqa: E402
from daemon import OPS, Daemon  # noqa: E402
from files import or_none  # noqa: E402
from framing import pack, unpack  # noqa: E402
from protocol import PIPE_SIZE, WIDE_PIPES_MAX  # noqa: E402
from registry import running  # noqa: E402
from testing import FakeLoop, bare_daemon  # noqa: E402


class OpsTest(unittest.TestCase):
    def test_one_table_names_every_operation(self):
        self.assertEqual(sorted(OPS), sorted([
            "hello", "open", "info", "list", "input", "secret", "resize", "run", "reset", "close", "ping", "agent",
            "read", "subscribe", "unsubscribe", "history", "result", "timeline", "attach", "detach",
            "fstat", "fread", "fwrite", "fmkdir", "flist", "fhash"]))
        self.assertEqual([name for name in dir(Daemon) if name.startswith("op_")], [])


class SignalSessionTest(unittest.TestCase):
    # A session leader and its background job, in a process group of its own as job control makes it.
    LEADER = ("import os, sys, time\npid = os.fork()\nif pid == 0:\n    os.setpgid(0, 0)\n    time.sleep(30)\n"
              "    os._exit(0)\nprint(pid, flush=True)\ntime.sleep(30)\n")

    def test_without_procfs_the_reported_jobs_still_in_the_session_are_signalled(self):
        bare_daemon(self, FakeLoop())
        self.daemon.procfs = False
        leader = subprocess.Popen([sys.executable, "-c", self.LEADER], start_new_session=True, stdout=subprocess.PIPE)
        outsider = subprocess.Popen(["sleep", "30"], start_new_session=True)
        with leader, outsider:
            job = int(leader.stdout.readline())
            try:
                while os.getpgid(job) != job:
                    time.sleep(0.01)
                self.session.pid, self.session.jobs = leader.pid, {job, outsider.pid}
                self.daemon.signal_session(self.session, signal.SIGTERM)
                self.assertEqual(leader.wait(5), -signal.SIGTERM)
                deadline = time.time() + 5
                while running(job) and time.time() < deadline:
                    time.sleep(0.02)  # a zombie until init reaps it
                self.assertFalse(running(job), "the job in the session got the signal")
                self.assertIsNone(outsider.poll(), "a reported pid of another session is left alone")
            finally:
                for pid in (job, outsider.pid, leader.pid):
                    or_none(os.kill, pid, signal.SIGKILL)

    def test_a_terminal_without_a_foreground_group_never_signals_the_daemons_own_group(self):
        # The escalating SIGKILL after a close: the shell died, and the terminal's foreground group reads as 0.
        bare_daemon(self, FakeLoop())
        self.daemon.procfs = False
        master, slave = os.openpty()
        shell = subprocess.Popen(["sleep", "30"], start_new_session=True)
        signalled = []
        real_killpg = os.killpg

        def killpg(group, sig):
            signalled.append(group)
            if group not in (0, os.getpgrp()):
                real_killpg(group, sig)
        with shell, unittest.mock.patch("os.killpg", killpg):
            try:
                self.session.fd, self.session.pid, self.session.jobs = master, shell.pid, set()
                self.daemon.signal_session(self.session, signal.SIGKILL)
                self.assertEqual(shell.wait(5), -signal.SIGKILL)
                self.assertEqual(signalled, [shell.pid])
            finally:
                or_none(os.kill, shell.pid, signal.SIGKILL)
                os.close(master)
                os.close(slave)


@unittest.skipUnless(sys.platform.startswith("linux"), "pipe sizes are Linux's")
class ServeChannelTest(unittest.TestCase):
    def handover(self, loop):
        """Hands the bare daemon a channel over two pipes; returns their ends kept here, the pipes' default size,
        the channel's client and the task serving it."""
        import asyncio, fcntl, socket
        (r_in, w_in), (r_out, w_out) = os.pipe(), os.pipe()
        default = fcntl.fcntl(w_in, 1032)
        conn, bridge = socket.socketpair()
        self.addCleanup(bridge.close)
        task = loop.create_task(self.daemon.serve_channel(conn, [r_in, w_out], {"op": "handover", "id": 1}))
        bridge.setblocking(False)
        reply = loop.run_until_complete(asyncio.wait_for(loop.sock_recv(bridge, 64), 5))
        self.assertEqual(unpack(reply[4:]), {"id": 1, "ok": True})
        return w_in, r_out, default, self.daemon.clients[-1], task

    def end(self, loop, w_in, r_out, task):
        """Ends the channel as ssh would: its input closed, its output read to the end."""
        import asyncio
        os.close(w_in)  # the daemon drops the client and closes its side once its output went out
        drained = loop.run_in_executor(None, lambda: [None for _ in iter(lambda: os.read(r_out, 1 << 16), b"")])
        loop.run_until_complete(asyncio.wait_for(asyncio.gather(task, drained), 5))
        os.close(r_out)

    def test_a_channel_output_pipe_is_widened_to_pipe_size_once_a_write_finds_it_full(self):
        import asyncio, fcntl
        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        bare_daemon(self, loop)
        w_in, r_out, default, client, task = self.handover(loop)
        client.reply(2, data=b"x" * 1000)  # fits: an idle or chatty channel leaves the shared budget alone
        loop.run_until_complete(asyncio.sleep(0))
        self.assertEqual([fcntl.fcntl(fd, 1032) for fd in (w_in, r_out)], [default, default])
        self.assertEqual(self.daemon.wide_pipes, 0)
        client.reply(3, data=b"x" * (default + 1))  # F_GETPIPE_SZ: the output's pipe widened, the input's not
        self.assertEqual([fcntl.fcntl(fd, 1032) for fd in (w_in, r_out)], [default, PIPE_SIZE])
        self.assertEqual(self.daemon.wide_pipes, 1)
        self.end(loop, w_in, r_out, task)
        self.assertEqual(self.daemon.wide_pipes, 0)

    def test_channels_past_the_limit_keep_their_pipes_as_they_are(self):
        import asyncio, fcntl
        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        bare_daemon(self, loop)
        self.daemon.wide_pipes = WIDE_PIPES_MAX
        w_in, r_out, default, client, task = self.handover(loop)
        client.reply(2, data=b"x" * (default + 1))
        self.assertEqual(fcntl.fcntl(r_out, 1032), default)
        self.end(loop, w_in, r_out, task)
        self.assertEqual(self.daemon.wide_pipes, WIDE_PIPES_MAX)


class HandleFrameTest(unittest.TestCase):
    def setUp(self):
        bare_daemon(self, FakeLoop())

    def ask(self, msg):
        self.daemon.handle_frame(self.client, pack(msg))
        return self.writer.drained()

    def test_a_known_operation_is_answered_under_its_request_id(self):
        self.assertEqual(self.ask({"op": "ping", "id": 5}), [{"id": 5, "ok": True}])

    def test_unknown_operations_and_frames_that_are_no_map_are_protocol_errors(self):
        for msg in [{"op": "op_ping", "id": 1}, {"op": ["ping"], "id": 1}, {"op": "__init__", "id": 1}, [1]]:
            reply = self.ask(msg)
            self.assertEqual([r["code"] for r in reply], ["protocol"], msg)
        self.daemon.handle_frame(self.client, b"\xc1")
        self.assertEqual(self.writer.drained()[0]["code"], "protocol")

    def test_a_handler_that_breaks_fails_its_request_with_remote_and_the_daemon_goes_on(self):
        def broken(d, client, msg):
            raise KeyError("boom")
        OPS["broken"] = broken
        self.addCleanup(OPS.pop, "broken")
        with unittest.mock.patch.object(daemon, "log"):
            reply = self.ask({"op": "broken", "id": 2})
        self.assertEqual((reply[0]["id"], reply[0]["code"]), (2, "remote"))
        self.assertEqual(self.ask({"op": "ping", "id": 3}), [{"id": 3, "ok": True}])


if __name__ == "__main__":
    unittest.main()
