"""The probe's JSON encoder: control characters never reach the document raw."""

from __future__ import annotations

import json

import pytest

from mratrust.probe.render import _encode


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("CN=a\x9b2Jb", "CN=a\\x9b2Jb", id="C1-CSI-alone"),
        pytest.param("CN=a\x7fb", "CN=a\\x7fb", id="DEL-alone"),
        pytest.param("CN=a\x1b[2Jb", "CN=a\\x1b[2Jb", id="C0-ESC"),
        pytest.param("CN=a\x85b", "CN=a\\x85b", id="C1-NEL"),
    ],
)
def test_a_control_character_anywhere_is_escaped(text: str, shown: str) -> None:
    raw = _encode({"endpoints": [{"message": text}], text: 1})
    assert json.loads(raw) == {"endpoints": [{"message": shown}], shown: 1}
    assert not any(c in raw for c in "\x1b\x7f\x85\x9b")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("CN=Zürich°±\u00a0©", id="latin-1-supplement"),  # UTF-8 lead byte 0xC2/0xC3
        pytest.param("CN=東京", id="cjk"),
    ],
)
def test_negative_twin_printable_text_is_kept_as_it_is(text: str) -> None:
    raw = _encode({"message": text})
    assert json.loads(raw) == {"message": text}
