"""msgpack, only the types the protocol uses, and the frames that carry it: a 4-byte big-endian length, then a map."""

import struct

from protocol import MAX_FRAME

def pack(obj, out=None):
    """The msgpack encoding of `obj`, appended to `out` when given."""
    out = bytearray() if out is None else out
    if obj is None or isinstance(obj, bool):
        out.append(0xC0 if obj is None else 0xC3 if obj else 0xC2)
    elif isinstance(obj, int) and obj < 0:
        out += struct.pack(">b", obj) if obj >= -32 else struct.pack(">Bq", 0xD3, obj)
    elif isinstance(obj, int):
        _pack_header(out, obj, 0x00, 0x7F, (None, 0xCD, 0xCE, 0xCF))
    elif isinstance(obj, float):
        out += struct.pack(">Bd", 0xCB, obj)
    elif isinstance(obj, str):
        data = obj.encode("utf-8", "surrogateescape")
        _pack_header(out, len(data), 0xA0, 31, (0xD9, 0xDA, 0xDB))
        out += data
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        _pack_header(out, len(obj), None, 0, (0xC4, 0xC5, 0xC6))
        out += obj
    elif isinstance(obj, (list, tuple)):
        _pack_header(out, len(obj), 0x90, 15, (None, 0xDC, 0xDD))
        for item in obj:
            pack(item, out)
    elif isinstance(obj, dict):
        _pack_header(out, len(obj), 0x80, 15, (None, 0xDE, 0xDF))
        for key, value in obj.items():
            pack(value, pack(key, out))
    else:
        raise TypeError("cannot pack %r" % type(obj))
    return out

def _pack_header(out, n, fix_base, fix_max, tags):
    """The fix form when `n` fits it, else the first of `tags` (for 8, 16, 32, 64-bit sizes) that holds `n`."""
    if fix_base is not None and n <= fix_max:
        out.append(fix_base | n)
        return
    for tag, fmt, bits in zip(tags, (">BB", ">BH", ">BI", ">BQ"), (8, 16, 32, 64)):
        if tag is not None and n < 1 << bits:
            out += struct.pack(fmt, tag, n)
            return
    raise ValueError("%d is too large for msgpack" % n)

_CONSTANTS = {0xC0: None, 0xC2: False, 0xC3: True}
_NUMBERS = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
            0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
# Tag of a sized value -> (its kind, the format of the size that follows the tag).
_SIZED = {0xC4: ("bin", ">B"), 0xC5: ("bin", ">H"), 0xC6: ("bin", ">I"), 0xD9: ("str", ">B"), 0xDA: ("str", ">H"),
          0xDB: ("str", ">I"), 0xDC: ("array", ">H"), 0xDD: ("array", ">I"), 0xDE: ("map", ">H"), 0xDF: ("map", ">I")}

class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated msgpack data")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def number(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def value(self):
        tag = self.take(1)[0]
        if tag < 0x80 or tag >= 0xE0:
            return tag if tag < 0x80 else tag - 0x100
        # fixmap, fixarray and fixstr carry their size in the tag
        if tag < 0xA0:
            return self.sized("map" if tag < 0x90 else "array", tag & 0x0F)
        if tag < 0xC0:
            return self.sized("str", tag & 0x1F)
        if tag in _CONSTANTS:
            return _CONSTANTS[tag]
        if tag in _NUMBERS:
            return self.number(_NUMBERS[tag])
        if tag not in _SIZED:
            raise ValueError("unsupported msgpack type 0x%02x" % tag)
        return self.sized(_SIZED[tag][0], self.number(_SIZED[tag][1]))

    def sized(self, kind, n):
        if kind == "array":
            return [self.value() for _ in range(n)]
        if kind == "map":
            items = [(self.value(), self.value()) for _ in range(n)]
            if not all(isinstance(key, (str, int)) for key, _ in items):
                raise ValueError("unsupported map key")
            return dict(items)
        data = bytes(self.take(n))
        return data if kind == "bin" else data.decode("utf-8", "surrogateescape")

def unpack(data):
    reader = _Reader(data)
    value = reader.value()
    if reader.pos != len(data):
        raise ValueError("trailing bytes after msgpack value")
    return value

def frame(obj):
    """`obj` packed behind its 4-byte length, built in place: a reply of MiBs is copied once, not twice."""
    out = pack(obj, bytearray(4))
    out[:4] = struct.pack(">I", len(out) - 4)
    return out

def split_frames(buf):
    """Take the complete frames off the front of `buf` (a bytearray)."""
    frames = []
    while len(buf) >= 4:
        size = struct.unpack(">I", buf[:4])[0]
        if size > MAX_FRAME:
            raise ValueError("frame of %d bytes exceeds the %d byte limit" % (size, MAX_FRAME))
        if len(buf) < 4 + size:
            break
        frames.append(bytes(buf[4:4 + size]))
        del buf[:4 + size]
    return frames
