from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from mratrust.pki.facts import KeyType, NameMatch, dn, facts, is_fqdn, match_name
from tests.pki.conftest import Pki


def test_leaf_facts(pki: Pki) -> None:
    f = facts(pki.leaf.cert)
    assert f.common_name == "node1.example.com"
    assert f.san_dns == ("node1.example.com",) and f.san_ip == ("10.0.0.1",)
    assert f.issuer == "CN=T-INT"
    assert f.key.type is KeyType.RSA and f.key.bits == 2048
    assert f.signature_hash == "sha256"
    assert set(f.eku) == {"serverAuth", "clientAuth"}
    assert "digital_signature" in f.key_usage
    assert f.is_ca is False and not f.self_signed and not f.wildcard and not f.multi_server
    assert f.fingerprint.startswith("sha256:") and len(f.fingerprint) == 71


def test_ecdsa_key(pki: Pki) -> None:
    k = facts(pki.ec_leaf.cert).key
    assert k.type is KeyType.ECDSA and k.curve == "secp256r1" and "ECDSA" in k.describe()


def test_cucm_self_signed(pki: Pki) -> None:
    f = facts(pki.cucm_self.cert)
    assert f.self_signed and f.is_ca is True and "key_cert_sign" in f.key_usage


def test_enterprise_ca_non_critical_bc(pki: Pki) -> None:
    f = facts(pki.enterprise_root.cert)
    assert f.is_ca is True and not f.basic_constraints_critical
    assert facts(pki.root.cert).basic_constraints_critical


def test_multi_server_and_twin(pki: Pki) -> None:
    f = facts(pki.multi.cert)
    assert f.multi_server and f.common_name == "cucm-pub-ms.example.com"
    assert not facts(pki.leaf.cert).multi_server


def test_wildcard_and_twin(pki: Pki) -> None:
    assert facts(pki.wildcard.cert).wildcard
    assert not facts(pki.leaf.cert).wildcard


def test_server_only_eku(pki: Pki) -> None:
    f = facts(pki.server_only.cert)
    assert f.server_auth and not f.client_auth


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("node1.example.com", NameMatch.SAN),
        ("NODE1.example.com.", NameMatch.SAN),
        ("10.0.0.1", NameMatch.SAN),
        ("node2.example.com", NameMatch.NONE),
        ("10.0.0.2", NameMatch.NONE),
    ],
)
def test_name_match(pki: Pki, name: str, expected: NameMatch) -> None:
    assert match_name(facts(pki.leaf.cert), name) is expected


def test_cn_fallback_only_without_san_match(pki: Pki) -> None:
    f = facts(pki.cn_only.cert)
    assert match_name(f, "cnonly.example.com") is NameMatch.CN_FALLBACK
    assert match_name(f, "cnonly.example.com", cn_fallback=False) is NameMatch.NONE


def test_wildcard_matching(pki: Pki) -> None:
    f = facts(pki.wildcard.cert)
    assert match_name(f, "a.example.com") is NameMatch.SAN
    assert match_name(f, "a.b.example.com") is NameMatch.NONE


@pytest.mark.parametrize(
    ("name", "fqdn"),
    [
        ("cucm-pub.example.com", True),
        ("cucm-pub.example.com.", True),
        ("a.b", True),
        ("x" * 63 + ".example.com", True),
        ("cucm-pub", False),
        ("cucm-pub.", False),
        ("10.1.1.1", False),
        ("::1", False),
        ("cucm-pub..example.com", False),
        (".cucm-pub.example.com", False),
        ("x" * 64 + ".example.com", False),
        (("a" * 60 + ".") * 4 + "example.com", False),  # 255 characters
    ],
)
def test_is_fqdn(name: str, fqdn: bool) -> None:
    assert is_fqdn(name) is fqdn


def _signed_by_itself(subject: x509.Name, issuer: x509.Name) -> x509.Certificate:
    """A certificate signed with its own key, its AKI its own SKI: only the names can say it is
    not self-signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
        .sign(key, hashes.SHA256())
    )


def _cn(value: str, kind: _ASN1Type = _ASN1Type.UTF8String) -> x509.NameAttribute[str]:
    return x509.NameAttribute(NameOID.COMMON_NAME, value, _type=kind)


_ORG = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example")


@pytest.mark.parametrize(
    ("subject", "issuer"),
    [
        # the same name in other string types: other bytes, an equal x509.Name
        ([_cn("cucm-ca")], [_cn("cucm-ca", _ASN1Type.PrintableString)]),
        # one RDN with two attributes, listed in the other order
        (
            [x509.RelativeDistinguishedName([_cn("a+b"), _ORG])],
            [x509.RelativeDistinguishedName([_ORG, _cn("a+b")])],
        ),
        ([_ORG, _cn("plain")], [_ORG, _cn("plain")]),
    ],
)
def test_self_signed_when_the_names_are_equal(subject: list[Any], issuer: list[Any]) -> None:
    cert = _signed_by_itself(x509.Name(subject), x509.Name(issuer))
    assert cert.subject == cert.issuer  # what "the same name" means
    f = facts(cert)
    assert f.self_signed
    assert (f.subject, f.issuer) == (dn(cert.subject), dn(cert.issuer))


@pytest.mark.parametrize(
    ("subject", "issuer"),
    [
        ([_cn("cucm-ca")], [_cn("cucm-cb", _ASN1Type.PrintableString)]),
        (
            [x509.RelativeDistinguishedName([_cn("a+b"), _ORG])],
            [x509.RelativeDistinguishedName([_ORG, _cn("a")])],
        ),
        ([_ORG, _cn("plain")], [_cn("plain"), _ORG]),  # the same attributes, other RDN order
        ([_cn("a,b")], [_cn("a"), _cn("b")]),  # one escaped comma is not two RDNs
    ],
)
def test_not_self_signed_when_the_names_differ(subject: list[Any], issuer: list[Any]) -> None:
    # signed by its own key all the same: the names alone decide
    cert = _signed_by_itself(x509.Name(subject), x509.Name(issuer))
    assert cert.subject != cert.issuer
    f = facts(cert)
    assert not f.self_signed
    assert (f.subject, f.issuer) == (dn(cert.subject), dn(cert.issuer))


def test_facts_are_found_by_content_for_another_object(pki: Pki) -> None:
    twin = x509.load_der_x509_certificate(pki.leaf.cert.public_bytes(Encoding.DER))
    assert twin is not pki.leaf.cert
    assert facts(twin) is facts(pki.leaf.cert)
    assert facts(pki.inter.cert) is not facts(pki.leaf.cert)


def test_prime_computes_what_facts_computes(pki: Pki) -> None:
    from mratrust.pki.facts import clear_cache, prime

    certs = [pki.leaf.cert, pki.cucm_self.cert, pki.multi.cert, pki.ec_leaf.cert, pki.root.cert]
    clear_cache()
    one_by_one = [facts(c) for c in certs]
    clear_cache()
    twin = x509.load_der_x509_certificate(pki.leaf.cert.public_bytes(Encoding.DER))
    prime([*certs, twin, pki.leaf.cert])  # repeats, by object and by content
    primed = [facts(c) for c in certs]
    assert primed == one_by_one
    assert all(a is not b for a, b in zip(primed, one_by_one, strict=True))  # computed again
    assert facts(twin) is facts(pki.leaf.cert)  # once per DER
    prime(certs)  # known already: the same objects stay
    assert [facts(c) for c in certs] == primed and facts(certs[0]) is primed[0]


def test_facts_without_prime_are_computed_on_demand(pki: Pki) -> None:
    from mratrust.pki.facts import clear_cache, prime

    clear_cache()
    prime([pki.leaf.cert])
    f = facts(pki.inter.cert)  # not primed
    assert f.subject == "CN=T-INT" and f.is_ca is True
