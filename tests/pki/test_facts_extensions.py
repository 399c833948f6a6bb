"""The extensions read from the DER give what cryptography's objects give, or are left to them.

The reference is :meth:`mratrust.pki.facts._Extensions.values` (cryptography's objects). Every
shape the DER reader takes is compared with it; every shape it leaves is shown to be left; and
every byte of a certificate's extensions, changed, still gives the same values or is left.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from mratrust.pki import facts as F

_KEY = ec.generate_private_key(ec.SECP256R1())
_ISSUER_KEY = ec.generate_private_key(ec.SECP256R1())
_KU = {
    "digital_signature": False,
    "content_commitment": False,
    "key_encipherment": False,
    "data_encipherment": False,
    "key_agreement": False,
    "key_cert_sign": False,
    "crl_sign": False,
    "encipher_only": False,
    "decipher_only": False,
}


def _ku(**on: bool) -> x509.KeyUsage:
    return x509.KeyUsage(**{**_KU, **on})


def _cert(*extensions: tuple[x509.ExtensionType, bool]) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ext.example.com")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .serial_number(11)
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(_KEY, hashes.SHA256())


def _both(cert: x509.Certificate) -> tuple[F._ExtValues | None, F._ExtValues]:
    der = cert.public_bytes(Encoding.DER)
    twin = x509.load_der_x509_certificate(der)
    return F._der_extensions(der, F._tbs_walk(der)), F._Extensions(twin).values()


SKI = x509.SubjectKeyIdentifier.from_public_key(_KEY.public_key())
AKI = x509.AuthorityKeyIdentifier.from_issuer_public_key(_ISSUER_KEY.public_key())
SERVER_CLIENT = x509.ExtendedKeyUsage(
    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
)
SAN = x509.SubjectAlternativeName(
    [
        x509.DNSName("ext.example.com"),
        x509.DNSName("*.example.com"),
        x509.IPAddress(ipaddress.ip_address("10.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
    ]
)
LEAF = (
    (x509.BasicConstraints(ca=False, path_length=None), True),
    (SKI, False),
    (AKI, False),
    (_ku(digital_signature=True, key_encipherment=True), True),
    (SERVER_CLIENT, False),
    (SAN, False),
)

READ = {
    "a leaf as pkigen makes it": LEAF,
    "a CA": (
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (SKI, False),
        (_ku(key_cert_sign=True, crl_sign=True), True),
    ),
    "a CA with a path length": ((x509.BasicConstraints(ca=True, path_length=0), False),),
    "a CA with a path length of 127": ((x509.BasicConstraints(ca=True, path_length=127), True),),
    "basicConstraints not critical": ((x509.BasicConstraints(ca=False, path_length=None), False),),
    "every key usage bit but the last two": (
        (
            _ku(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=True,
            ),
            False,
        ),
    ),
    "keyAgreement alone": ((_ku(key_agreement=True), False),),
    "every usage mratrust names": ((x509.ExtendedKeyUsage(list(F._EKU_NAMES)), True),),
    "a usage twice": (
        (
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            False,
        ),
    ),
    "a SAN of one address": (
        (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("::"))]), False),
    ),
    "a long SAN (lengths in two octets)": (
        (
            x509.SubjectAlternativeName(
                [x509.DNSName(f"node{i:03}.example.com") for i in range(200)]
            ),
            False,
        ),
    ),
    "the key identifiers alone": ((SKI, False), (AKI, False)),
}


@pytest.mark.parametrize("name", list(READ))
def test_the_shapes_read_from_the_der_give_cryptographys_values(name: str) -> None:
    fast, slow = _both(_cert(*READ[name]))
    assert fast is not None, "this shape is meant to be read from the DER"
    assert fast == slow and slow[-1] is None


_OTHER_OID = ObjectIdentifier("1.2.3.4.5.6")
LEFT = {
    "no extensions": (),
    "another extension": (*LEAF, (x509.UnrecognizedExtension(_OTHER_OID, b"\x05\x00"), False)),
    "authorityInfoAccess": (
        (
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier("http://ca.example.com/ca.crt"),
                    )
                ]
            ),
            False,
        ),
    ),
    "nameConstraints": (
        (
            x509.NameConstraints(
                permitted_subtrees=[x509.DNSName("example.com")], excluded_subtrees=None
            ),
            True,
        ),
    ),
    "a SAN with an e-mail address": (
        (x509.SubjectAlternativeName([x509.RFC822Name("a@example.com")]), False),
    ),
    "a SAN with a URI": (
        (x509.SubjectAlternativeName([x509.UniformResourceIdentifier("sip:a@b")]), False),
    ),
    "a SAN with a space in a DNS name": (
        (x509.SubjectAlternativeName([x509.DNSName("a b.example.com")]), False),
    ),
    "an empty SAN": (
        (x509.UnrecognizedExtension(x509.OID_SUBJECT_ALTERNATIVE_NAME, b"0\x00"), False),
    ),
    "a usage mratrust does not name": (
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, _OTHER_OID]), False),
    ),
    "anyExtendedKeyUsage": (
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]), False),
    ),
    "encipherOnly": ((_ku(key_agreement=True, encipher_only=True), True),),
    "decipherOnly": ((_ku(key_agreement=True, decipher_only=True), True),),
    "no key usage bit": ((_ku(), True),),
    "a path length of 128": ((x509.BasicConstraints(ca=True, path_length=128), True),),
    "an AKI with issuer and serial": (
        (
            x509.AuthorityKeyIdentifier(
                key_identifier=b"\x01\x02",
                authority_cert_issuer=[x509.DNSName("ca.example.com")],
                authority_cert_serial_number=5,
            ),
            False,
        ),
    ),
    "an AKI without a key identifier": (
        (x509.UnrecognizedExtension(x509.OID_AUTHORITY_KEY_IDENTIFIER, b"0\x00"), False),
    ),
    "an empty SKI": (
        (x509.UnrecognizedExtension(x509.OID_SUBJECT_KEY_IDENTIFIER, b"\x04\x00"), False),
    ),
    # cryptography cannot read these: its error is the facts' "malformed"
    "a truncated SAN": (
        (x509.UnrecognizedExtension(x509.OID_SUBJECT_ALTERNATIVE_NAME, b"\x30\x03\x82"), False),
    ),
    "basicConstraints CA:FALSE with a path length": (
        (x509.UnrecognizedExtension(x509.OID_BASIC_CONSTRAINTS, b"0\x03\x02\x01\x00"), True),
    ),
    "keyUsage with a padding bit set": (
        (x509.UnrecognizedExtension(x509.OID_KEY_USAGE, b"\x03\x02\x01\x81"), True),
    ),
    "trailing bytes after keyUsage": (
        (x509.UnrecognizedExtension(x509.OID_KEY_USAGE, b"\x03\x02\x05\xa0\x00"), True),
    ),
    "a long-form length that fits the short form": (
        (x509.UnrecognizedExtension(x509.OID_SUBJECT_KEY_IDENTIFIER, b"\x04\x81\x02ab"), False),
    ),
}


@pytest.mark.parametrize("name", list(LEFT))
def test_other_shapes_are_left_to_cryptography(name: str) -> None:
    cert = _cert(*LEFT[name])
    fast, slow = _both(cert)
    assert fast is None
    (found,) = F._facts_of([cert], [cert.public_bytes(Encoding.DER)])
    assert found.malformed == slow[-1] and found.has_san == (slow[0] is not None)


def test_the_malformed_ones_are_malformed() -> None:
    """What the last cases above are meant to exercise (else they prove less)."""
    for name in list(LEFT)[-5:]:
        assert _both(_cert(*LEFT[name]))[1][-1], name
    for name in list(LEFT)[:-5]:
        assert _both(_cert(*LEFT[name]))[1][-1] is None, name


def test_a_repeated_extension_is_left_to_cryptography() -> None:
    der = _cert(*LEAF, (x509.UnrecognizedExtension(_OTHER_OID, b"\x05\x00"), False)).public_bytes(
        Encoding.DER
    )
    ski_oid = F._oid_content("2.5.29.14")
    other = F._oid_content(_OTHER_OID.dotted_string)
    assert len(other) == len(ski_oid) + 2
    # the unknown extension becomes a second SKI (the OID and its length shortened, the value
    # padded to keep every length): cryptography raises DuplicateExtension
    patched = der.replace(
        b"\x06\x05" + other + b"\x04\x02\x05\x00",
        b"\x06\x03" + ski_oid + b"\x04\x04\x04\x02\x05\x00",
    )
    assert patched != der and len(patched) == len(der)
    cert = x509.load_der_x509_certificate(patched)
    with pytest.raises(x509.DuplicateExtension):
        _ = cert.extensions
    fast, slow = _both(cert)
    assert fast is None and slow[-1]


def test_the_oid_encoder_writes_what_cryptography_writes() -> None:
    for oid in [*F._EKU_NAMES, _OTHER_OID, ObjectIdentifier("2.999.1234567")]:
        ext = x509.ExtendedKeyUsage([oid]).public_bytes()
        assert ext[4:] == F._oid_content(oid.dotted_string)


def _extensions_span(der: bytes) -> range:
    walk = F._tbs_walk(der)
    assert walk is not None
    at = F._strict(der, walk[1], walk[2])[1]  # past subjectPublicKeyInfo
    assert der[at] == 0xA3
    return range(at, walk[2])


def test_every_byte_changed_gives_the_same_values_or_is_left() -> None:
    der = _cert(*LEAF).public_bytes(Encoding.DER)
    read = left = 0
    seen: dict[bytes, F._Read] = {}  # shared, as prime shares it: the same answers
    assert F._der_extensions(der, F._tbs_walk(der), seen) is not None and seen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for at in _extensions_span(der):
            for value in {der[at] ^ 0x01, der[at] ^ 0x80, 0x00, 0xFF, 0x30, 0x04} - {der[at]}:
                changed = der[:at] + bytes([value]) + der[at + 1 :]
                try:
                    cert = x509.load_der_x509_certificate(changed)
                except ValueError:
                    continue
                fast, slow = _both(cert)
                again = cert.public_bytes(Encoding.DER)
                assert F._der_extensions(again, F._tbs_walk(again), seen) == fast
                if fast is None:
                    left += 1
                else:
                    read += 1
                    assert fast == slow, (at, value)
    assert read > 100 and left > 100  # both ways are exercised


def test_extensions_read_once_give_each_certificate_its_own_tuples() -> None:
    # two certificates with the same extensions: read once, equal values, tuples of their own
    first, second = _cert(*LEAF), _cert(*LEAF)
    seen: dict[bytes, F._Read] = {}
    values = []
    for cert in (first, second):
        der = cert.public_bytes(Encoding.DER)
        values.append(F._der_extensions(der, F._tbs_walk(der), seen))
    a, b = values
    assert a is not None and b is not None and a == b == _both(first)[1]
    assert len(seen) == len(LEAF)  # the second certificate's were all found
    for place in (F._SAN_AT, F._EKU_AT, F._KU_AT):  # tuples of their own, as cryptography's
        assert a[place] is not b[place], place
    assert a[0] is not None and b[0] is not None
    assert a[0][0] is not b[0][0] and a[0][1] is not b[0][1]
    assert a[F._AKI_AT] is b[F._AKI_AT]  # bytes are shared
    # twin: without the shared reading, each reads its own (and gives the same)
    alone = [F._der_extensions(d, F._tbs_walk(d)) for d in (first.public_bytes(Encoding.DER),)]
    assert alone == [a]
