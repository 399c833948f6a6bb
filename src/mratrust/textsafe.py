"""Text from certificates and servers, made safe to show (SPEC §2)."""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def escape_control(s: str) -> str:
    """``s`` with every C0 control, DEL and C1 control (U+0080-U+009F) written as ``\\xNN``.

    A name in a certificate or a server's message then cannot move the cursor, clear a terminal,
    set a window title or start a forged report line. Every other character is kept as it is
    (``Zürich`` stays ``Zürich``).
    """
    if s.isprintable():  # no control character in it (they are all unprintable): the usual case
        return s
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)
