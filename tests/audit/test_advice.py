"""Advice a UC engineer would sign: diagnostics per component, bug IDs, the upgrade accounting,
intermediates the node may not send, and the fresh-install assumption made visible."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from mratrust.audit import Report, audit, upgrade_check
from mratrust.model import ChangeKind, Deployment, Status
from tests.conftest import NOW

Get = Callable[[str], Deployment]


def _run(deployment: Deployment, version: str) -> Report:
    return audit(deployment, version=version, now=NOW)


def test_failing_traffic_server_leg_gives_the_tech_note_debug_levels(deployment: Get) -> None:
    report = _run(deployment("F04"), "X14.2.1")
    fails = [f for f in report.by_rule("C2U-TRUST") if f.status is Status.FAIL]
    assert fails
    for f in fails:
        debug = [r for r in f.remediation if "xConfiguration Logger Developer" in r]
        assert debug, f.subject
        for part in ("trafficserver.http ", "http_trans", "iocore", "trafficserver.ssl"):
            assert part in debug[0]
    # the twin: a SIP leg's failure does not point at Traffic Server's debug levels
    f08 = _run(deployment("F08"), "X14.2.1")
    sip = [
        f
        for f in f08.by_rule("C2U-TRUST")
        if f.status is Status.FAIL and f.subject.leg == "expc->cucm:5061"
    ]
    assert all(not any("trafficserver" in r for r in f.remediation) for f in sip)


def test_same_cn_cites_the_bug_and_how_to_confirm_reuse(deployment: Get) -> None:
    report = _run(deployment("F08"), "X14.0.7")
    fails = [f for f in report.by_rule("C2U-SAME-CN") if f.status is Status.FAIL]
    assert fails
    for f in fails:
        assert "CSCwa12894" in f.message
        # F08's tomcat is not multi-server: reuse is not offered, and the advice says why
        text = " ".join(f.remediation)
        assert "reuse the multi-server tomcat" not in text
        assert "not an option: it needs a multi-server tomcat certificate" in text
    reuse = [
        f
        for f in _run(deployment("F09"), "X14.2.1").by_rule("UCM-REUSE")
        if f.status is Status.PASS and "reuses" in f.message
    ]
    assert reuse and all("show cert own tomcat" in f.message for f in reuse)


def test_reuse_is_offered_only_for_a_multi_server_tomcat(deployment: Get) -> None:
    from mratrust.rules.c2u import reuse_blocker

    b0 = deployment("B0")  # multi-server tomcat, CUCM 15
    f08 = deployment("F08")  # self-signed tomcat per node
    for d, expect_none in ((b0, True), (f08, False)):
        cluster = next(c for c in d.uc_clusters if c.name == "cucm-main")
        for node in cluster.nodes:
            blocker = reuse_blocker(cluster, node, "tomcat")
            assert (blocker is None) is expect_none, (d.name, node.name, blocker)
    imp = next(c for c in b0.uc_clusters if c.name == "imp-main")
    assert reuse_blocker(imp, imp.nodes[0], "tomcat") == "certificate reuse is a Unified CM feature"


def _root_only(d: Deployment) -> Deployment:
    """B0 with each Expressway-C peer trusting ENT-ROOT only (ENT-INT missing)."""
    peers = []
    for p in d.expressway.peers:
        store = p.trusted_cas
        kept = tuple(c for c in store.certs if "ENT-INT" not in c.cert.subject.rfc4514_string())
        assert len(kept) < len(store.certs)
        peers.append(replace(p, trusted_cas=store.with_certs(kept)))
    return replace(d, expressway=replace(d.expressway, peers=tuple(peers)))


def test_intermediate_missing_from_the_trusted_list_is_risk(deployment: Get) -> None:
    d = _root_only(deployment("B0"))
    report = _run(d, "X14.2.1")
    tomcat = [
        f
        for f in report.by_rule("C2U-TRUST")
        if f.subject.cluster == "cucm-main" and f.subject.leg == "expc->cucm:8443"
    ]
    assert tomcat and {f.status for f in tomcat} == {Status.RISK}
    for f in tomcat:
        ev = f.evidence_dict()
        assert ev["missing_intermediates"] and ev["upload"] == ev["missing_intermediates"]
        assert "CN=ENT-INT" in f.message and "often sends only its leaf" in f.message
        assert "Upload CN=ENT-INT" in f.remediation[0]


def test_intermediate_in_the_trusted_list_passes(deployment: Get) -> None:
    """The twin: B0 trusts ENT-ROOT and ENT-INT, so nothing depends on what the node sends."""
    report = _run(deployment("B0"), "X14.2.1")
    findings = report.by_rule("C2U-TRUST")
    assert findings and {f.status for f in findings} == {Status.PASS}
    assert not any("missing_intermediates" in f.evidence_dict() for f in findings)


def test_upgrade_check_accounts_for_every_current_finding(deployment: Get) -> None:
    """F05: the C2U-LATENT risk of X14.0.7 becomes a C2U-NAME fail on X14.2.1 and says so."""
    current, target = upgrade_check(deployment("F05"), "X14.2.1", now=NOW)
    keys = {f.key() for f in target.findings}
    assert all(f.key() in keys for f in current.findings)
    latent = [
        f
        for f in target.by_rule("C2U-LATENT")
        if f.subject.node == "cucm-sub1.example.com" and f.subject.leg == "expc->cucm:8443"
    ]
    assert len(latent) == 1
    (f,) = latent
    ev = f.evidence_dict()
    assert f.change is ChangeKind.FIXED and ev["was"] == "risk"
    assert ev["became"] == ("C2U-NAME",) and ev["became_status"] == "fail"
    assert "became C2U-NAME fail on expc->cucm:8443" in f.message
    (name,) = [
        g
        for g in target.by_rule("C2U-NAME")
        if g.subject.node == "cucm-sub1.example.com" and g.subject.leg == "expc->cucm:8443"
    ]
    assert name.change is ChangeKind.NEW and name.evidence_dict()["replaces"] == ("C2U-LATENT",)


def test_upgrade_check_clean_path_carries_passes_without_fixes(deployment: Get) -> None:
    """The twin: B0's passing C2U-LATENT checks are accounted for as passes, nothing 'became'."""
    current, target = upgrade_check(deployment("B0"), "X15.3", now=NOW)
    keys = {f.key() for f in target.findings}
    assert all(f.key() in keys for f in current.findings)
    latent = target.by_rule("C2U-LATENT")
    assert latent and {f.status for f in latent} == {Status.PASS}
    assert not [f for f in target.findings if "became" in f.evidence_dict()]
    assert not [f for f in target.findings if f.change is ChangeKind.NEW]


def test_missing_upgraded_from_is_said_where_it_decides(deployment: Get) -> None:
    """F11 has no upgraded_from: the ECDSA-first default rests on a fresh install; say so."""
    report = _run(deployment("F11"), "X14.2.1")
    assert report.assumed_fresh_install is True
    risky = [f for f in report.by_rule("C2U-ECDSA") if f.status is Status.RISK]
    assert risky
    for f in risky:
        assert "assuming a fresh install (upgraded_from not set)" in f.message
        assert f.evidence_dict()["assumed_fresh_install"] is True


def test_recorded_or_configured_path_assumes_nothing(deployment: Get) -> None:
    """The twins: F12 records upgraded_from; a configured cipher string needs no path."""
    f12 = _run(deployment("F12"), "X14.2.1")
    assert f12.assumed_fresh_install is False
    assert not [f for f in f12.findings if "assuming a fresh install" in f.message]
    d = deployment("F11")
    configured = replace(
        d,
        expressway=replace(
            d.expressway,
            ciphers=replace(d.expressway.ciphers, uc_server_discovery="EECDH:EDH:HIGH"),
        ),
    )
    report = _run(configured, "X14.2.1")
    ecdsa = [f for f in report.by_rule("C2U-ECDSA") if f.subject.leg == "expc->cucm:8443"]
    assert ecdsa and not [f for f in ecdsa if "assuming a fresh install" in f.message]


def _sip_5061(report: Report) -> list[Status]:
    return [f.status for f in report.by_rule("C2U-ECDSA") if f.subject.leg == "expc->cucm:5061"]


def _cucm(d: Deployment, **changes: object) -> Deployment:
    clusters = tuple(
        replace(c, **changes) if c.name == "cucm-main" else c  # type: ignore[arg-type]
        for c in d.uc_clusters
    )
    return replace(d, uc_clusters=clusters)


def test_cucm_tls_ciphers_takes_part_on_sip_tls_5061(deployment: Get) -> None:
    from mratrust.model import CipherConfig, TlsCiphers

    f09 = deployment("F09")  # mixed mode, self-signed CallManager-ECDSA, RSA-first SIP string
    assert f09.uc_clusters[0].tls_ciphers is TlsCiphers.RSA_PREFERRED  # the default
    # both sides prefer RSA under TLS 1.2 (SIP TLS 1.2 only): CallManager is presented
    assert set(_sip_5061(_run(f09, "X14.2.1"))) == {Status.PASS}
    # CUCM prefers EC while Expressway-C prefers RSA: which order wins is not documented
    ec = _cucm(f09, tls_ciphers=TlsCiphers.EC_PREFERRED)
    risky = [f for f in _run(ec, "X14.2.1").by_rule("C2U-ECDSA") if f.status is Status.RISK]
    assert risky and all(f.subject.leg == "expc->cucm:5061" for f in risky)
    assert all("TLS Ciphers enterprise parameter prefers EC" in f.message for f in risky)
    assert all(any("RSA Preferred choice" in r for r in f.remediation) for f in risky)
    # both prefer ECDSA (an ECDSA-first SIP string), TLS 1.2 only: the handshake selects ECDSA
    ecdsa_first = "EECDH:EDH:HIGH:-AES256+SHA:!MEDIUM:!LOW:!3DES:!MD5:!PSK:!eNULL:!aNULL:!aDH"
    both = replace(ec, expressway=replace(ec.expressway, ciphers=CipherConfig(sip=ecdsa_first)))
    assert set(_sip_5061(_run(both, "X14.2.1"))) == {Status.FAIL}
    # twin: the same string with CUCM preferring RSA stays a risk, not a fail
    rsa_cucm = replace(
        f09, expressway=replace(f09.expressway, ciphers=CipherConfig(sip=ecdsa_first))
    )
    assert set(_sip_5061(_run(rsa_cucm, "X14.2.1"))) == {Status.RISK}


def test_inventory_reads_tls_ciphers_and_refuses_other_values(tmp_path: Path) -> None:
    import shutil

    from mratrust.errors import InputError
    from mratrust.inventory import load_inventory
    from mratrust.model import TlsCiphers

    example = Path(__file__).resolve().parents[2] / "examples" / "deployment"
    shutil.copytree(example, tmp_path / "d")
    inv = tmp_path / "d" / "inventory.yaml"
    text = inv.read_text(encoding="utf-8")
    assert "  https_ciphers: rsa-only\n" in text
    inv.write_text(
        text.replace(
            "  https_ciphers: rsa-only\n",
            "  https_ciphers: rsa-only\n  tls_ciphers: ec-preferred\n",
            1,
        ),
        encoding="utf-8",
    )
    d = load_inventory(inv)
    assert d.uc_clusters[0].tls_ciphers is TlsCiphers.EC_PREFERRED
    inv.write_text(
        text.replace(
            "  https_ciphers: rsa-only\n", "  https_ciphers: rsa-only\n  tls_ciphers: ec\n", 1
        ),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="rsa-preferred, ec-preferred"):
        load_inventory(inv)
