"""The daemon: owns every session of the user and serves connections on one asyncio event loop. OPS names every
operation a client may ask for; the handlers live in session_ops, watch_ops and file_ops."""

import os, signal, socket, struct, sys, time
from contextlib import suppress

import file_ops
import session_ops
import watch_ops
from client import Client
from errors import HelperError, log
from fields import checked_name, clamp
from files import (listen_at, make_private_dirs, open_log, or_none, private_dir, read_file, remove_command_files,
    runtime_base, widen_pipe, write_private_file)
from framing import frame, split_frames, unpack
from inbound import Inbound
from integration import install_integration, integration_env, shell_kind
from matching import PatternWorker
from protocol import (AGENT_ENV, CLIENT_QUEUE_LIMIT, CLOSE_GRACE_MS, DAEMON_IDLE_EXIT, DEFAULT_BUFFER, ERR_NO_SESSION,
    ERR_PROTOCOL, ERR_REMOTE, ERR_SESSION_EXITED, ERR_SESSION_LOST, MAX_BUFFER, MAX_FRAME, PROTOCOL, READ_CHUNK,
    PID_NAME, REGISTRY_NAME, SOCKET_NAME, WIDE_PIPES_MAX)
from procfs import proc_daemons, proc_session_members, procfs_available
from registry import (helper_dir, hold_pid_file, last_fatal, lost_message, lost_sessions, parse_registry, pid_dirs,
    running)
from sessions import ENDED_KEEP, ENDED_MAX, Session, motd_text, resolve_shell, spawn_shell
from terminal import Terminal

DROP_ENV = ("SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY", "SSH_ORIGINAL_COMMAND", "SSH_AUTH_SOCK", "SESSH_NO_PROCFS")

# Every operation a client may ask for: its name -> handler(daemon, client, msg).
OPS = {**session_ops.OPS, **watch_ops.OPS, **file_ops.OPS}


class Daemon(Terminal):
    """Owns every session of the user; serves bridge connections on one asyncio event loop."""

    def __init__(self, listener, rt, state):
        self.listener, self.rt, self.loop, self.run_seq = listener, rt, None, 0
        self.patterns = None  # the PatternWorker, once the loop runs
        self.sessions, self.clients, self.recent_exits, self.tasks = {}, [], {}, set()
        self.wide_pipes = 0  # handed-over channels served on a widened pipe, at most WIDE_PIPES_MAX
        self.ended = {}  # name -> a session closed for idleness: its history and last output, to read
        self.socket_path, self.server, self.bound = os.path.join(rt, SOCKET_NAME), None, None
        # The log and the registry live in the state dir when there is one: tmp cleaners and logout leave it alone.
        self.state, self.started = state or rt, time.time()
        self.registry = os.path.join(self.state, REGISTRY_NAME)
        # The loader names the directory after the hash of what it unpacked, checked: helper-HASH.
        self.hash = os.path.basename(helper_dir()).rpartition("-")[2]
        self.base_env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
        self.procfs = procfs_available()  # read at start: the daemon keeps it, whatever later calls ask
        self.pid_files = {}  # directory -> the descriptor whose lock says this daemon lives
        self.keep_pid_files()
        self.install_files()
        self.lost = self.load_lost()
        self.save_registry()

    def install_files(self):
        self.scripts = install_integration(self.rt)
        # `sessh detach` and `sessh list` inside sessions, without Deno on this host.
        shim = "#!/bin/sh\nexec '%s' '%s' \"$@\"\n" % (sys.executable, helper_dir())
        write_private_file(os.path.join(self.rt, "bin", "sessh"), shim.encode(), 0o700)

    def load_lost(self):
        """The sessions of a daemon that died before they ended are lost: kept, so that calls can say so."""
        registry = parse_registry(read_file(self.registry))
        pid = registry["daemon"].get("pid")
        # We hold the pid files: the registry's daemon is dead, unless its files were removed (procfs tells).
        alive = (isinstance(pid, int) and pid != os.getpid() and self.procfs and running(pid)
                 and pid in dict(proc_daemons(os.getuid(), PID_NAME)))
        if alive:
            log("daemon %d of %s still runs; its sessions are left to it" % (pid, self.registry))
        lost = lost_sessions(registry, alive, int(time.time() * 1000), last_fatal(os.path.join(self.state, "daemon.log")))
        for name in lost:
            remove_command_files(self.rt, name)
        return lost

    def keep_pid_files(self, strict=True):
        """Hold the pid files, re-made where removed; at start (`strict`), one another daemon holds ends this one."""
        for directory in pid_dirs(self.rt, None if self.state == self.rt else self.state):
            path, fd = os.path.join(directory, PID_NAME), self.pid_files.get(directory)
            if fd is not None and getattr(or_none(os.stat, path), "st_ino", None) == os.fstat(fd).st_ino:
                continue
            try:
                self.pid_files[directory] = hold_pid_file(directory, self.rt)
            except OSError as exc:
                if strict:
                    raise
                log("cannot re-create %s: %s" % (path, exc))
                continue
            if fd is not None:
                os.close(fd)

    def save_registry(self):
        """Record the sessions where the next daemon finds them, should this one die before they end."""
        import json
        sessions = [{"name": s.name, "shell": s.shell, "pid": s.pid, "created": int(s.created * 1000)}
                    for s in self.sessions.values()]
        daemon = {"pid": os.getpid(), "started": int(self.started * 1000), "socket": self.socket_path}
        data = json.dumps({"daemon": daemon, "sessions": sessions, "lost": list(self.lost.values())})
        try:
            write_private_file(self.registry, data.encode())
        except OSError as exc:
            log("cannot write %s: %s" % (self.registry, exc))

    def forget_lost(self, name):
        if self.lost.pop(name, None) is None:
            return
        remove_command_files(self.rt, name)
        self.save_registry()

    def run(self):
        import asyncio  # here, not at the top: it would slow down every bridge, and only the daemon needs it
        self.loop = asyncio.new_event_loop()
        self.patterns = PatternWorker(self.loop)
        self.loop.add_signal_handler(signal.SIGCHLD, self.reap_children)
        self.loop.add_signal_handler(signal.SIGUSR1, self.keep_files, "a bridge found no socket")
        for sig in (signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_IGN)
        self.listen(self.listener)
        # At exit, the path is left alone if another socket took it.
        self.bound = getattr(or_none(os.stat, self.socket_path), "st_ino", None)
        self.housekeep(time.time())
        self.loop.run_forever()
        with suppress(OSError):
            if os.stat(self.socket_path).st_ino == self.bound:
                os.unlink(self.socket_path)

    def housekeep(self, idle_since):
        """Every 5 s: re-create removed files; exit after a minute without sessions or clients."""
        self.keep_files("5 s check")
        if self.sessions or self.clients:
            idle_since = time.time()
        if time.time() - idle_since > DAEMON_IDLE_EXIT:
            self.loop.stop()
        self.loop.call_later(5.0, self.housekeep, idle_since)

    def keep_files(self, trigger):
        """Re-create what a tmp cleaner or an rm -rf removed, as tmux does: the socket, so that the sessions stay
        reachable, and the registry, so that a later daemon still learns of them. Another file in the socket's
        place is left alone."""
        if not os.path.exists(self.registry):
            with suppress(OSError):
                self.restore_state()  # failing, it still leaves the socket to be re-created
        try:
            if os.path.lexists(self.socket_path):
                return
            dirs = [os.path.join(self.rt, d) for d in ("shell", "cmd", "bin")]
            if not make_private_dirs(self.rt) or not all(map(private_dir, dirs)):
                raise OSError("not a private dir")
            self.install_files()
            self.point_agent()
            listener = listen_at(self.socket_path)
        except OSError as exc:
            log("cannot re-create %s: %s" % (self.socket_path, exc))
            return
        finally:
            self.keep_pid_files(strict=False)  # once the directories are back
        self.bound = os.stat(self.socket_path).st_ino
        self.serve_on(listener, trigger)

    def restore_state(self):
        make_private_dirs(self.state)
        log_fd = open_log(self.state)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        self.save_registry()
        if os.path.basename(self.rt).startswith("sessh-%d-" % os.getuid()):  # see tmp_runtime_dir
            write_private_file(os.path.join(self.state, "runtime-dir"), self.rt.encode())

    def serve_on(self, listener, trigger):
        old = self.server
        self.listen(listener)
        self.loop.remove_reader(old.fileno())
        old.close()  # it stops listening; its connections stay
        log("listening again on %s (%s)" % (self.socket_path, trigger))

    def listen(self, listener):
        self.server = listener
        listener.setblocking(False)
        self.loop.add_reader(listener.fileno(), self.accept, listener)

    def accept(self, listener):
        try:
            conn = listener.accept()[0]
        except OSError:  # another wake-up took it
            return
        uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
        if uid != os.getuid():
            log("refused connection from uid %d" % uid)
            conn.close()
            return
        conn.setblocking(False)
        self.loop.add_reader(conn.fileno(), self.greet, conn)

    def greet(self, conn):
        """The first bytes of a connection: a bridge handing over its ssh channel (a frame with its stdin and
        stdout), or a client that speaks on the socket itself."""
        self.loop.remove_reader(conn.fileno())
        try:
            data, ancillary = conn.recvmsg(READ_CHUNK, socket.CMSG_SPACE(8))[:2]
        except BlockingIOError:
            self.loop.add_reader(conn.fileno(), self.greet, conn)
            return
        except OSError:
            data, ancillary = b"", []
        fds = []
        for level, kind, blob in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds += struct.unpack("%di" % (len(blob) // 4), blob[:len(blob) // 4 * 4])
        frames = split_frames(bytearray(data)) if len(fds) == 2 else []
        msg = or_none(unpack, frames[0]) if frames else None
        if isinstance(msg, dict) and msg.get("op") == "handover":
            self.keep(self.serve_channel(conn, fds, msg))
            return
        for fd in fds:
            os.close(fd)
        if not data:
            conn.close()
            return
        self.keep(self.serve_socket(conn, data))

    def keep(self, coroutine):
        """Run a connection's task, held here: the loop holds tasks weakly, and one whose reading is paused (its
        input waits on a full PTY) would be collected mid-call."""
        task = self.loop.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def serve_socket(self, conn, first):
        import asyncio
        reader = asyncio.StreamReader()

        def protocol():
            reader.feed_data(first)  # before anything the transport reads
            return asyncio.StreamReaderProtocol(reader)
        transport, proto = await self.loop.connect_accepted_socket(protocol, sock=conn)
        await self.serve(Client(asyncio.StreamWriter(transport, proto, reader, self.loop), loop=self.loop), reader)

    async def serve_channel(self, conn, fds, msg):
        """A bridge's ssh channel, handed over: the daemon reads and writes ssh's pipes itself, a hop and a copy
        less, its requests handled as they are read (Inbound), its output through a pipe widened to PIPE_SIZE (a
        follow's flood, a download's parts) once a write first finds it full, while fewer than WIDE_PIPES_MAX
        channels hold one: the wide pipes go to channels that carry bulk, not to the first ones opened (an agent's
        idle bridges would hold them all). The bridge waits until `conn` closes: sshd ends the channel once its
        command and pipes have."""
        import asyncio
        wide, ended = False, self.loop.create_future()

        def widen():
            nonlocal wide
            wide = self.wide_pipes < WIDE_PIPES_MAX and widen_pipe(fds[1])
            self.wide_pipes += wide
        try:
            try:
                wtransport, wproto = await self.loop.connect_write_pipe(asyncio.streams.FlowControlMixin,
                                                                        os.fdopen(fds[1], "wb", 0))
                client = Client(asyncio.StreamWriter(wtransport, wproto, None, self.loop), (), self.loop, widen, pipe=True)
                inbound = Inbound(client, self.handle_frame, lambda: ended.done() or ended.set_result(None),
                                  self.keep)
                rtransport = (await self.loop.connect_read_pipe(lambda: inbound, os.fdopen(fds[0], "rb", 0)))[0]
            except (OSError, ValueError) as exc:
                log("handover failed: %r" % (exc,))
                conn.close()
                return
            client.closers = (rtransport.close, conn.close)
            conn.sendall(frame({"id": msg.get("id"), "ok": True}))
            self.clients.append(client)
            OPS["agent"](self, client, msg)
            inbound.start()
            await ended
            self.drop_client(client)
        finally:
            self.wide_pipes -= wide

    async def serve(self, client, reader):
        """A client on the socket itself (off the hot path: bridges hand their channels over, see Inbound)."""
        writer = client.writer
        self.clients.append(client)
        with suppress(EOFError, OSError):  # IncompleteReadError is an EOFError
            while not writer.is_closing():
                if client.queued() > CLIENT_QUEUE_LIMIT:
                    # A client that asks faster than it reads waits until its replies drained: its queue stays
                    # bounded, and it is never dropped.
                    client.flush()
                    await writer.drain()
                size = struct.unpack(">I", await reader.readexactly(4))[0]
                if size > MAX_FRAME:
                    client.fail(None, ERR_PROTOCOL, "frame of %d bytes exceeds the %d byte limit" % (size, MAX_FRAME))
                    break
                self.handle_frame(client, await reader.readexactly(size))
        self.drop_client(client)

    def handle_frame(self, client, body):
        try:
            msg = unpack(body)
        except Exception as exc:  # a ValueError, or a RecursionError from absurd nesting
            client.fail(None, ERR_PROTOCOL, "Malformed frame: %s" % exc)
            return
        if not isinstance(msg, dict):
            client.fail(None, ERR_PROTOCOL, "A frame must hold a map")
            return
        handler = OPS.get(msg.get("op")) if isinstance(msg.get("op"), str) else None
        try:
            if handler is None:
                raise HelperError(ERR_PROTOCOL, 'Unknown operation "%s"' % msg.get("op"))
            reply = handler(self, client, msg)
            if reply is not None:
                client.reply(msg.get("id"), **reply)  # None: it answers by itself, now or later
        except HelperError as exc:
            client.fail(msg.get("id"), *exc.args, name=msg.get("name"))
        except Exception as exc:
            log("request %r failed: %r" % (msg.get("op"), exc))
            client.fail(msg.get("id"), ERR_REMOTE, "Helper error: %s" % exc)

    def drop_client(self, client):
        """Forget a client; what was queued for it still goes out before its connection closes."""
        if client not in self.clients:
            return
        self.clients.remove(client)
        for session in self.sessions.values():
            if session.attached is client:
                session.attached, session.detached_at = None, time.time()
        if client.agent:
            self.point_agent()
        client.close()

    def notify(self, session, event, level="events", skip=None):
        """Send an event to every client watching `session` at `level` or more ("output" includes "events")."""
        if event["ev"] == "exit":
            self.feed_attached(session, final=True)  # the shell's last words before its exit
        for client in self.clients:
            if client is skip or client.watch.get(session.name) not in ("output", level):
                continue
            feed = client.feeds.get(session.name)
            if feed is not None and feed.session is session and feed.sent < session.end:
                feed.held.append((session.end, event))
            else:
                client.send(event)

    def session(self, msg):
        name = checked_name(msg)
        if name in self.sessions:
            return self.sessions[name]
        if name in self.lost:
            raise HelperError(ERR_SESSION_LOST, lost_message(self.lost[name]))
        if name in self.ended:
            raise HelperError(ERR_SESSION_EXITED, 'Session "%s" was closed after %d s without input or output; its '
                              "history and last output remain (sessh result, history, logs) until it is opened "
                              "again" % (name, self.ended[name].idle_timeout))
        if name in self.recent_exits:
            raise HelperError(ERR_SESSION_EXITED,
                              'Session "%s" ended: its shell exited with status %d' % (name, self.recent_exits[name]))
        raise HelperError(ERR_NO_SESSION, 'No session named "%s"' % name)

    def session_or_new(self, msg, options):
        """The session `msg` names, and whether it was created now, from `options` (a map) when there was none.
        A lost session is not silently replaced: that takes an explicit open."""
        name = checked_name(msg)
        if name in self.sessions or name in self.lost or not isinstance(options, dict):
            return self.session(msg), False
        return self.create_session(dict(options, name=name)), True

    def create_session(self, options):
        name, shell, term = options["name"], resolve_shell(options.get("shell")), options.get("term")
        kind = shell_kind(shell)
        env = dict(self.base_env, TERM=term if isinstance(term, str) and term and term != "dumb" else "xterm-256color")
        if options.get("agent_env", True):
            env.update(AGENT_ENV)
        env.update((key, value) for key, value in (options.get("env") or {}).items()
                   if isinstance(key, str) and isinstance(value, str) and key and "=" not in key)
        env.update(SESSH_SESSION=name, SHELL=shell, SESSH_BIN=os.path.join(self.rt, "bin"),
                   SSH_AUTH_SOCK=os.path.join(self.rt, "agent.sock"))
        env.update(integration_env(kind, self.scripts, env))
        cols, rows = clamp(options.get("cols"), 2, 1000, 160), clamp(options.get("rows"), 2, 1000, 48)
        fd, pid = spawn_shell(shell, cols, rows, env)
        capacity = clamp(options.get("buffer"), 4096, MAX_BUFFER, DEFAULT_BUFFER)
        session = self.sessions[name] = Session(name, shell, fd, pid, cols, rows, capacity, kind)
        session.procfs = self.procfs
        session.append(motd_text(env.get("HOME", "/")))
        self.recent_exits.pop(name, None)
        self.ended.pop(name, None)
        idle_ms = options.get("idle_timeout_ms")
        if isinstance(idle_ms, int) and not isinstance(idle_ms, bool) and idle_ms > 0:
            session.idle_timeout = idle_ms / 1000.0
            self.loop.call_later(session.idle_timeout, self.check_session_idle, session)
        self.save_registry()
        self.loop.add_reader(fd, self.read_pty, session)
        if kind:
            self.loop.call_later(2.0, self._integrate_fallback, session)
        return session

    def check_session_idle(self, session):
        """Close a session with an idle timeout once nothing came in or out for that long; its history and last
        output stay readable (see `ended`)."""
        if session.exit_status is not None or self.sessions.get(session.name) is not session:
            return
        quiet = time.time() - session.last_activity
        if quiet < session.idle_timeout:
            self.loop.call_later(session.idle_timeout - quiet, self.check_session_idle, session)
            return
        log("closing session %s: idle for %d s" % (session.name, quiet))
        session.idle_closed = True
        self.signal_session(session, signal.SIGHUP)
        self.loop.call_later(CLOSE_GRACE_MS / 1000.0, self.signal_session, session, signal.SIGKILL)

    def _integrate_fallback(self, session):
        """Type the integration in when the environment route did not take."""
        if not session.integrated and session.exit_status is None and session.name in self.sessions:
            self.write_pty(session, b"\x15 . '%s'\r" % self.scripts[session.kind].encode())

    def reap_children(self):
        while True:
            pid, status = or_none(os.waitpid, -1, os.WNOHANG) or (0, 0)  # ChildProcessError: no children left
            if not pid:
                return
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
            for session in [s for s in self.sessions.values() if s.pid == pid]:
                self.end_session(session, code)

    def end_session(self, session, code):
        for data in iter(lambda: or_none(os.read, session.fd, READ_CHUNK) or b"", b""):
            self.process_output(session, data)
        self.emit_output(session, session.scanner.flush())
        session.exit_status = code
        self.finish_command(session, None)
        remove_command_files(self.rt, session.name)
        self.notify(session, {"ev": "exit", "name": session.name, "status": code})
        if session.in_waiters or session.in_writing:
            self.fail_input(session, ERR_SESSION_EXITED, 'The shell of "%s" exited with status %d' % (session.name, code))
        self.loop.remove_reader(session.fd)
        os.close(session.fd)
        del self.sessions[session.name]
        self.save_registry()
        if getattr(session, "idle_closed", False):
            # Its last output and history stay readable (`result`, `history`, `logs`) until it is opened again.
            excess = len(session.buf) - ENDED_KEEP
            if excess > 0:
                del session.buf[:excess]
                session.origin += excess
            session.capacity = min(session.capacity, ENDED_KEEP)
            self.ended[session.name] = session
            while len(self.ended) > ENDED_MAX:
                del self.ended[next(iter(self.ended))]
        self.recent_exits[session.name] = code
        if len(self.recent_exits) > 100:
            del self.recent_exits[next(iter(self.recent_exits))]
        for client, req_id in session.closing:
            client.reply(req_id, status=code)
        if session.pending_run:
            client, req_id = session.pending_run[2:4]
            client.fail(req_id, ERR_SESSION_EXITED, 'The shell of "%s" exited with status %d' % (session.name, code))

    def release(self, session, reason):
        """Detach the session's client: its output stops, and it is told why."""
        holder, session.attached, session.detached_at = session.attached, None, time.time()
        holder.watch.pop(session.name, None)
        holder.send({"ev": "detached", "name": session.name, "reason": reason})

    def point_agent(self):
        live = [c.agent for c in self.clients if c.agent]
        if live:
            link = os.path.join(self.rt, "agent.sock")
            or_none(os.symlink, live[-1], link + ".new")
            or_none(os.replace, link + ".new", link)

    def signal_session(self, session, sig):
        """Signal the shell, its process group, the terminal's foreground group and the groups of the background jobs
        its prompt reported that are still in its session; with procfs, every process of its session too."""
        if session.exit_status is not None:
            return  # its pid may be another process's by now
        # Read first: once the shell dies the terminal's group is 0, which killpg takes for our own.
        groups = {session.pid, or_none(os.tcgetpgrp, session.fd)}
        groups.update(or_none(os.getpgid, pid) for pid in session.jobs if or_none(os.getsid, pid) == session.pid)
        or_none(os.kill, session.pid, sig)
        for group in groups - {None, 0, os.getpgrp()}:
            or_none(os.killpg, group, sig)
        for pid in proc_session_members(session.pid) if self.procfs else []:
            or_none(os.kill, pid, sig)

def run_daemon(listener, rt, state):
    """The daemon, forked off a bridge (start_daemon): its listening socket, runtime dir and state dir (or None)."""
    sys.modules["ssl"] = None  # asyncio goes without, as where Python has none: OpenSSL loads slowly
    with suppress(OSError), open("/proc/self/comm", "w") as f:  # for `ps -e`: its argv is the bridge's
        f.write("sessh-daemon")
    try:
        daemon = Daemon(listener, rt, state)
        log("started, protocol %d" % PROTOCOL)
        why = runtime_base()[1]
        if why:
            log("%s; the socket is in %s instead" % (why, rt))
        daemon.run()
    except BaseException as exc:
        log("fatal: %r" % (exc,))
    return 0
