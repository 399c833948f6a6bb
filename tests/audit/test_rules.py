"""Rule by rule, on the healthy baseline changed in one place: each failure has a passing twin."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509

from mratrust.audit import audit
from mratrust.fixes import Reissue, UcIdentity
from mratrust.lab import pkigen as pg
from mratrust.model import Deployment, Identity, Status, UcCluster
from mratrust.pki.load import LoadedCert
from tests.conftest import NOW

Get = Callable[[str], Deployment]
POOL = pg.KeyPool()


def _ident(name: str, *certs: x509.Certificate) -> Identity:
    return Identity(
        name=name,
        path=f"mem/{name}.pem",
        certs=tuple(LoadedCert(cert=c, source="mem", index=i) for i, c in enumerate(certs)),
    )


def _with_peer_cert(d: Deployment, cert: x509.Certificate) -> Deployment:
    peer = d.expressway.peers[0]
    new = replace(peer, certificate=_ident("server", cert, *peer.certificate.chain[1:]))
    return replace(d, expressway=replace(d.expressway, peers=(new,)))


def _cucm(d: Deployment) -> UcCluster:
    return next(c for c in d.uc_clusters if c.product.value == "cucm")


def _replace_cluster(d: Deployment, cluster: UcCluster) -> Deployment:
    return replace(
        d, uc_clusters=tuple(cluster if c.name == cluster.name else c for c in d.uc_clusters)
    )


def _statuses(d: Deployment, rule: str, version: str = "X14.2.1") -> list[Status]:
    return [f.status for f in audit(d, version=version, now=NOW).by_rule(rule)]


@pytest.fixture(scope="module")
def ca() -> tuple[pg.Issued, pg.Issued]:
    root = pg.make_ca("RULES-ROOT", now=NOW, pool=POOL)
    return root, pg.make_ca("RULES-INT", now=NOW, issuer=root, pool=POOL)


def _trusting(d: Deployment, *certs: x509.Certificate) -> Deployment:
    """Add ``certs`` to every Expressway-C peer's trusted CA list."""
    peers = tuple(
        replace(
            p,
            trusted_cas=p.trusted_cas.with_certs(
                (*p.trusted_cas.certs, *(LoadedCert(cert=c, source="mem", index=0) for c in certs))
            ),
        )
        for p in d.expressway.peers
    )
    return replace(d, expressway=replace(d.expressway, peers=peers))


def test_exp_cn(deployment: Get, ca: tuple[pg.Issued, pg.Issued]) -> None:
    d = _trusting(deployment("B0"), ca[0].cert, ca[1].cert)
    no_cn = pg.make_leaf(None, now=NOW, issuer=ca[1], san=("expc1.example.com",), pool=POOL)
    assert _statuses(_with_peer_cert(d, no_cn.cert), "EXP-CN") == [Status.FAIL]
    assert _statuses(d, "EXP-CN") == [Status.PASS]


@pytest.mark.parametrize(
    ("key_type", "version", "expected"),
    [
        (pg.KeyType.EC, "X14.2.1", Status.FAIL),
        (pg.KeyType.EC, "X14.3", Status.PASS),
        (pg.KeyType.RSA, "X14.2.1", Status.PASS),
    ],
    ids=["ecdsa-before-x14.3", "ecdsa-x14.3", "rsa"],
)
def test_exp_key(
    deployment: Get,
    ca: tuple[pg.Issued, pg.Issued],
    key_type: pg.KeyType,
    version: str,
    expected: Status,
) -> None:
    d = _trusting(deployment("B0"), ca[0].cert, ca[1].cert)
    leaf = pg.make_leaf(
        "expc.example.com",
        now=NOW,
        issuer=ca[1],
        san=("expc.example.com", "expc1.example.com"),
        key_type=key_type,
        pool=POOL,
    )
    assert _statuses(_with_peer_cert(d, leaf.cert), "EXP-KEY", version) == [expected]


def test_exp_wildcard(deployment: Get, ca: tuple[pg.Issued, pg.Issued]) -> None:
    d = _trusting(deployment("B0"), ca[0].cert, ca[1].cert)
    wild = pg.make_leaf("*.example.com", now=NOW, issuer=ca[1], san=("*.example.com",), pool=POOL)
    statuses = _statuses(_with_peer_cert(d, wild.cert), "EXP-WILDCARD")
    assert statuses.count(Status.FAIL) == 1
    assert Status.FAIL not in _statuses(d, "EXP-WILDCARD")


def test_exp_chain(deployment: Get, ca: tuple[pg.Issued, pg.Issued]) -> None:
    d = deployment("B0")
    other = pg.make_leaf(
        "expc.example.com", now=NOW, issuer=ca[1], san=("expc.example.com",), pool=POOL
    )
    assert _statuses(_with_peer_cert(d, other.cert), "EXP-CHAIN") == [Status.FAIL]
    fixed = _trusting(_with_peer_cert(d, other.cert), ca[0].cert, ca[1].cert)
    assert _statuses(fixed, "EXP-CHAIN") == [Status.PASS]


def test_exp_peer_trust(deployment: Get, ca: tuple[pg.Issued, pg.Issued]) -> None:
    d = deployment("B0")
    peer = d.expressway.peers[0]
    second = replace(peer, name="expc2.example.com")
    two = replace(d, expressway=replace(d.expressway, peers=(peer, second)))
    assert _statuses(two, "EXP-PEER-TRUST") == [Status.PASS]
    extra = replace(
        second,
        trusted_cas=second.trusted_cas.with_certs(
            (*second.trusted_cas.certs, LoadedCert(cert=ca[0].cert, source="mem", index=0))
        ),
    )
    differ = replace(d, expressway=replace(d.expressway, peers=(peer, extra)))
    (f,) = audit(differ, now=NOW).by_rule("EXP-PEER-TRUST")
    assert f.status is Status.WARN and "expc1.example.com lacks CN=RULES-ROOT" in f.message


def _openssl_sha1(tmp: Path) -> tuple[x509.Certificate, x509.Certificate]:
    """A SHA-1 signed CA and leaf made by the openssl binary (cryptography will not sign SHA-1)."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp, check=True, capture_output=True, timeout=60)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=SHA1-CA",
        "-days",
        "30",
        "-sha1",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=keyCertSign",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=expc.example.com",
    )
    (tmp / "ext").write_text(
        "subjectAltName=DNS:expc.example.com,DNS:expc1.example.com\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    run(
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "30",
        "-sha1",
        "-extfile",
        "ext",
    )
    ca = x509.load_pem_x509_certificate((tmp / "ca.pem").read_bytes())
    leaf = x509.load_pem_x509_certificate((tmp / "leaf.pem").read_bytes())
    return ca, leaf


@pytest.mark.openssl
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary")
def test_cert_signature_sha1(deployment: Get, tmp_path: Path) -> None:
    ca, leaf = _openssl_sha1(tmp_path)
    now = leaf.not_valid_before_utc + dt.timedelta(hours=1)
    d = _trusting(_with_peer_cert(deployment("B0"), leaf), ca)
    fails = [f for f in audit(d, now=now).by_rule("CERT-SIGNATURE") if f.status is Status.FAIL]
    assert len(fails) == 1 and "sha1" in fails[0].message
    assert fails[0].subject.node == "expc1.example.com"


def test_cert_signature_weak_rsa_and_twin(deployment: Get, ca: tuple[pg.Issued, pg.Issued]) -> None:
    d = _trusting(deployment("B0"), ca[0].cert, ca[1].cert)
    small = pg.make_leaf(
        "expc.example.com",
        now=NOW,
        issuer=ca[1],
        san=("expc.example.com",),
        pool=pg.KeyPool(rsa_bits=1024),
    )
    fails = [
        f
        for f in audit(_with_peer_cert(d, small.cert), now=NOW).by_rule("CERT-SIGNATURE")
        if f.status is Status.FAIL
    ]
    assert len(fails) == 1 and "1024-bit" in fails[0].message
    assert all(f.status is Status.PASS for f in audit(d, now=NOW).by_rule("CERT-SIGNATURE"))


def _profiles(d: Deployment, profiles: tuple[str, ...]) -> Deployment:
    return _replace_cluster(d, replace(_cucm(d), secure_profiles=profiles))


def test_u2c_profile_san(deployment: Get) -> None:
    d = deployment("B0")
    (f,) = audit(_profiles(d, ("secure-profile",)), now=NOW).by_rule("U2C-PROFILE-SAN")
    assert f.status is Status.FAIL and "FQDN" in f.message and "not in expc1" in f.message
    (twin,) = audit(_profiles(d, ("expc1.example.com",)), now=NOW).by_rule("U2C-PROFILE-SAN")
    assert twin.status is Status.PASS
    # the FQDN format is required from X12.6 (the version table); the SAN always
    (early,) = audit(_profiles(d, ("secure-profile",)), version="X12.5", now=NOW).by_rule(
        "U2C-PROFILE-SAN"
    )
    assert early.status is Status.FAIL and "not in expc1" in early.message
    assert "FQDN" not in early.message


def test_u2c_cm_eku_in_mixed_mode(deployment: Get, ca: tuple[pg.Issued, pg.Issued]) -> None:
    d = deployment("B0")
    cucm = replace(_cucm(d), security_mode=type(_cucm(d).security_mode)("mixed"))
    sub = cucm.nodes[1]
    server_only = pg.make_leaf(
        sub.name, now=NOW, issuer=ca[1], san=(sub.name,), eku=(pg.Eku.SERVER_AUTH,), pool=POOL
    )
    new_sub = replace(
        sub,
        certificates=tuple(
            _ident("CallManager", server_only.cert) if i.name == "CallManager" else i
            for i in sub.certificates
        ),
    )
    broken = _replace_cluster(d, replace(cucm, nodes=(cucm.nodes[0], new_sub)))
    fails = [f for f in audit(broken, now=NOW).by_rule("U2C-CM-EKU") if f.status is Status.FAIL]
    assert [f.subject.node for f in fails] == [sub.name] and "clientAuth" in fails[0].message
    # the restarts are the product table's CallManager recipe: CTL first, every service, phones
    after = fails[0].remediation[1]
    assert after.startswith("then, in this order: utils ctl update CTLFile; ")
    for service in ("Cisco CallManager", "Cisco CTIManager", "Cisco TVS", "Cisco HAProxy"):
        assert f"utils service restart {service}" in after
    assert after.endswith("so they load the new CTL/ITL")
    (fix,) = fails[0].fixes
    assert isinstance(fix, Reissue) and isinstance(fix.what, UcIdentity)
    assert (fix.what.cluster, fix.what.certificate) == (cucm.name, "CallManager")
    healthy = _replace_cluster(d, cucm)
    assert all(f.status is Status.PASS for f in audit(healthy, now=NOW).by_rule("U2C-CM-EKU"))
    # non-secure: the rule does not apply
    assert not audit(d, now=NOW).by_rule("U2C-CM-EKU")


def test_c2u_tls13_sigalg(deployment: Get) -> None:
    d = deployment("F08")  # mixed mode, self-signed ECDSA CallManager identities not trusted
    exp = replace(d.expressway, sip_tls_versions=("TLSv1.2", "TLSv1.3"))
    rsa_pref = replace(d, expressway=replace(exp, sip_signature_pref_rsa=True))
    ec_pref = replace(d, expressway=replace(exp, sip_signature_pref_rsa=False))
    ec = audit(ec_pref, version="X15.3", now=NOW).by_rule("C2U-TLS13-SIGALG")
    assert ec and all(f.subject.certificate == "CallManager-ECDSA" for f in ec)
    assert all(f.status is Status.RISK for f in ec)
    rsa = audit(rsa_pref, version="X15.3", now=NOW).by_rule("C2U-TLS13-SIGALG")
    assert rsa and all(f.subject.certificate == "CallManager" for f in rsa)
    # TLS 1.2 only: not applicable
    assert not audit(d, version="X15.3", now=NOW).by_rule("C2U-TLS13-SIGALG")


def test_ucm_multi_san_and_twin(deployment: Get, ca: tuple[pg.Issued, pg.Issued]) -> None:
    d = _trusting(deployment("B0"), ca[0].cert, ca[1].cert)
    cucm = _cucm(d)
    short_ms = pg.make_multi_server((cucm.nodes[0].name,), now=NOW, issuer=ca[1], pool=POOL)
    nodes = tuple(
        replace(
            n,
            certificates=tuple(
                _ident("tomcat", short_ms.cert) if i.name == "tomcat" else i for i in n.certificates
            ),
        )
        for n in cucm.nodes
    )
    broken = _replace_cluster(d, replace(cucm, nodes=nodes))
    (f,) = [f for f in audit(broken, now=NOW).by_rule("UCM-MULTI-SAN") if f.status is Status.FAIL]
    assert "cucm-sub1.example.com" in f.message
    assert all(f.status is Status.PASS for f in audit(d, now=NOW).by_rule("UCM-MULTI-SAN"))


def test_c2u_dup_subject_harmless_order_is_warn(deployment: Get) -> None:
    d = deployment("F34")
    peer = d.expressway.peers[0]
    certs = peer.trusted_cas.certs
    # current ENT-ROOT first, old one after it: still a duplicate, but the first is the right one
    reordered = (certs[1], certs[0], *certs[2:])
    fixed = replace(
        d,
        expressway=replace(
            d.expressway,
            peers=(replace(peer, trusted_cas=peer.trusted_cas.with_certs(reordered)),),
        ),
    )
    assert _statuses(fixed, "C2U-DUP-SUBJECT") == [Status.WARN]
    assert Status.FAIL not in _statuses(fixed, "C2U-TRUST")


def test_missing_identity_is_error(deployment: Get) -> None:
    d = deployment("B0")
    cucm = _cucm(d)
    bare = replace(cucm.nodes[1], certificates=())
    gone = _replace_cluster(d, replace(cucm, nodes=(cucm.nodes[0], bare)))
    errors = [f for f in audit(gone, now=NOW).by_rule("C2U-TRUST") if f.status is Status.ERROR]
    assert errors and all(f.subject.node == bare.name for f in errors)
    assert "show cert own tomcat" in errors[0].remediation[0]
