"""The facts read from a certificate's DER (names, fingerprint) against cryptography's objects.

:func:`~mratrust.pki.facts.facts` reads plain names straight from the DER and hashes the DER it
already has for the fingerprint. Each case here compares it with the straightforward reading
(every name through ``cert.subject``/``cert.issuer``, the fingerprint through
``cert.fingerprint``), on plain names (the fast path taken) and on odd ones (not taken: the
objects decide, with their warnings and errors).
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID, ObjectIdentifier

from mratrust.pki import facts as F
from mratrust.pki.load import fingerprint

# the certificate with a negative serial number warns each time it is parsed: expected here
pytestmark = pytest.mark.filterwarnings(
    "ignore:Parsed a serial number:cryptography.utils.CryptographyDeprecationWarning"
)

_EC_KEY = ec.generate_private_key(ec.SECP256R1())
_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_SHA256 = hashes.SHA256()


def _attr(
    oid: ObjectIdentifier, value: str, kind: _ASN1Type | None = None
) -> x509.NameAttribute[str]:
    with warnings.catch_warnings():  # the odd lengths below are meant
        warnings.simplefilter("ignore")
        return x509.NameAttribute(oid, value, _type=kind, _validate=False)


def _name(*attrs: x509.NameAttribute[str] | x509.RelativeDistinguishedName) -> x509.Name:
    return x509.Name(
        [
            a
            if isinstance(a, x509.RelativeDistinguishedName)
            else x509.RelativeDistinguishedName([a])
            for a in attrs
        ]
    )


CN, ORG, OU, C = (
    NameOID.COMMON_NAME,
    NameOID.ORGANIZATION_NAME,
    NameOID.ORGANIZATIONAL_UNIT_NAME,
    NameOID.COUNTRY_NAME,
)


def _cert(
    subject: x509.Name,
    issuer: x509.Name | None = None,
    *,
    key: object = _EC_KEY,
    algorithm: hashes.HashAlgorithm | None = _SHA256,
    extensions: tuple[x509.ExtensionType, ...] = (),
    serial: int = 7,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer)
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(serial)
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    )
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(key, algorithm)  # type: ignore[arg-type]


def _patched(cert: x509.Certificate, old: bytes, new: bytes, count: int = 1) -> x509.Certificate:
    """The certificate with some bytes of its DER replaced by as many others (lengths stay)."""
    der = cert.public_bytes(Encoding.DER)
    assert len(old) == len(new) and der.count(old) == count
    with warnings.catch_warnings():  # a negative serial number: cryptography warns, and loads it
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return x509.load_der_x509_certificate(der.replace(old, new))


def _reference(cert: x509.Certificate) -> F.CertFacts:
    """The facts read the straightforward way: every name and the fingerprint from the objects."""
    twin = x509.load_der_x509_certificate(cert.public_bytes(Encoding.DER))
    return F._build(
        twin,
        F._names_of(twin),
        F._Extensions(twin).values(),
        F._key_facts(twin),
        fingerprint(twin),
    )


def _both(cert: x509.Certificate) -> tuple[object, object, list[str], list[str]]:
    """(reference, facts) of ``cert``, or the error each raised, and the warnings each gave."""
    results: list[object] = []
    messages: list[list[str]] = []
    for compute in (_reference, F.facts):
        F.clear_cache()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                results.append(compute(cert))
            except Exception as exc:  # compared below: the same error both ways
                results.append((type(exc), str(exc)))
        messages.append([str(w.message) for w in caught])
    return results[0], results[1], messages[0], messages[1]


def _subject_der(cert: x509.Certificate) -> bytes:
    walk = F._tbs_walk(cert.public_bytes(Encoding.DER))
    assert walk is not None
    return walk[0][1]


# names the DER reader takes: (name, its RFC 4514 text)
PLAIN = [
    (_name(_attr(CN, "cucm1.example.com")), "CN=cucm1.example.com"),
    (_name(_attr(CN, "cucm1", _ASN1Type.PrintableString)), "CN=cucm1"),
    (_name(_attr(CN, "cucm.example.com", _ASN1Type.IA5String)), "CN=cucm.example.com"),
    (_name(_attr(CN, "x")), "CN=x"),
    (_name(_attr(CN, "a" * 64)), "CN=" + "a" * 64),
    (
        _name(
            _attr(C, "US"),
            _attr(NameOID.STATE_OR_PROVINCE_NAME, "California"),
            _attr(NameOID.LOCALITY_NAME, "San Jose"),
            _attr(ORG, "Example Corp."),
            _attr(OU, "Unified Communications"),
            _attr(CN, "cucm-pub.example.com"),
        ),
        "CN=cucm-pub.example.com,OU=Unified Communications,O=Example Corp.,L=San Jose,"
        "ST=California,C=US",
    ),
    (
        _name(
            _attr(NameOID.DOMAIN_COMPONENT, "com"),
            _attr(NameOID.DOMAIN_COMPONENT, "example"),
            _attr(NameOID.STREET_ADDRESS, "1 Main St (rear)"),
            _attr(NameOID.USER_ID, "admin@example.com"),
            _attr(CN, "Issuing CA 01"),
            _attr(CN, "second:cn/2"),
        ),
        "CN=second:cn/2,CN=Issuing CA 01,UID=admin@example.com,STREET=1 Main St (rear),"
        "DC=example,DC=com",
    ),
    (_name(_attr(ORG, "no common name")), "O=no common name"),
]

# names it must leave to cryptography's objects
NOT_PLAIN = {
    "escaped comma": _name(_attr(ORG, "Cisco Systems, Inc."), _attr(CN, "cucm")),
    "escaped plus": _name(_attr(CN, "a+b")),
    "leading hash": _name(_attr(CN, "#cucm")),
    "leading space": _name(_attr(CN, " cucm")),
    "trailing space": _name(_attr(CN, "cucm ")),
    "trailing newline": _name(_attr(CN, "cucm\n")),
    "backslash": _name(_attr(CN, "a\\b")),
    "leading star": _name(_attr(CN, "*.example.com")),
    "non-ASCII": _name(_attr(CN, "Zürich CA")),
    "BMPString": _name(_attr(CN, "cucm", _ASN1Type.BMPString)),
    "UniversalString": _name(_attr(CN, "cucm", _ASN1Type.UniversalString)),
    "T61String": _name(_attr(CN, "cucm", _ASN1Type.T61String)),
    "VisibleString": _name(_attr(CN, "cucm", _ASN1Type.VisibleString)),
    "multi-valued RDN": _name(x509.RelativeDistinguishedName([_attr(CN, "a"), _attr(ORG, "b")])),
    "other attribute type": _name(_attr(NameOID.EMAIL_ADDRESS, "pki@example.com"), _attr(CN, "c")),
    "serialNumber": _name(_attr(NameOID.SERIAL_NUMBER, "1234"), _attr(CN, "c")),
    "CN too long (warns)": _name(_attr(CN, "a" * 65)),
    "CN empty (warns)": _name(_attr(CN, "")),
    "country of three letters (warns)": _name(_attr(C, "USA"), _attr(CN, "c")),
    "empty name": x509.Name([]),
}


@pytest.mark.parametrize(("name", "text"), PLAIN, ids=[t for _, t in PLAIN])
def test_plain_names_are_read_from_the_der(name: x509.Name, text: str) -> None:
    cert = _cert(name, _name(_attr(CN, "issuer")))
    cn = name.get_attributes_for_oid(CN)
    assert F._plain_name(_subject_der(cert)) == (text, cn[0].value if cn else None)
    assert text == F.dn(cert.subject)
    reference, found, warned_ref, warned = _both(cert)
    assert found == reference and warned == warned_ref == []


@pytest.mark.parametrize("name", NOT_PLAIN.values(), ids=list(NOT_PLAIN))
def test_other_names_are_left_to_cryptography(name: x509.Name) -> None:
    cert = _cert(name, _name(_attr(CN, "issuer")))
    assert F._plain_name(_subject_der(cert)) is None
    reference, found, warned_ref, warned = _both(cert)
    assert found == reference and warned == warned_ref


def test_a_name_cryptography_warns_about_warns_the_same() -> None:
    cert = _cert(NOT_PLAIN["CN too long (warns)"])
    reference, found, warned_ref, warned = _both(cert)
    assert found == reference
    assert warned == warned_ref and warned and "length must be >= 1 and <= 64" in warned[0]


def test_a_name_cryptography_cannot_read_fails_the_same() -> None:
    # a UTF8String that is not UTF-8: its bytes patched in after signing
    cert = _patched(
        _cert(_name(_attr(CN, "ZZZZ")), _name(_attr(CN, "issuer"))), b"ZZZZ", b"\xff\xfeZZ"
    )
    assert F._plain_name(_subject_der(cert)) is None
    reference, found, _, _ = _both(cert)
    assert isinstance(reference, tuple) and reference[0] is ValueError
    assert found == reference


@pytest.mark.parametrize(
    ("subject", "issuer", "same"),
    [
        # plain both, the same bytes
        (_name(_attr(CN, "ca")), _name(_attr(CN, "ca")), True),
        # plain both, other string types: other bytes, the same text and the same name
        (_name(_attr(CN, "ca")), _name(_attr(CN, "ca", _ASN1Type.PrintableString)), True),
        # plain both, other texts
        (_name(_attr(CN, "ca")), _name(_attr(CN, "cb")), False),
        (_name(_attr(ORG, "x"), _attr(CN, "ca")), _name(_attr(CN, "ca"), _attr(ORG, "x")), False),
        # a plain subject, an issuer that is not plain
        (_name(_attr(CN, "ca")), _name(_attr(CN, "c,a")), False),
        (
            _name(_attr(CN, "ca")),
            _name(x509.RelativeDistinguishedName([_attr(CN, "ca"), _attr(ORG, "x")])),
            False,
        ),
        # not plain both: the objects decide
        (
            _name(x509.RelativeDistinguishedName([_attr(CN, "a+b"), _attr(ORG, "x")])),
            _name(x509.RelativeDistinguishedName([_attr(ORG, "x"), _attr(CN, "a+b")])),
            True,
        ),
    ],
)
def test_same_name_as_the_objects_say(subject: x509.Name, issuer: x509.Name, same: bool) -> None:
    cert = _cert(subject, issuer)
    assert (cert.subject == cert.issuer) is same
    reference, found, _, _ = _both(cert)
    assert isinstance(found, F.CertFacts) and found == reference
    assert F._walked_names(cert, F._tbs_walk(cert.public_bytes(Encoding.DER)), {})[3] is same


def _v1(cert: x509.Certificate) -> x509.Certificate:
    """``cert`` as a version 1 certificate: no version field, no extensions (signature broken)."""
    der = cert.public_bytes(Encoding.DER)

    def parts(data: bytes) -> list[bytes]:
        out, at = [], 0
        while at < len(data):
            end = F._strict(data, at, len(data))[1]
            out.append(data[at:end])
            at = end
        return out

    def wrap(tag: int, content: bytes) -> bytes:
        n = len(content)
        digits = n.to_bytes((n.bit_length() + 7) // 8, "big")  # DER: the fewest length bytes
        size = bytes([n]) if n < 0x80 else bytes([0x80 | len(digits)]) + digits
        return bytes([tag]) + size + content

    tbs, alg, sig = parts(der[F._strict(der, 0, len(der))[0] :])
    fields = [p for p in parts(tbs[F._strict(tbs, 0, len(tbs))[0] :]) if p[0] not in (0xA0, 0xA3)]
    return x509.load_der_x509_certificate(wrap(0x30, wrap(0x30, b"".join(fields)) + alg + sig))


def _odd_certs() -> dict[str, x509.Certificate]:
    plain = _name(_attr(CN, "odd.example.com"))
    issuer = _name(_attr(CN, "issuer"))
    san = x509.SubjectAlternativeName([x509.DNSName("odd.example.com")])
    ski = x509.SubjectKeyIdentifier.from_public_key(_EC_KEY.public_key())
    ext_a, ext_b = ObjectIdentifier("1.2.3.4.5.6"), ObjectIdentifier("1.2.3.4.5.7")
    return {
        "v1": _v1(_cert(plain, issuer, extensions=(san,))),
        "v1 self-issued": _v1(_cert(plain)),
        "negative serial": _patched(
            _cert(plain, issuer, serial=0x7ABC), b"\x02\x02\x7a\xbc", b"\x02\x02\xfa\xbc"
        ),
        "DSA key": _cert(plain, issuer, key=dsa.generate_private_key(2048)),
        "Ed25519 key": _cert(
            plain, issuer, key=ed25519.Ed25519PrivateKey.generate(), algorithm=None
        ),
        "Ed448 key": _cert(plain, issuer, key=ed448.Ed448PrivateKey.generate(), algorithm=None),
        "RSA self-signed": _cert(plain, key=_RSA_KEY, extensions=(san,)),
        "EC self-signed with SKI": _cert(plain, extensions=(ski,)),
        "malformed SAN": _cert(
            plain,
            issuer,
            extensions=(
                x509.UnrecognizedExtension(x509.OID_SUBJECT_ALTERNATIVE_NAME, b"\x30\x03\x82"),
            ),
        ),
        "duplicate extension": _patched(
            _cert(
                plain,
                issuer,
                extensions=(
                    x509.UnrecognizedExtension(ext_a, b"\x05\x00"),
                    x509.UnrecognizedExtension(ext_b, b"\x05\x00"),
                ),
            ),
            b"\x06\x05\x2a\x03\x04\x05\x07",
            b"\x06\x05\x2a\x03\x04\x05\x06",
        ),
        # ecdsa-with-SHA256 turned into an OID no one knows, in both places it is written
        "unsupported signature algorithm": _patched(
            _cert(plain, issuer),
            b"\x2a\x86\x48\xce\x3d\x04\x03\x02",
            b"\x2a\x86\x48\xce\x3d\x04\x03\x7f",
            2,
        ),
    }


ODD = _odd_certs()


@pytest.mark.parametrize("name", list(ODD))
def test_odd_certificates_give_the_same_facts(name: str) -> None:
    cert = ODD[name]
    reference, found, warned_ref, warned = _both(cert)
    assert isinstance(found, F.CertFacts)
    assert found == reference and warned == warned_ref
    assert found.fingerprint == fingerprint(cert)


def test_the_odd_certificates_are_odd() -> None:
    """What each odd certificate is meant to exercise (else the comparison above proves less)."""
    facts = {name: F.facts(cert) for name, cert in ODD.items()}
    assert ODD["v1"].version is x509.Version.v1 and not facts["v1"].has_san
    assert F._tbs_walk(ODD["v1"].public_bytes(Encoding.DER)) is not None
    # the same name (read from the DER), its signature broken by the rewrite: not self-signed
    assert facts["v1 self-issued"].issuer == facts["v1 self-issued"].subject
    assert not facts["v1 self-issued"].self_signed
    assert facts["negative serial"].serial < 0
    assert facts["DSA key"].key.curve == "dsa"
    assert facts["Ed25519 key"].key.curve == "Ed25519PublicKey"
    assert facts["Ed448 key"].key.curve == "Ed448PublicKey"
    assert (
        facts["RSA self-signed"].self_signed and facts["RSA self-signed"].key.type is F.KeyType.RSA
    )
    assert facts["malformed SAN"].malformed and not facts["malformed SAN"].has_san
    assert facts["duplicate extension"].malformed
    assert (facts["unsupported signature algorithm"].signature_hash or "").startswith("unsupported")


def test_not_a_certificate_is_not_walked() -> None:
    der = ODD["RSA self-signed"].public_bytes(Encoding.DER)
    assert F._tbs_walk(der) is not None
    for broken in (b"", b"\x04\x00", der[:40], b"\x30\x03\x02\x01\x07"):
        assert F._tbs_walk(broken) is None


def test_prime_gives_what_facts_gives_for_every_odd_certificate() -> None:
    certs: list[x509.Certificate] = []
    for name, _ in PLAIN:
        certs.append(_cert(name, _name(_attr(CN, "issuer"))))
    certs.extend(ODD.values())
    # the same certificates again, as other objects: once per DER
    again = [x509.load_der_x509_certificate(c.public_bytes(Encoding.DER)) for c in certs]
    F.clear_cache()
    one_by_one = [F.facts(c) for c in certs]
    F.clear_cache()
    F.prime([*certs, *again, *certs])
    assert [F.facts(c) for c in certs] == one_by_one
    assert all(F.facts(a) is F.facts(c) for a, c in zip(again, certs, strict=True))
    assert [f.fingerprint for f in one_by_one] == [fingerprint(c) for c in certs]


@pytest.mark.parametrize("label", sorted(F._LABELS.values()))
def test_each_plain_attribute_type_is_known_to_cryptography(label: str) -> None:
    # the labels come from cryptography; the OIDs' DER, written here, must be those OIDs'
    oid = {v: k for k, v in x509.name._NAMEOID_TO_NAME.items()}[label]  # type: ignore[attr-defined]
    cert = _cert(_name(_attr(oid, "ab" if oid != C else "US")))
    text = F._plain_name(_subject_der(cert))
    assert text is not None and text[0] == F.dn(cert.subject)


def test_lengths_match_what_cryptography_warns_about() -> None:
    limits = x509.name._NAMEOID_LENGTH_LIMIT  # type: ignore[attr-defined]
    by_label = {v: k for k, v in x509.name._NAMEOID_TO_NAME.items()}  # type: ignore[attr-defined]
    labelled = {F._LABELS[der]: lengths for der, lengths in F._LENGTHS.items()}
    assert labelled == {label: limits[oid] for label, oid in by_label.items() if oid in limits}


def test_content_primed_earlier_is_found_for_another_object() -> None:
    # prime leaves the content index for later (hashing a certificate costs): asked, it has them
    first, other = _cert(_name(_attr(CN, "a"))), _cert(_name(_attr(CN, "b")))
    F.clear_cache()
    F.prime([first, other])
    copy = x509.load_der_x509_certificate(first.public_bytes(Encoding.DER))
    assert F.facts(copy) is F.facts(first)
    assert F.facts(copy) is not F.facts(other)
    # and a later prime finds them by content too, without computing them again
    again = x509.load_der_x509_certificate(other.public_bytes(Encoding.DER))
    F.prime([again])
    assert F.facts(again) is F.facts(other)
    before = F.facts(first)
    F.prime([_cert(_name(_attr(CN, "c")))])
    F.clear_cache()  # a cleared cache forgets what waits for the content index as well
    assert (F._BY_DER, F._UNINDEXED) == ({}, [])
    recomputed = F.facts(copy)
    assert recomputed == before and recomputed is not before


def test_the_fingerprint_of_the_der_is_the_certificates() -> None:
    from mratrust.pki.load import der_fingerprint

    certs = [*ODD.values(), _cert(PLAIN[0][0])]
    for cert in certs:
        assert der_fingerprint(cert.public_bytes(Encoding.DER)) == fingerprint(cert)
    assert len({der_fingerprint(c.public_bytes(Encoding.DER)) for c in certs}) == len(certs)


def test_what_waits_for_the_content_index_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(F, "_CACHE_LIMIT", 2)
    F.clear_cache()
    certs = [_cert(_name(_attr(CN, f"n{i}"))) for i in range(5)]
    F.prime(certs)
    assert len(F._UNINDEXED) <= 2 and len(F._BY_DER) <= 2
    assert [F.facts(c).common_name for c in certs] == [f"n{i}" for i in range(5)]
    F.clear_cache()


def _as_the_dataclass_makes_it(found: F.CertFacts) -> F.CertFacts:
    from dataclasses import fields

    return F.CertFacts(**{f.name: getattr(found, f.name) for f in fields(F.CertFacts)})


def test_facts_made_slot_by_slot_are_the_dataclass_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    certs = [*ODD.values(), *(_cert(name, _name(_attr(CN, "issuer"))) for name, _ in PLAIN)]
    F.clear_cache()
    assert F._new_facts.__name__ == "direct"
    for cert in certs:
        found = F.facts(cert)
        plain = _as_the_dataclass_makes_it(found)
        assert type(found) is F.CertFacts and found == plain and repr(found) == repr(plain)
        assert hash(found) == hash(plain)
    # twin: a facts class with work of its own at creation is made by its __init__
    seen: list[str] = []

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Counted(F.CertFacts):
        def __post_init__(self) -> None:
            seen.append(self.subject)

    monkeypatch.setattr(F, "CertFacts", Counted)
    maker = F._facts_maker()
    assert maker.__name__ == "plain"
    first = F.facts(certs[0])
    again = maker(*(getattr(first, name) for name in F._FACT_FIELDS))
    assert type(again) is Counted and seen == [first.subject]
    assert again.fingerprint == first.fingerprint and again.key is first.key
    F.clear_cache()


def _key_reference(cert: x509.Certificate) -> F.KeyFacts:
    """The key facts as the abstract key classes say, one ``isinstance`` after the other."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return F.KeyFacts(type=F.KeyType.RSA, bits=key.key_size, curve=None)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return F.KeyFacts(type=F.KeyType.ECDSA, bits=key.curve.key_size, curve=key.curve.name)
    if isinstance(key, dsa.DSAPublicKey):
        return F.KeyFacts(type=F.KeyType.OTHER, bits=key.key_size, curve="dsa")
    assert isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
    return F.KeyFacts(type=F.KeyType.OTHER, bits=0, curve=type(key).__name__)


def test_key_facts_are_what_the_key_classes_say_and_shared_by_value() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    rsa3072 = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    plain = _name(_attr(CN, "k"))
    certs = [
        *ODD.values(),
        _cert(plain, key=p384),
        _cert(plain, key=rsa3072),
        _cert(_name(_attr(CN, "k2")), key=_RSA_KEY),
    ]
    F._KEY_BRANCH.clear()
    for _ in range(2):  # the kind of each key class asked, then remembered
        found = [F._key_facts(c) for c in certs]
        assert found == [_key_reference(c) for c in certs]
    assert {F._KEY_BRANCH[type(c.public_key())] for c in certs} == {"rsa", "ec", "dsa", "ed"}
    by_value: dict[F.KeyFacts, F.KeyFacts] = {}
    for made in found:
        assert by_value.setdefault(made, made) is made  # one object per value
    # twin: other values are other objects (RSA 2048 and 3072, P-256 and P-384)
    assert len({(k.type, k.bits, k.curve) for k in found}) == len(by_value) >= 6
    assert F._key_branch(object()) == "other"


def test_the_shared_key_facts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(F, "_KEYS", {})
    monkeypatch.setattr(F, "_KEYS_LIMIT", 3)
    for bits in range(5):
        F._known_key(F.KeyType.OTHER, bits, "dsa")
    assert 0 < len(F._KEYS) <= 3
    assert F._known_key(F.KeyType.OTHER, 7, "dsa") == F.KeyFacts(
        type=F.KeyType.OTHER, bits=7, curve="dsa"
    )


def test_prime_shares_facts_by_content_not_by_signature() -> None:
    first = _cert(_name(_attr(CN, "same-signature")), _name(_attr(CN, "issuer")), serial=0x5A5A)
    copy = x509.load_der_x509_certificate(first.public_bytes(Encoding.DER))
    # twin: the serial number changed after signing, the signature bytes kept
    other = _patched(first, b"\x02\x02\x5a\x5a", b"\x02\x02\x5a\x5b")
    assert other.signature == first.signature and other != first and copy == first
    F.clear_cache()
    F.prime([first, other, copy, other])
    assert F.facts(copy) is F.facts(first)
    assert F.facts(other) is not F.facts(first)
    assert (F.facts(first).serial, F.facts(other).serial) == (0x5A5A, 0x5A5B)
    assert F.facts(other).fingerprint == fingerprint(other) != F.facts(first).fingerprint
    assert len(F._UNINDEXED) == 2
    F.clear_cache()


def _index_reference(cert: x509.Certificate) -> tuple[str, str]:
    return F.dn(cert.subject), fingerprint(cert)


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, id=t) for n, t in PLAIN]
    + [pytest.param(n, id=k) for k, n in NOT_PLAIN.items() if "warns" not in k],
)
def test_a_bundle_entry_is_indexed_by_the_subject_and_fingerprint_facts_give(
    name: x509.Name,
) -> None:
    cert = _cert(name, _name(_attr(CN, "issuer")))
    assert F.index_key(cert) == _index_reference(cert)
    F.clear_cache()
    assert F.index_key(cert) == (F.facts(cert).subject, F.facts(cert).fingerprint)


def test_every_root_of_mozillas_store_is_indexed_as_before() -> None:
    from mratrust.sunset import policy

    roots = policy().roots.certs
    assert len(roots) > 100
    keys = [F.index_key(c) for c in roots]
    assert keys == [_index_reference(c) for c in roots]
    # both readings are exercised: most names are plain, some are not (UTF-8, several RDNs...)
    plain = [c for c in roots if F._plain_name(_subject_der(c)) is not None]
    assert 0 < len(plain) < len(roots)
