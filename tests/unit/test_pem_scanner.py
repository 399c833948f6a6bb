"""The PEM scanner finds every block whatever text surrounds it (CUCM/Expressway exports)."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from mratrust.pki.load import scan_pem

_noise = st.text(
    alphabet=st.characters(blacklist_characters="-", blacklist_categories=("Cs",)), max_size=80
)
_payload = st.binary(min_size=1, max_size=300)


def _block(label: str, data: bytes) -> str:
    body = base64.b64encode(data).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_noise, _payload), min_size=1, max_size=6), _noise)
def test_every_block_found_in_order(parts: list[tuple[str, bytes]], tail: str) -> None:
    text = "".join(noise + "\n" + _block("CERTIFICATE", data) for noise, data in parts) + tail
    blocks = scan_pem(text.encode("utf-8"))
    assert [b.label for b in blocks] == [b"CERTIFICATE"] * len(parts)
    assert all(b.closed for b in blocks)
    for block, (_, data) in zip(blocks, parts, strict=True):
        assert base64.b64decode(b"".join(block.body.split())) == data


@settings(max_examples=100, deadline=None)
@given(_payload, st.integers(min_value=1, max_value=40))
def test_truncated_block_is_reported_open(data: bytes, cut: int) -> None:
    text = _block("CERTIFICATE", data)
    end = text.index("-----END")
    blocks = scan_pem(text[: max(end - cut, 30)].encode())
    assert len(blocks) == 1
    assert not blocks[0].closed


@given(_payload, _payload)
def test_key_blocks_are_seen_but_labelled(key: bytes, cert: bytes) -> None:
    text = _block("PRIVATE KEY", key) + "description: tomcat\n" + _block("CERTIFICATE", cert)
    labels = [b.label for b in scan_pem(text.encode())]
    assert labels == [b"PRIVATE KEY", b"CERTIFICATE"]


def test_crlf_and_indentation() -> None:
    text = _block("CERTIFICATE", b"\x30\x03\x02\x01\x01").replace("\n", "\r\n")
    blocks = scan_pem(("   header\r\n" + text).encode())
    assert len(blocks) == 1 and blocks[0].closed


def test_no_block() -> None:
    assert scan_pem(b"just text, no certificate here") == []


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=16).filter(lambda s: "\x00" not in s))
def test_fast_dn_matches_rfc4514(value: str) -> None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    from mratrust.pki.facts import dn

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])
    assert dn(name) == name.rfc4514_string()
    twin = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, value),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example"),
        ]
    )
    assert dn(twin) == twin.rfc4514_string()
