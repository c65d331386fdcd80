"""Operations on sessions and on the connection (hello, ping, agent)."""

import os, signal, stat, termios

from errors import HelperError
from fields import checked_name, clamp
from files import or_none
from markers import SECRET_MAX
from protocol import (CAPS, CLOSE_GRACE_MS, ERR_BAD_REQUEST, ERR_NO_INTEGRATION, ERR_PROTOCOL, ERR_SESSION_BUSY,
    ERR_TERMINAL_ECHOES, MAX_FRAME, PROTOCOL)
from registry import lost_info
from sessions import set_winsize

def op_hello(daemon, client, msg):
    if msg.get("version") != PROTOCOL:
        raise HelperError(ERR_PROTOCOL, "Expected protocol %d, got %r" % (PROTOCOL, msg.get("version")))
    return {"version": PROTOCOL, "helper": daemon.hash, "pid": os.getpid(), "max_frame": MAX_FRAME,
            "runtime_dir": daemon.rt, "caps": CAPS}


def op_open(daemon, client, msg):
    daemon.forget_lost(checked_name(msg))  # opening anew is one way to acknowledge a lost session
    session, created = daemon.session_or_new(msg, msg)
    return {"created": created, "session": session.info()}


def op_info(daemon, client, msg):
    return {"session": daemon.session(msg).info()}


def op_list(daemon, client, msg):
    live = [s.info() for s in sorted(daemon.sessions.values(), key=lambda s: s.created)]
    return {"sessions": live + [lost_info(entry) for entry in daemon.lost.values()]}


def op_input(daemon, client, msg):
    if not isinstance(msg.get("data"), bytes):
        raise HelperError(ERR_BAD_REQUEST, "input needs bytes in data")
    session = daemon.session(msg)
    feed = client.feeds.get(session.name)
    if feed is not None and feed.viewer:
        raise HelperError(ERR_BAD_REQUEST, 'This client watches "%s" read-only: its keys go nowhere; attach '
                          "it, not read-only, to type" % session.name)
    # A send's later parts (its Enter too) keep where its output starts: the echo of all of it is in it.
    if not msg.get("continues"):
        session.last_input = session.end
    daemon.write_pty(session, msg["data"], (client, msg.get("id")))  # answered once written


def op_secret(daemon, client, msg):
    """Type a secret and Enter, only while the terminal does not echo (a password prompt): never shown on
    screen, in the buffer or in a log. Kept in memory to be redacted from output that repeats it."""
    secret = msg.get("data")
    if not isinstance(secret, bytes) or not secret or len(secret) > SECRET_MAX or b"\r" in secret or \
            b"\n" in secret:
        raise HelperError(ERR_BAD_REQUEST, "A secret is 1 to %d bytes without line breaks" % SECRET_MAX)
    session = daemon.session(msg)
    # A password prompt reads a line with echo off (ECHO clear, ICANON set). A line editor at a shell prompt
    # also clears ECHO, but reads keys one by one (ICANON clear) and echoes them itself, into its history too.
    attrs = or_none(termios.tcgetattr, session.fd)
    if attrs is None or attrs[3] & termios.ECHO or not attrs[3] & termios.ICANON:
        raise HelperError(ERR_TERMINAL_ECHOES, 'The terminal of "%s" shows what is typed (its program echoes '
                          "input, or reads keys one by one as a shell prompt or an editor does), so the secret "
                          "would show on screen and in the output; wait until a program asks for it with echo "
                          "off (a password prompt)" % session.name)
    session.redactor.add(secret)
    session.last_input = session.end
    daemon.write_pty(session, secret + b"\r", (client, msg.get("id")))  # answered once written


def op_resize(daemon, client, msg):
    session = daemon.session(msg)
    session.cols = clamp(msg.get("cols"), 2, 1000, session.cols)
    session.rows = clamp(msg.get("rows"), 2, 1000, session.rows)
    set_winsize(session.fd, session.cols, session.rows)
    return {}


def op_run(daemon, client, msg):
    create, command = msg.get("create"), msg.get("command")
    session, created = daemon.session_or_new(msg, create if isinstance(create, dict) else {} if create else None)
    if not isinstance(command, bytes):
        raise HelperError(ERR_BAD_REQUEST, "run needs the command as bytes")
    if session.kind is None:
        raise HelperError(ERR_NO_INTEGRATION, 'Cannot tell when commands finish in %s; run commands without waiting, '
                          'or open the session with a bash, zsh or sh shell' % session.shell)
    running, command_line = session.busy()
    if not msg.get("force") and (running and session.prompted or session.pending_run):
        raise HelperError(ERR_SESSION_BUSY, 'Session "%s" is busy running %s; wait for it to finish, interrupt it (C-c) or '
                          'force the run'
                          % (session.name, command_line or "a command"))
    if msg.get("force"):
        supersede(daemon, session, running)
    seq = daemon.run_seq = daemon.run_seq + 1
    client.watch.setdefault(session.name, "events")
    session.pending_run = (seq, command, client, msg.get("id"), created)
    daemon.dispatch_pending_run(session)
    if session.pending_run:
        wait = clamp(msg.get("ready_timeout_ms"), 100, 600000, 15000) / 1000.0
        daemon.loop.call_later(wait, daemon._expire_pending_run, session, seq)


def supersede(daemon, session, running):
    """Make way for a forced run, whose reply and result must be its own: the run waiting for a prompt gives way,
    the one typed before ends as superseded, and the foreground job is interrupted; the forced run is typed at
    the prompt that follows."""
    if session.pending_run:
        client, req_id = session.pending_run[2:4]
        session.pending_run = None
        client.fail(req_id, ERR_SESSION_BUSY, 'A newer forced run in "%s" took the place of this command before '
                    "it was typed" % session.name)
    if not running:
        return
    run, session.run = session.run, None
    if run:
        daemon.report_done(session, run, exit=None, superseded=True)
    session.interrupted = token = object()
    # A job of its own gets SIGINT directly: a Ctrl-C typed into the terminal would stay queued if the job ended
    # just now, and the shell would answer it with a second prompt that ends the forced run before it ran.
    group = or_none(os.tcgetpgrp, session.fd)
    if group and group != session.pid:
        or_none(os.killpg, group, signal.SIGINT)
    else:
        daemon.write_pty(session, b"\x03")  # the shell itself is busy (a builtin such as read)
    daemon.loop.call_later(1.0, escalate, daemon, session, token, signal.SIGTERM)


def escalate(daemon, session, token, sig):
    """The interrupted job kept the terminal: signal its process group (never the shell's own), harder later."""
    if session.interrupted is not token or session.exit_status is not None:
        return
    group = or_none(os.tcgetpgrp, session.fd)
    if group and group != session.pid:
        or_none(os.killpg, group, sig)
    if sig == signal.SIGTERM:
        daemon.loop.call_later(2.0, escalate, daemon, session, token, signal.SIGKILL)


def op_ping(daemon, client, msg):
    return {}


def op_reset(daemon, client, msg):
    """The local agent lends this connection to its next call: forget what the last call asked for, so that
    nothing of it (output, a late reply) reaches the next. A command it left waiting for a prompt is dropped
    rather than typed for nobody; one already typed runs on, reported to its watchers only."""
    client.watch.clear()
    client.feeds.clear()
    client.idle.clear()
    client.matchers.clear()
    for session in daemon.sessions.values():
        if session.attached is client:
            daemon.release(session, "reset")
        if session.pending_run and session.pending_run[2] is client:
            session.pending_run = None
        if session.run and session.run["client"] is client:
            session.run["client"] = None
        session.closing = [(c, req_id) for c, req_id in session.closing if c is not client]
    return {}


def op_agent(daemon, client, msg):
    """A bridge's forwarded ssh agent: sessions reach the newest one through a stable symlink."""
    path = msg.get("path")
    if isinstance(path, str) and stat.S_ISSOCK(getattr(or_none(os.stat, path), "st_mode", 0)):
        client.agent = path
        daemon.point_agent()


def op_close(daemon, client, msg):
    name = checked_name(msg)
    if name in daemon.lost:  # closing is how a lost session is acknowledged
        daemon.forget_lost(name)
        return {"status": None, "lost": True}
    if name not in daemon.sessions and name in daemon.ended:  # closed for idleness: forget what was kept
        return {"status": daemon.ended.pop(name).exit_status}
    session = daemon.session(msg)
    session.closing.append((client, msg.get("id")))
    daemon.signal_session(session, signal.SIGHUP)
    grace = clamp(msg.get("grace_ms"), 0, 60000, CLOSE_GRACE_MS) / 1000.0
    daemon.loop.call_later(grace, daemon.signal_session, session, signal.SIGKILL)


OPS = {
    "hello": op_hello,
    "open": op_open,
    "info": op_info,
    "list": op_list,
    "input": op_input,
    "secret": op_secret,
    "resize": op_resize,
    "run": op_run,
    "ping": op_ping,
    "reset": op_reset,
    "agent": op_agent,
    "close": op_close,
}
