"""Text from certificates and servers, made safe to show.

SPEC §2: names, alert details and HTTP bodies are shown with control characters escaped, in every
format, so that a certificate or a server cannot clear a terminal, set its title or forge a line.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""C0 controls (tab and newline included: every field is one line), DEL and the C1 controls."""


def escape_control(s: str) -> str:
    """``s`` with each control character written as visible ``\\xNN`` text (ESC -> ``\\x1b``);
    every other character, printable Unicode included, is kept."""
    if s.isprintable():  # no control character in it (they are all unprintable): the usual case
        return s
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


__all__ = ["escape_control"]
