"""The PKI generator builds real, well-formed X.509 material."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from mratrust.lab.pkigen import (
    Eku,
    Issued,
    KeyPool,
    KeyType,
    Validity,
    ecdsa_common_name,
    make_ca,
    make_cucm_self_signed,
    make_leaf,
    make_multi_server,
    multi_server_common_name,
    write_certs,
    write_key,
)

NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pool() -> KeyPool:
    return KeyPool()


@pytest.fixture(scope="module")
def root(pool: KeyPool) -> Issued:
    return make_ca("T-ROOT", now=NOW, pool=pool)


@pytest.fixture(scope="module")
def inter(pool: KeyPool, root: Issued) -> Issued:
    return make_ca("T-INT", now=NOW, issuer=root, pool=pool)


def ext(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.Extension[x509.ExtensionType]:
    return cert.extensions.get_extension_for_oid(oid)


def san_of(cert: x509.Certificate) -> list[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(g.value) for g in san]


def eku_of(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return set()


# --------------------------------------------------------------------------- CAs


def test_ca_has_critical_basic_constraints_and_cert_sign(root: Issued, inter: Issued) -> None:
    for ca in (root, inter):
        bc = ext(ca.cert, ExtensionOID.BASIC_CONSTRAINTS)
        assert bc.critical
        assert isinstance(bc.value, x509.BasicConstraints) and bc.value.ca
        ku = ca.cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert ku.key_cert_sign and ku.crl_sign
    assert root.is_self_signed and not inter.is_self_signed
    inter.cert.verify_directly_issued_by(root.cert)


def test_aki_of_intermediate_is_ski_of_root(root: Issued, inter: Issued) -> None:
    ski = root.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = inter.cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_enterprise_ca_variant_has_non_critical_basic_constraints(pool: KeyPool) -> None:
    ca = make_ca("T-LAX", now=NOW, critical_basic_constraints=False, pool=pool)
    assert not ext(ca.cert, ExtensionOID.BASIC_CONSTRAINTS).critical


def test_ecdsa_ca_uses_p256(pool: KeyPool) -> None:
    ca = make_ca("T-EC-ROOT", now=NOW, key_type=KeyType.EC, pool=pool)
    key = ca.cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    assert ca.key_type is KeyType.EC


def test_rsa_ca_is_2048(root: Issued) -> None:
    key = root.cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048


# --------------------------------------------------------------------------- leaves


def test_leaf_with_dns_and_ip_san_verifies_as_webpki(root: Issued, inter: Issued) -> None:
    leaf = make_leaf(
        "node.example.com", now=NOW, issuer=inter, san=("node.example.com", "192.0.2.10")
    )
    sans = leaf.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(v) for v in sans.get_values_for_type(x509.DNSName)] == ["node.example.com"]
    assert [str(v) for v in sans.get_values_for_type(x509.IPAddress)] == ["192.0.2.10"]
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([root.cert]))
        .time(NOW)
        .build_server_verifier(x509.DNSName("node.example.com"))
    )
    chain = verifier.verify(leaf.cert, [inter.cert])
    assert chain[-1] == root.cert


def test_leaf_does_not_verify_for_another_name(root: Issued, inter: Issued) -> None:
    leaf = make_leaf("node.example.com", now=NOW, issuer=inter, san=("node.example.com",))
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([root.cert]))
        .time(NOW)
        .build_server_verifier(x509.DNSName("other.example.com"))
    )
    with pytest.raises(verification.VerificationError):
        verifier.verify(leaf.cert, [inter.cert])


@pytest.mark.parametrize(
    ("eku", "expected"),
    [
        pytest.param((Eku.SERVER_AUTH, Eku.CLIENT_AUTH), {"server", "client"}, id="both"),
        pytest.param((Eku.SERVER_AUTH,), {"server"}, id="server-only"),
        pytest.param((Eku.CLIENT_AUTH,), {"client"}, id="client-only"),
        pytest.param((), set(), id="none"),
    ],
)
def test_leaf_eku_any_subset(inter: Issued, eku: tuple[Eku, ...], expected: set[str]) -> None:
    leaf = make_leaf("e.example.com", now=NOW, issuer=inter, san=("e.example.com",), eku=eku)
    names = {
        ExtendedKeyUsageOID.SERVER_AUTH: "server",
        ExtendedKeyUsageOID.CLIENT_AUTH: "client",
    }
    assert {names[o] for o in eku_of(leaf.cert)} == expected


def test_cn_only_leaf_has_no_san(inter: Issued) -> None:
    leaf = make_leaf("cn-only.example.com", now=NOW, issuer=inter, san=())
    with pytest.raises(x509.ExtensionNotFound):
        leaf.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert leaf.common_name == "cn-only.example.com"


def test_leaf_needs_a_name(inter: Issued) -> None:
    with pytest.raises(ValueError, match="common name or at least one SAN"):
        make_leaf(None, now=NOW, issuer=inter, san=())


def test_wildcard_leaf(inter: Issued) -> None:
    leaf = make_leaf("*.example.com", now=NOW, issuer=inter, san=("*.example.com",))
    assert san_of(leaf.cert) == ["*.example.com"]


def test_leaf_is_not_a_ca(root: Issued, inter: Issued) -> None:
    leaf = make_leaf("l.example.com", now=NOW, issuer=inter, san=("l.example.com",))
    bc = leaf.cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert not bc.ca
    assert leaf.chain() == (leaf.cert, inter.cert)
    assert leaf.chain(include_root=True) == (leaf.cert, inter.cert, root.cert)
    assert leaf.root() is root


@pytest.mark.parametrize(
    ("validity", "valid_now"),
    [
        pytest.param(Validity.around(NOW), True, id="valid"),
        pytest.param(Validity.expired(NOW, days_ago=1), False, id="expired"),
        pytest.param(Validity.not_yet_valid(NOW, days_ahead=3), False, id="not-yet-valid"),
    ],
)
def test_validity_windows(inter: Issued, validity: Validity, valid_now: bool) -> None:
    leaf = make_leaf(
        "v.example.com", now=NOW, issuer=inter, san=("v.example.com",), validity=validity
    )
    cert = leaf.cert
    assert (cert.not_valid_before_utc <= NOW <= cert.not_valid_after_utc) is valid_now
    assert cert.not_valid_before_utc == validity.not_before
    assert cert.not_valid_after_utc == validity.not_after


def test_expired_window_ended_days_ago() -> None:
    window = Validity.expired(NOW, days_ago=1)
    assert window.not_after == NOW - timedelta(days=1)


def test_inverted_validity_is_refused(inter: Issued) -> None:
    bad = Validity(not_before=NOW, not_after=NOW - timedelta(seconds=1))
    with pytest.raises(ValueError, match="not_after must be later"):
        make_leaf("x.example.com", now=NOW, issuer=inter, san=("x.example.com",), validity=bad)


# --------------------------------------------------------------------------- CUCM styles


@pytest.mark.parametrize("key_type", [KeyType.RSA, KeyType.EC], ids=["rsa", "ecdsa"])
def test_cucm_self_signed_identity(key_type: KeyType) -> None:
    ident = make_cucm_self_signed("cucm-pub.example.com", now=NOW, key_type=key_type)
    cert = ident.cert
    assert ident.is_self_signed and cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert san_of(cert) == ["cucm-pub.example.com"]
    assert eku_of(cert) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    expected_cn = "cucm-pub.example.com" if key_type is KeyType.RSA else "cucm-pub-EC.example.com"
    assert ident.common_name == expected_cn
    assert ident.key_type is key_type


def test_ecdsa_common_name_convention() -> None:
    assert ecdsa_common_name("cuc1.example.com") == "cuc1-EC.example.com"
    assert ecdsa_common_name("cucm-pub") == "cucm-pub-EC"


def test_multi_server_certificate(inter: Issued) -> None:
    nodes = ("cucm-pub.example.com", "cucm-sub1.example.com")
    ms = make_multi_server(nodes, now=NOW, issuer=inter)
    assert ms.common_name == "cucm-pub-ms.example.com"
    assert san_of(ms.cert) == list(nodes)
    assert not ms.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ms.cert.verify_directly_issued_by(inter.cert)


def test_self_signed_multi_server_is_ca_like_cucm() -> None:
    ms = make_multi_server(("a.example.com", "b.example.com"), now=NOW, issuer=None)
    assert ms.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert multi_server_common_name("a.example.com") == "a-ms.example.com"


# --------------------------------------------------------------------------- keys and files


def test_pool_reuses_a_slot_and_separates_slots() -> None:
    pool = KeyPool()
    a = pool.get(KeyType.EC, "one")
    assert pool.get(KeyType.EC, "one") is a
    b = pool.get(KeyType.EC, "two")
    assert a.public_key().public_numbers() != b.public_key().public_numbers()
    assert len(pool) == 2


def test_same_name_cas_with_different_slots_have_different_keys(pool: KeyPool) -> None:
    old = make_ca("SAME", now=NOW, key_slot="ca:SAME@old", pool=pool)
    new = make_ca("SAME", now=NOW, pool=pool)
    assert old.cert.subject == new.cert.subject
    assert old.cert.public_key() != new.cert.public_key()
    leaf = make_leaf("x.example.com", now=NOW, issuer=new, san=("x.example.com",))
    leaf.cert.verify_directly_issued_by(new.cert)
    with pytest.raises(InvalidSignature):
        leaf.cert.verify_directly_issued_by(old.cert)


def test_written_files_separate_certificates_and_keys(tmp_path: Path, inter: Issued) -> None:
    leaf = make_leaf("f.example.com", now=NOW, issuer=inter, san=("f.example.com",))
    cert_path = write_certs(tmp_path / "sub" / "f.pem", leaf.chain())
    key_path = write_key(tmp_path / "sub" / "f.key", leaf.key)
    cert_text = cert_path.read_text()
    assert "PRIVATE KEY" not in cert_text
    assert len(x509.load_pem_x509_certificates(cert_path.read_bytes())) == 2
    assert "PRIVATE KEY" in key_path.read_text() and key_path.read_text().endswith("\n")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
