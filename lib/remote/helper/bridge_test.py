"""Unit tests of bridge.py: python3 -m unittest discover -s lib/remote/helper -p '*_test.py'."""

import os
import socket
import struct
import sys
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bridge  # noqa: E402
from bridge import _try_connect, peer_uid  # noqa: E402
from files import listen_at  # noqa: E402
from framing import frame, unpack  # noqa: E402
from protocol import EXIT_UNSAFE_RUNTIME_DIR, MAGIC, SOCKET_NAME  # noqa: E402
from testing import temp_dir  # noqa: E402

class BridgeTest(unittest.TestCase):
    """The bridge hands ssh's pipes to the daemon; a daemon of an older helper, which knows no handover, answers
    with an error, and the bridge then relays the bytes itself. Both against a stand-in daemon on the socket."""

    def setUp(self):
        import socket
        self.base = temp_dir(self)
        os.makedirs(os.path.join(self.base, "run", "sessh"), 0o700)
        os.makedirs(os.path.join(self.base, "state"), 0o700)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(os.path.join(self.base, "run", "sessh", SOCKET_NAME))
        self.listener.listen(1)
        self.addCleanup(self.listener.close)
        self.seen, self.thread = {}, None

    def start_daemon(self, knows_handover):
        import socket, struct as st, threading

        def daemon():
            conn = self.listener.accept()[0]
            data, ancillary = conn.recvmsg(1 << 16, socket.CMSG_SPACE(8))[:2]
            self.seen["handover"] = unpack(data[4:])
            fds = [fd for _, _, blob in ancillary for fd in st.unpack("2i", blob[:8])]
            if knows_handover:  # answer on the handed-over stdout, then free the bridge
                conn.sendall(frame({"id": 0, "ok": True}))
                os.write(fds[1], frame({"ev": "through the pipe"}))
                self.seen["request"] = unpack(os.read(fds[0], 1 << 16)[4:])
            else:  # an older daemon: the fds are dropped; it answers on the socket and serves there
                conn.sendall(frame({"id": 0, "ok": False, "code": "protocol", "message": 'Unknown operation'}))
                self.seen["agent"] = unpack(conn.recv(1 << 16)[4:])
                conn.sendall(frame({"ev": "through the socket"}))
                self.seen["request"] = unpack(conn.recv(1 << 16)[4:])
            for fd in fds:
                os.close(fd)
            conn.close()
        self.thread = threading.Thread(target=daemon)
        self.thread.start()

    def run_bridge(self):
        import subprocess
        env = dict(os.environ, XDG_RUNTIME_DIR=os.path.join(self.base, "run"), XDG_STATE_HOME=os.path.join(self.base, "state"),
                   SSH_AUTH_SOCK="/nonexistent/agent.sock")
        bridge = subprocess.Popen([sys.executable, "-S", HERE, "bridge"], env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        self.assertEqual(bridge.stdout.readline(), MAGIC)
        size = struct.unpack(">I", bridge.stdout.read(4))[0]
        event = unpack(bridge.stdout.read(size))
        bridge.stdin.write(frame({"op": "ping", "id": 1}))
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


class PeerUidTest(unittest.TestCase):
    def setUp(self):
        self.base = temp_dir(self)

    def test_the_bridge_learns_the_uid_behind_the_daemon_socket(self):
        path = os.path.join(self.base, "d.sock")
        listener = listen_at(path)
        self.addCleanup(listener.close)
        sock = _try_connect(path)
        self.addCleanup(sock.close)
        self.assertEqual(peer_uid(sock, path), os.getuid())
        # Without SO_PEERCRED (the BSDs, macOS): the socket file's owner.
        with mock.patch.object(socket, "SO_PEERCRED", None, create=True):
            delattr(socket, "SO_PEERCRED")
            self.assertEqual(peer_uid(sock, path), os.getuid())
        with mock.patch.object(bridge, "peer_uid", return_value=65534), self.assertRaises(SystemExit) as caught, \
                mock.patch.object(sys, "stderr"):
            _try_connect(path)
        self.assertEqual(caught.exception.code, EXIT_UNSAFE_RUNTIME_DIR)


if __name__ == "__main__":
    unittest.main()
