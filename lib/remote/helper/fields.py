"""The fields of a request, checked: what a client sends is data to check, never a name to trust."""
import re

from errors import HelperError
from protocol import ERR_BAD_REQUEST, NAME_PATTERN

NAME_RE = re.compile(NAME_PATTERN + r"\Z")


def checked_name(msg):
    name = msg.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise HelperError(ERR_BAD_REQUEST, "Invalid session name %r" % (name,))
    return name


def clamp(value, low, high, default):
    if not isinstance(value, int) or isinstance(value, bool):
        return default
    return max(low, min(high, value))
