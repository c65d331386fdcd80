"""Operations that watch a session: read, subscribe (with idle and `wait --for`), history, result, timeline, and
attach and detach."""

import re, time

from client import Feed
from errors import HelperError
from fields import checked_name, clamp
from markers import scan_modes
from matching import TextMatcher
from protocol import ERR_BAD_PATTERN, ERR_BAD_REQUEST, ERR_NO_COMMAND, ERR_SESSION_BUSY, MAX_READ_REPLY
from session_ops import op_resize

def op_read(daemon, client, msg):
    session = readable_session(daemon, msg)
    since, lines, until = msg.get("since"), msg.get("lines"), msg.get("until")
    whole = True
    if isinstance(since, int):
        start = since
    elif isinstance(lines, int):
        start, whole = session.tail_start(max(1, lines))
    else:
        start = session.base
    evicted, start = start < session.base or not whole, max(start, session.base)
    limit = clamp(msg.get("max"), 1, MAX_READ_REPLY, MAX_READ_REPLY)
    data = session.slice(start, min(until if isinstance(until, int) else session.end, start + limit))
    # The terminal size comes along: renderers need it, and asking for it apart would cost a round trip.
    return {"data": data, "start": start, "end": start + len(data), "evicted": evicted,
            "cols": session.cols, "rows": session.rows,
            "buffer_start": session.base, "buffer_end": session.end}


def op_subscribe(daemon, client, msg):
    session = daemon.session(msg)
    since = session.last_input if msg.get("from_input") else msg.get("since")
    start = session.end if not isinstance(since, int) else max(since, session.base)
    spec = msg.get("match")
    # A pattern the daemon cannot compile fails the request before it changes what the client watches.
    matcher = start_matcher(daemon, spec, start) if isinstance(spec, dict) else None
    client.matchers.pop(session.name, None)
    level = client.watch[session.name] = "output" if msg.get("output", True) else "events"
    client.reply(msg.get("id"), start=start, end=session.end, running=session.busy()[0],
                 evicted=isinstance(since, int) and since < session.base, last_exit=session.last_exit)
    if level == "output":  # the backlog, then live output, paced by what the client reads
        client.feeds[session.name] = Feed(session, start)
        daemon.feed_watcher(client, client.feeds[session.name])
    else:
        client.feeds.pop(session.name, None)
    idle_ms = msg.get("idle_ms")
    client.idle.pop(session.name, None)
    if isinstance(idle_ms, int) and not isinstance(idle_ms, bool) and idle_ms > 0:
        # Idleness is told here, so that a client waiting for it need not receive a flood to see it end.
        client.idle[session.name] = token = (time.time(), idle_ms / 1000.0)
        daemon.loop.call_later(token[1], check_idle, daemon, client, session, token)
    if matcher is not None:
        client.matchers[session.name] = matcher
        daemon.advance_matcher(client, session, matcher)


def check_idle(daemon, client, session, token):
    """Tell an idle watcher once the session's output has been quiet for its time since it subscribed."""
    if client.idle.get(session.name) is not token or client.writer.is_closing():
        return
    quiet = time.time() - max(session.last_output, token[0])
    if quiet < token[1]:
        daemon.loop.call_later(token[1] - quiet, check_idle, daemon, client, session, token)
        return
    del client.idle[session.name]
    client.send({"ev": "idle", "name": session.name, "end": session.end})


def start_matcher(daemon, spec, start):
    """Compile the pattern of a `wait --for` (see TextMatcher); it searches from `start` once the reply is out."""
    source, flags = spec.get("source"), spec.get("flags")
    if not isinstance(source, str) or not isinstance(flags, str):
        raise HelperError(ERR_BAD_REQUEST, "match needs the pattern's source and flags as strings")
    try:
        pattern = re.compile(source, (re.I if "i" in flags else 0) | (re.S if "s" in flags else 0))
    except (re.error, OverflowError, RecursionError) as exc:
        raise HelperError(ERR_BAD_PATTERN, "The daemon cannot compile the pattern: %s" % exc)
    return TextMatcher(pattern, start)


def readable_session(daemon, msg):
    """The session `msg` names, or one closed for idleness, whose output and history can still be read."""
    name = checked_name(msg)
    return daemon.ended[name] if name not in daemon.sessions and name in daemon.ended else daemon.session(msg)


def op_history(daemon, client, msg):
    """The session's last HISTORY_MAX commands typed by `run`, oldest first: id, text, output cursors, exit code,
    times; `end` is None while one runs. Their output is read with `read` from `start` to `end`."""
    session = readable_session(daemon, msg)
    return {"commands": [dict(entry) for entry in session.history], "buffer_start": session.base,
            "buffer_end": session.end}


def op_result(daemon, client, msg):
    """One command of the history: `command_id`, or the latest; what `history` says of it, and where the
    buffer begins now, so that the client can tell how much of its output is left. With `output`, a finished
    command's output comes along when what is left of it is no longer than that, as `read` would send it."""
    session = readable_session(daemon, msg)
    wanted = msg.get("command_id")
    found = [e for e in session.history if wanted is None or e["id"] == wanted]
    if not found:
        known = ", ".join(str(e["id"]) for e in session.history[-5:])
        raise HelperError(ERR_NO_COMMAND, "No command %s in the history of \"%s\"%s" % (
            "at all" if wanted is None else "with id %r" % (wanted,), session.name,
            " (the latest: %s; see sessh history)" % known if known else ": nothing was run there yet"))
    entry = found[-1]
    reply = {"command": dict(entry), "buffer_start": session.base, "buffer_end": session.end}
    end = entry["end"]
    start = None if end is None else min(max(entry["start"], session.base), end)
    # Asking for the output apart would cost the caller (`wait --done`, `result`) a second round trip.
    if start is not None and end - start <= clamp(msg.get("output"), 0, MAX_READ_REPLY, 0):
        reply.update(data=session.slice(start, end), start=start, evicted=entry["start"] < session.base,
                     cols=session.cols, rows=session.rows)
    return reply


def op_timeline(daemon, client, msg):
    """When the output from `since` to `until` came: [offset, milliseconds since the epoch] for each burst, the
    first at or before `since`; and the terminal size, for a recording."""
    session = readable_session(daemon, msg)
    since = max(clamp(msg.get("since"), 0, 1 << 62, session.base), session.base)
    until = min(clamp(msg.get("until"), 0, 1 << 62, session.end), session.end)
    entries = [(o, t) for o, t in session.timeline if o < until]
    first = max((i for i, (o, _) in enumerate(entries) if o <= since), default=0)
    return {"timeline": [[o, int(t * 1000)] for o, t in entries[first:]], "since": since, "until": until,
            "cols": session.cols, "rows": session.rows}


def op_unsubscribe(daemon, client, msg):
    client.watch.pop(msg.get("name"), None)
    client.feeds.pop(msg.get("name"), None)
    client.idle.pop(msg.get("name"), None)
    client.matchers.pop(msg.get("name"), None)
    return {}


def op_attach(daemon, client, msg):
    """Make `client` the session's one interactive client; reply with the replay, then stream output. With
    `read_only`, one of any number of viewers beside it: the same replay and output, no input, no resize."""
    if msg.get("read_only"):
        return attach_viewer(daemon, client, msg)
    session, _ = daemon.session_or_new(msg, msg.get("create"))
    holder, since = session.attached, msg.get("since")
    if holder is not None and holder is not client:
        # Only a reconnecting client takes over: the holder is its own stale connection.
        if not msg.get("steal"):
            raise HelperError(ERR_SESSION_BUSY, 'Session "%s" is busy: another client is attached '
                              "(detaching it frees it)" % session.name)
        daemon.release(session, "replaced")
        daemon.drop_client(holder)
    session.attached, session.sent = client, session.end  # the reply carries the output up to the end
    client.watch[session.name] = "output"
    client.feeds.pop(session.name, None)
    op_resize(daemon, client, msg)
    resume = isinstance(since, int) and session.base <= since <= session.end
    start = since if resume else max(session.base, session.end - MAX_READ_REPLY)
    return {"start": start, "end": session.end, "data": session.slice(start, session.end),
            "evicted": start > 0 and not resume, "shell_pid": session.pid,
            "modes": scan_modes(session.modes, session.buf, 0, start - session.origin)}


def attach_viewer(daemon, client, msg):
    session, since = daemon.session(msg), msg.get("since")
    resume = isinstance(since, int) and session.base <= since <= session.end
    start = since if resume else max(session.base, session.end - MAX_READ_REPLY)
    client.watch[session.name] = "output"
    client.feeds[session.name] = Feed(session, session.end, viewer=True)
    return {"start": start, "end": session.end, "data": session.slice(start, session.end),
            "evicted": start > 0 and not resume, "shell_pid": session.pid, "read_only": True,
            "modes": scan_modes(session.modes, session.buf, 0, start - session.origin)}


def op_detach(daemon, client, msg):
    session = daemon.session(msg)
    attached = session.attached is not None
    if attached:
        daemon.release(session, "requested")
    return {"detached": attached}


OPS = {
    "read": op_read,
    "subscribe": op_subscribe,
    "history": op_history,
    "result": op_result,
    "timeline": op_timeline,
    "unsubscribe": op_unsubscribe,
    "attach": op_attach,
    "detach": op_detach,
}
