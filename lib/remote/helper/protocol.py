"""Every value the helper shares with the client: limits, names, capabilities, error codes.

A flat list of `NAME = value` assignments, on purpose: lib/protocol/spec.json is to become the one source of these
values and a generator will write this file from it, so keep it free of logic (no imports, no expressions that
need one). Bump PROTOCOL when a change here breaks a client of the same protocol.
"""
PROTOCOL = 1
MAGIC = b"SESSH-HELPER 1\n"
SOCKET_NAME = "daemon-1.sock"
REGISTRY_NAME = "sessions-1.json"
SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux, 104 on the BSDs
MAX_FRAME = 16 << 20
READ_CHUNK = 1 << 16
MAX_READ_REPLY = 4 << 20
CLIENT_QUEUE_LIMIT = 24 << 20
WATCH_BATCH_S = 0.005
INPUT_STALL_S = 30
# An attached client's output is paced: sent while its connection holds less than the high mark, resumed below the
# low one, so events never wait behind more; one that falls too far behind skips to the tail, enough to redraw from.
ATTACH_HIGH_WATER = 512 << 10
ATTACH_LOW_WATER = 128 << 10
RESYNC_TAIL = 64 << 10
DEFAULT_BUFFER = 1 << 20
MAX_BUFFER = 256 << 20
INFO_TAIL = 512  # bytes of output in session info: the client tells from them whether a program awaits input
DAEMON_IDLE_EXIT = 60.0
CLOSE_GRACE_MS = 2000
MARKER = b"\x1b]6973;"
MARKER_MAX = 256
NAME_PATTERN = r"[A-Za-z0-9._-]{1,64}"  # a session name
# Terminal modes an attaching terminal must be put in before replay (the client's replay.ts keeps the same list).
TRACKED_MODES = {b"1", b"25", b"47", b"1047", b"1049", b"1000", b"1002", b"1003", b"1005", b"1006", b"1015", b"2004"}
MATCH_OVERLAP = 64 << 10  # characters of earlier text a match may span, as on the client
MATCH_TEXT_MAX = 64 << 10  # characters of a match that are sent
# A search that takes longer than this is ended with its worker, and the wait fails with pattern_too_slow.
PATTERN_BUDGET_S = 2.0
TIMELINE_GAP_S = 0.01  # output within this much of the last burst's start shares its timestamp
# Exit codes before the protocol starts: 3 to 5 are the loader's; lib/remote/exit_codes.ts says what each means.
EXIT_UNSAFE_DIR = 6
EXIT_DAEMON_START = 7
# Set in every session, so that a program does not stop the agent behind a pager.
AGENT_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "MANPAGER": "cat", "SYSTEMD_PAGER": ""}

# What this daemon does beyond protocol 1's first form; a client asks a daemon of an older helper only for what it
# lists. match_text: `wait --for` sees the text `output` shows (`\n` line ends) and is searched off the loop, a
# search over budget ending the wait with a "match_failed" event.
CAPS = ["run", "subscribe", "markers", "attach", "reset", "paced", "idle", "match", "history", "timeline", "files",
        "part_files", "match_text"]

# The codes of the errors the helper sends (a reply's "code"; the client maps each to its SesshError).
ERR_PROTOCOL = "protocol"
ERR_REMOTE = "remote"
ERR_BAD_REQUEST = "bad_request"
ERR_BAD_PATTERN = "bad_pattern"
ERR_BAD_SHELL = "bad_shell"
ERR_PATTERN_TOO_SLOW = "pattern_too_slow"
ERR_NO_SESSION = "no_session"
ERR_SESSION_BUSY = "session_busy"
ERR_SESSION_EXITED = "session_exited"
ERR_SESSION_LOST = "session_lost"
ERR_NO_COMMAND = "no_command"
ERR_NO_INTEGRATION = "no_integration"
ERR_TERMINAL_ECHOES = "terminal_echoes"
ERR_NO_FILE = "no_file"
ERR_FILE_DENIED = "file_denied"
