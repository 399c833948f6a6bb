"""The SNI a handshake sends: an ASCII name is sent as it is, without loading the IDNA codec, and
every name is encoded exactly as the codec encodes it (or refused as it refuses it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mratrust.probe.handshake import _sni
from tests.conftest import modules_after

_NAMES = [
    "cucm-pub.example.com",
    "CUCM-Pub.Example.COM",
    "cucm.example.com.",
    "localhost",
    "a" * 63 + ".example.com",
    "x." + "b" * 63,
    "bücher.example.com",
    "тест.example",
    "例え.テスト",
]
_REFUSED = [
    "a" * 64 + ".example.com",
    "example." + "c" * 64,
    "a..example.com",
    ".example.com",
    "ex\u00e4mple..com",
]


@pytest.mark.parametrize("name", _NAMES)
def test_a_name_is_sent_as_the_idna_codec_encodes_it(name: str) -> None:
    _sni.cache_clear()
    assert _sni(name) == name.encode("idna")


@pytest.mark.parametrize("name", _REFUSED)
def test_a_name_the_codec_refuses_is_refused_alike(name: str) -> None:
    _sni.cache_clear()
    with pytest.raises(UnicodeError) as ours:
        _sni(name)
    with pytest.raises(UnicodeError) as codec:
        name.encode("idna")
    assert str(ours.value) == str(codec.value)


def _codec_loaded_after(name: str) -> bool:
    code = f"from mratrust.probe.handshake import _sni\n_sni({name!r})"
    return "encodings.idna" in modules_after(code)


def test_an_ascii_name_loads_no_idna_codec() -> None:
    assert not _codec_loaded_after("cucm-pub.example.com")


def test_an_international_name_goes_through_the_codec() -> None:
    assert _codec_loaded_after("bücher.example.com")


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "LocalHost"])
def test_the_resolver_gets_the_bytes_it_would_have_encoded_itself(host: str) -> None:
    import socket
    import time

    from mratrust.probe.handshake import _resolve, run_steps

    try:
        expected = socket.getaddrinfo(host, 5061, type=socket.SOCK_STREAM)
    except socket.gaierror:
        pytest.skip(f"{host} does not resolve here")
    assert run_steps(_resolve(host, 5061, time.monotonic() + 10)) == expected


@pytest.mark.parametrize(
    ("call", "loads"),
    [
        ("run_steps(_resolve('localhost', 443, time.monotonic() + 10))", False),
        ("socket.getaddrinfo('localhost', 443)", True),  # what it replaces: a str goes via IDNA
    ],
)
def test_resolving_an_ascii_name_loads_no_idna_codec(call: str, loads: bool) -> None:
    code = (
        "import time, socket\nfrom mratrust.probe.handshake import _resolve, run_steps\n"
        f"try:\n    {call}\nexcept OSError:\n    pass"
    )
    assert ("encodings.idna" in modules_after(code)) is loads


@pytest.mark.parametrize(
    "text",
    ["a..b.example.com:8443", "ok.example.com:8443{x..y}", ("l" * 64) + ".example.com:8443"],
)
def test_a_target_no_resolver_or_sni_can_carry_is_bad_input(text: str) -> None:
    from mratrust.errors import InputError
    from mratrust.probe.target import ProbeTarget

    with pytest.raises(InputError, match="is not a usable DNS name") as bad:
        ProbeTarget.parse(text)
    assert "label empty or too long" in str(bad.value)
    assert "1 to 63 characters" in (bad.value.hint or "")


@pytest.mark.parametrize(
    ("text", "sni"),
    [("bücher.example.com:8443", None), ("cucm.example.com.:8443", None), ("10.0.0.1", "x.y")],
)
def test_a_usable_target_name_is_taken(text: str, sni: str | None) -> None:
    from mratrust.probe.target import ProbeTarget

    assert ProbeTarget.parse(text, sni=sni).host == text.removesuffix(":8443")


def test_a_bad_sni_is_bad_input() -> None:
    from mratrust.errors import InputError
    from mratrust.probe.target import ProbeTarget

    with pytest.raises(InputError, match=r"SNI 'x\.\.y'"):
        ProbeTarget.parse("cucm.example.com", sni="x..y")


def test_the_command_refuses_a_bad_name_with_exit_2_and_no_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mratrust", "probe", "a..b.example.com:8443"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert "host name 'a..b.example.com' is not a usable DNS name" in done.stderr
