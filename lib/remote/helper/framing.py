"""msgpack, only the types the protocol uses, and the frames that carry it: a 4-byte big-endian length, then a map."""

import struct

from protocol import MAX_FRAME

_UINT16, _UINT32 = struct.Struct(">BH").pack, struct.Struct(">BI").pack
# The encodings of the short strings packed so far (a frame's keys, its event and session names), up to a bound:
# most of a small frame's packing is of the same few words.
_STRS = {}
_STRS_MAX = 1024

def pack(obj, out=None):
    """The msgpack encoding of `obj`, appended to `out` when given."""
    out = bytearray() if out is None else out
    _pack(obj, out)
    return out

def _pack(obj, out):
    # The exact types a frame is made of first, without the calls that the general forms cost.
    kind = type(obj)
    if kind is str:
        data = _STRS.get(obj)
        if data is None:
            data = _pack_str(obj)
            if len(obj) <= 32 and len(_STRS) < _STRS_MAX:
                _STRS[obj] = data
        out += data
    elif kind is int and 0 <= obj <= 0x7F:
        out.append(obj)
    elif kind is dict:
        n = len(obj)
        if n <= 15:
            out.append(0x80 | n)
        else:
            _pack_header(out, n, None, 0, (None, 0xDE, 0xDF))
        strs = _STRS
        for key, value in obj.items():
            data = strs.get(key) if type(key) is str else None
            if data is None:
                _pack(key, out)
            else:
                out += data
            if type(value) is int and 0 <= value <= 0x7F:
                out.append(value)
            else:
                _pack(value, out)
    elif kind is int and 0 <= obj < 1 << 32:
        out += _UINT16(0xCD, obj) if obj < 1 << 16 else _UINT32(0xCE, obj)
    elif obj is None or kind is bool:
        out.append(0xC0 if obj is None else 0xC3 if obj else 0xC2)
    elif isinstance(obj, int) and obj < 0:
        out += struct.pack(">b", obj) if obj >= -32 else struct.pack(">Bq", 0xD3, obj)
    elif isinstance(obj, int):
        _pack_header(out, obj, 0x00, 0x7F, (None, 0xCD, 0xCE, 0xCF))
    elif isinstance(obj, float):
        out += struct.pack(">Bd", 0xCB, obj)
    elif isinstance(obj, str):
        out += _pack_str(obj)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        _pack_header(out, len(obj), None, 0, (0xC4, 0xC5, 0xC6))
        out += obj
    elif isinstance(obj, (list, tuple)):
        _pack_header(out, len(obj), 0x90, 15, (None, 0xDC, 0xDD))
        for item in obj:
            _pack(item, out)
    elif isinstance(obj, dict):
        _pack_header(out, len(obj), 0x80, 15, (None, 0xDE, 0xDF))
        for key, value in obj.items():
            _pack(key, out)
            _pack(value, out)
    else:
        raise TypeError("cannot pack %r" % type(obj))

def _pack_str(obj):
    data = obj.encode("utf-8", "surrogateescape")
    out = bytearray()
    _pack_header(out, len(data), 0xA0, 31, (0xD9, 0xDA, 0xDB))
    return bytes(out + data)

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

def unpack(data):
    data = bytes(data)
    try:
        value, pos = _value(data, 0)
    except (IndexError, struct.error):
        raise ValueError("truncated msgpack data")
    if pos != len(data):
        raise ValueError("trailing bytes after msgpack value")
    return value

def _value(data, pos):
    """The value at `pos` and the position after it; a value cut short raises IndexError or struct.error."""
    tag = data[pos]
    pos += 1
    if tag < 0x80:
        return tag, pos
    if tag >= 0xE0:
        return tag - 0x100, pos
    # fixmap, fixarray and fixstr carry their size in the tag
    if tag < 0x90:
        return _sized(data, pos, "map", tag & 0x0F)
    if tag < 0xA0:
        return _sized(data, pos, "array", tag & 0x0F)
    if tag < 0xC0:
        return _sized(data, pos, "str", tag & 0x1F)
    if tag in _CONSTANTS:
        return _CONSTANTS[tag], pos
    if tag in _NUMBERS:
        fmt = _NUMBERS[tag]
        return struct.unpack_from(fmt, data, pos)[0], pos + struct.calcsize(fmt)
    if tag not in _SIZED:
        raise ValueError("unsupported msgpack type 0x%02x" % tag)
    kind, fmt = _SIZED[tag]
    return _sized(data, pos + struct.calcsize(fmt), kind, struct.unpack_from(fmt, data, pos)[0])

def _sized(data, pos, kind, n):
    if kind == "map":
        items = {}
        for _ in range(n):
            tag = data[pos]
            if 0xA0 <= tag < 0xC0 and pos + 1 + (tag & 0x1F) <= len(data):  # a key is most often a short string
                end = pos + 1 + (tag & 0x1F)
                key, pos = data[pos + 1:end].decode("utf-8", "surrogateescape"), end
            else:
                key, pos = _value(data, pos)
                if not isinstance(key, (str, int)):
                    raise ValueError("unsupported map key")
            tag = data[pos]
            if tag < 0x80:
                items[key], pos = tag, pos + 1
            else:
                items[key], pos = _value(data, pos)
        return items, pos
    if kind == "array":
        items = []
        for _ in range(n):
            item, pos = _value(data, pos)
            items.append(item)
        return items, pos
    end = pos + n
    if end > len(data):
        raise IndexError
    return (data[pos:end] if kind == "bin" else data[pos:end].decode("utf-8", "surrogateescape")), end

def frame(obj):
    """`obj` packed behind its 4-byte length, built in place: a reply of MiBs is copied once, not twice."""
    out = pack(obj, bytearray(4))
    out[:4] = struct.pack(">I", len(out) - 4)
    return out

def frame_head(obj, key, data):
    """The frame of `obj` with `data` under `key`, last, but for `data` itself: written before it, a MiB of output
    goes out from where it lies rather than copied into a frame first."""
    out = bytearray(4)
    _pack_header(out, len(obj) + 1, 0x80, 15, (None, 0xDE, 0xDF))
    for item in obj.items():
        _pack(item[0], out)
        _pack(item[1], out)
    _pack(key, out)
    _pack_header(out, len(data), None, 0, (0xC4, 0xC5, 0xC6))
    out[:4] = struct.pack(">I", len(out) - 4 + len(data))
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
