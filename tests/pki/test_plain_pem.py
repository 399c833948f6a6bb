"""Plain PEM certificate files are decoded by the loader itself, and their DER handed to the facts:
the same certificates and the same facts as cryptography's PEM reader and ``public_bytes`` give;
any other file is read as before."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from mratrust.errors import InputError
from mratrust.lab import pkigen as pg
from mratrust.pki import facts as pki_facts
from mratrust.pki.load import DerOf, _plain_pem, load_file, load_paths
from tests.pki.conftest import Pki


def _issued(pki: Pki) -> list[pg.Issued]:
    return [
        getattr(pki, f.name)
        for f in dataclasses.fields(pki)
        if isinstance(getattr(pki, f.name), pg.Issued)
    ]


def _pem(*issued: pg.Issued) -> bytes:
    return b"".join(i.cert_pem() for i in issued)


def test_every_certificate_is_read_as_cryptography_reads_it(pki: Pki) -> None:
    issued = _issued(pki)
    assert len(issued) > 10
    for one in issued:
        data = one.cert_pem()
        ders: DerOf = {}
        certs = _plain_pem(data, ders)
        assert certs == x509.load_pem_x509_certificates(data) == [one.cert]
        assert certs is not None
        (cert,) = certs
        assert ders[id(cert)] == (cert, cert.public_bytes(Encoding.DER))


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_a_chain_with_text_around_in_file_order(pki: Pki, newline: bytes) -> None:
    data = (
        b"tomcat chain, exported from CUCM\n"
        + _pem(pki.leaf)
        + b"\nIssuer: T-INT\n"
        + _pem(pki.inter, pki.root)
        + b"trailing words"
    ).replace(b"\n", newline)
    ders: DerOf = {}
    certs = _plain_pem(data, ders)
    assert certs == [pki.leaf.cert, pki.inter.cert, pki.root.cert]
    assert certs == x509.load_pem_x509_certificates(data)
    assert [ders[id(c)][1] for c in certs] == [c.public_bytes(Encoding.DER) for c in certs]


def _spaced(pem: bytes) -> bytes:
    lines = pem.split(b"\n")
    lines[2] = lines[2][:10] + b" " + lines[2][10:]
    return b"\n".join(lines)


def _two_in_one(a: bytes, b: bytes) -> bytes:
    """Two certificates' base64 in one block (the first one's padding in the middle)."""
    body_a, body_b = a.split(b"-----")[2], b.split(b"-----")[2]
    assert body_a.strip() and body_b.strip()
    return a.replace(body_a, body_a + body_b.lstrip(b"\n"))


_OTHER_FILES = {
    "a key beside the certificate": lambda p: p.leaf.key_pem() + _pem(p.leaf),
    "a space inside the base64": lambda p: _spaced(_pem(p.leaf)),
    "no END line": lambda p: _pem(p.leaf)[:-30],
    "a character outside base64": lambda p: _pem(p.leaf).replace(b"\n", b"!\n", 3),
    "valid base64 but broken DER": lambda p: _pem(p.leaf).replace(
        _pem(p.leaf).split(b"\n")[3], b"A" * 64
    ),
    "two certificates in one block": lambda p: _two_in_one(_pem(p.leaf), _pem(p.inter)),
    "a PKCS#7 chain": lambda p: pkcs7.serialize_certificates([p.leaf.cert], Encoding.PEM),
    "no block": lambda p: b"just words",
    # markers whose dashes run into each other: cryptography's reader sees one block only
    "a BEGIN glued to the END before it": lambda p: _pem(p.leaf).rstrip() + _pem(p.inter)[5:],
    "a BEGIN sharing the END's dashes": lambda p: _pem(p.leaf).rstrip() + _pem(p.inter)[3:],
    "a BEGIN with six dashes": lambda p: _pem(p.leaf) + b"-" + _pem(p.inter),
}


@pytest.mark.parametrize("kind", sorted(_OTHER_FILES))
def test_any_other_file_is_left_to_the_reader_it_always_had(
    pki: Pki, tmp_path: Path, kind: str
) -> None:
    """Not plain: the fast path declines, records nothing, and the file loads (or fails) as
    cryptography's reader and the scanner decide."""
    data = _OTHER_FILES[kind](pki)
    ders: DerOf = {}
    assert _plain_pem(data, ders) is None
    assert ders == {}
    f = tmp_path / "in.pem"
    f.write_bytes(data)
    try:
        loaded = [c.cert for c in load_file(f)]
    except InputError as exc:
        assert exc.file == str(f)
        return
    # what cryptography's reader gives (the leaf alone where it reads one block)
    expected = (
        x509.load_pem_x509_certificates(data)
        if kind == "two certificates in one block"
        else [pki.leaf.cert]
    )
    assert loaded == expected


def test_load_paths_hands_over_the_der_of_pem_files_only(pki: Pki, tmp_path: Path) -> None:
    pem, der, p7 = tmp_path / "a.pem", tmp_path / "b.cer", tmp_path / "c.p7b"
    pem.write_bytes(_pem(pki.leaf, pki.inter))
    der.write_bytes(pki.root.cert.public_bytes(Encoding.DER))
    p7.write_bytes(pkcs7.serialize_certificates([pki.ec_leaf.cert], Encoding.PEM))
    ders: DerOf = {}
    got = load_paths([pem, der, p7], ders=ders)
    certs = [c.cert for each in got if isinstance(each, tuple) for c in each]
    assert certs == [pki.leaf.cert, pki.inter.cert, pki.root.cert, pki.ec_leaf.cert]
    assert {id(c) for c in certs[:2]} == set(ders)


def test_the_facts_are_the_same_with_the_der_read_or_encoded(pki: Pki) -> None:
    data = _pem(*_issued(pki))
    ders: DerOf = {}
    certs = _plain_pem(data, ders)
    assert certs is not None and len(ders) == len(certs)
    pki_facts.clear_cache()
    pki_facts.prime(certs, ders=ders)
    handed = [pki_facts.facts(c) for c in certs]
    pki_facts.clear_cache()
    pki_facts.prime(certs)
    encoded = [pki_facts.facts(c) for c in certs]
    assert handed == encoded
    assert [f.fingerprint for f in handed] == [
        "sha256:" + c.fingerprint(hashes.SHA256()).hex() for c in certs
    ]


def test_a_stale_entry_is_not_taken_for_the_certificate(pki: Pki) -> None:
    """An entry whose certificate is another object (an id reused) is ignored: the facts are
    those of the certificate itself."""
    cert = pki.leaf.cert
    other = pki.root.cert
    stale: DerOf = {id(cert): (other, other.public_bytes(Encoding.DER))}
    pki_facts.clear_cache()
    pki_facts.prime([cert], ders=stale)
    got = pki_facts.facts(cert)
    pki_facts.clear_cache()
    assert got == pki_facts.facts(cert)
    assert got.subject != pki_facts.facts(other).subject


def test_mutated_markers_never_read_differently(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    """Around and inside the markers, dashes, letters, spaces and line ends added or removed at
    random (seeded): whenever the fast path reads a file, it reads what the loader read before it
    existed (cryptography's reader, then the scanner)."""
    import random

    from mratrust.pki import load as pki_load

    def before(blob: bytes) -> list[x509.Certificate] | str:
        with monkeypatch.context() as m:
            m.setattr(pki_load, "_plain_pem", lambda data, ders: None)
            try:
                return pki_load._from_pem(blob, "f.pem", None)
            except InputError as exc:
                return str(exc)

    rng = random.Random(20261201)
    base = _pem(pki.leaf) + b"between\n" + _pem(pki.inter)
    marks = [i for i in range(len(base)) if base[i : i + 5] == b"-----"]
    read = 0
    for _ in range(3000):
        data = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            at = min(rng.choice(marks) + rng.randint(-2, 30), len(data))
            if rng.random() < 0.5 and at < len(data):
                del data[at : at + rng.randint(1, 4)]
            else:
                data[at:at] = rng.choice([b"-", b"--", b"\n", b" ", b"X", b"\r\n", b"-----"])
        blob = bytes(data)
        fast = _plain_pem(blob, None)
        if fast is None:
            continue
        read += 1
        assert fast == before(blob), blob
    assert read > 50  # the fast path did read many of them
