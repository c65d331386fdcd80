import marshal, os, stat, sys
os.environ["PATH"] = os.environ.pop("SESSH_PATH", os.environ.get("PATH", ""))
if sys.version_info < (3, 8):
    sys.stderr.write("sessh: %s is Python %d.%d; sessh needs Python 3.8 or later\n" % ((sys.executable,) + sys.version_info[:2]))
    sys.exit(5)
# "HASH+": the client pushes the helper without being asked (a new master, so likely a new host); it is read
# either way, so that none of it is left for the bridge.
h, pushed = sys.argv[1].rstrip("+"), sys.argv[1].endswith("+")
d = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
# Each directory is opened by descriptor, links not followed, and checked once open (a path checked, then used, may
# be swapped in between). Those above the cache let nobody else rename what they hold (ours or root's, not group or
# other writable, or sticky), so the paths used later stay ours; the cache is ours alone. See open_dir in the helper.
F, me = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, os.getuid()
def cache_fd():
    fd = os.open("/", F)
    for i, part in enumerate(d.split("/")[1:]):
        st = os.fstat(fd)
        if st.st_uid not in (0, me) or st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            return "%s (uid %d, mode %o) lets others replace it" % ("/".join(d.split("/")[:i + 1]) or "/", st.st_uid,
                                                                  st.st_mode & 0o7777)
        if part == "sessh":
            try:
                os.mkdir(part, 0o700, dir_fd=fd)
            except FileExistsError:
                pass
        fd, old = os.open(part, F, dir_fd=fd), fd
        os.close(old)
    st = os.fstat(fd)
    return fd if st.st_uid == me and not st.st_mode & 0o077 else "it must be owned by you with mode 0700"
try:
    os.makedirs(d, 0o700, exist_ok=True)
    d = os.path.join(os.path.realpath(d), "sessh")
    fd = cache_fd()
except OSError as e:
    fd = str(e)
if isinstance(fd, str):
    sys.stderr.write("sessh: refusing cache dir %s: %s\n" % (d, fd))
    sys.exit(3)
def fopen(name, flags=os.O_RDONLY):
    return os.fdopen(os.open(name, flags | os.O_NOFOLLOW, 0o600, dir_fd=fd), "wb" if flags else "rb")
def put(name, data):
    with fopen("%s.%d" % (name, os.getpid()), os.O_WRONLY | os.O_CREAT | os.O_TRUNC) as f:
        f.write(data)
    os.replace("%s.%d" % (name, os.getpid()), name, src_dir_fd=fd, dst_dir_fd=fd)
b = "helper-%s.py" % h
p = os.path.join(d, b)
src = None
if pushed:
    n = int(sys.stdin.buffer.readline())
    src = sys.stdin.buffer.read(n)
try:
    have = stat.S_ISREG(os.stat(b, dir_fd=fd, follow_symlinks=False).st_mode)
except OSError:
    have = False
if not have:
    if src is None:
        out = sys.stdout.buffer
        out.write(b"SESSH-SEND " + h.encode() + b"\n")
        out.flush()
        n = int(sys.stdin.buffer.readline())
        src = sys.stdin.buffer.read(n)
    import hashlib, zlib
    try:
        src = zlib.decompress(src) if len(src) == n else b""
    except zlib.error:
        src = b""
    if hashlib.sha256(src).hexdigest()[:16] != h:
        sys.stderr.write("sessh: the helper arrived corrupted; retry\n")
        sys.exit(4)
    put(b, src)
# The compiled helper is cached beside it as a .pyc, which the daemon runs too: compiling costs more than the rest
# of a call.
from _frozen_importlib_external import MAGIC_NUMBER
c = "%s.%s.pyc" % (b[:-3], sys.implementation.cache_tag)
try:
    with fopen(c) as f:
        data = f.read()
    if data[:4] != MAGIC_NUMBER:
        raise ValueError(c)
    code = marshal.loads(data[16:])
except (OSError, ValueError, EOFError, TypeError):
    with fopen(b) as f:
        code = compile(f.read(), p, "exec")
    put(c, MAGIC_NUMBER + bytes(12) + marshal.dumps(code))
sys.argv = [p] + sys.argv[2:]
exec(code, {"__name__": "__main__", "__file__": p})
