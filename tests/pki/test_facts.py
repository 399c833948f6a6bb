from __future__ import annotations

import pytest

from mratrust.pki.facts import KeyType, NameMatch, facts, is_fqdn, match_name
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
    [("cucm-pub.example.com", True), ("cucm-pub", False), ("10.1.1.1", False), ("::1", False)],
)
def test_is_fqdn(name: str, fqdn: bool) -> None:
    assert is_fqdn(name) is fqdn
