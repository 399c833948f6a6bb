"""The public scenarios of SCENARIOS.md, audited offline on every version they list.

The engine knows nothing of scenario IDs: each fixture is a deployment generated with real
certificates, and the assertions are the outcomes SCENARIOS.md predicts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from mratrust.audit import Report, audit, upgrade_check
from mratrust.model import ChangeKind, Deployment, HttpsCiphers, Product, SecurityMode, Status
from tests.conftest import NOW

Get = Callable[[str], Deployment]
BAD = {Status.FAIL, Status.RISK}


def _run(deployment: Deployment, version: str, **kw: object) -> Report:
    return audit(deployment, version=version, now=NOW, **kw)  # type: ignore[arg-type]


def _statuses(report: Report, rule: str, **subject: str) -> list[Status]:
    out = []
    for f in report.by_rule(rule):
        if all(getattr(f.subject, k) == v for k, v in subject.items()):
            out.append(f.status)
    return out


@pytest.mark.parametrize("version", ["X14.0.7", "X14.2.1", "X15.3"])
def test_b0_is_clean(deployment: Get, version: str) -> None:
    report = _run(deployment("B0"), version)
    bad = [f for f in report.findings if f.status in BAD | {Status.ERROR}]
    assert not bad, [f.message for f in bad]
    assert report.summary()["pass"] > 50


def test_b0_upgrade_to_x15_3_breaks_nothing(deployment: Get) -> None:
    _, target = upgrade_check(deployment("B0"), "X15.3", now=NOW)
    assert not [f for f in target.findings if f.change is ChangeKind.NEW]


def test_f01_u2c_trust_new_on_x14_0_2(deployment: Get) -> None:
    d = deployment("F01")
    assert set(_statuses(_run(d, "X12.7"), "U2C-TRUST")) == {Status.PASS}
    failing = _run(d, "X14.0.2").by_rule("U2C-TRUST")
    assert {f.subject.certificate for f in failing if f.status is Status.FAIL} == {
        "tomcat-trust",
        "CallManager-trust",
    }
    _, target = upgrade_check(d, "X14.0.2", now=NOW)
    changes = {f.change for f in target.by_rule("U2C-TRUST")}
    assert changes == {ChangeKind.NEW}
    assert target.findings[0].change is ChangeKind.NEW  # leads with what breaks
    assert "unknown_ca" in target.by_rule("U2C-TRUST")[0].message


def test_f03_names_callmanager_trust_only(deployment: Get) -> None:
    report = _run(deployment("F03"), "X14.0.7")
    assert _statuses(report, "U2C-TRUST", certificate="CallManager-trust") == [Status.FAIL]
    assert _statuses(report, "U2C-TRUST", certificate="tomcat-trust") == [Status.PASS]
    (fail,) = [f for f in report.by_rule("U2C-TRUST") if f.status is Status.FAIL]
    assert "CallManager-trust" in fail.message and "tomcat-trust" not in fail.message


def test_f04_self_signed_tomcat_breaks_at_x14_2(deployment: Get) -> None:
    d = deployment("F04")
    assert Status.FAIL not in _statuses(_run(d, "X14.0.7"), "C2U-TRUST")
    after = _run(d, "X14.2.1")
    for node in ("cucm-pub.example.com", "cucm-sub1.example.com"):
        assert Status.FAIL in _statuses(after, "C2U-TRUST", node=node, leg="expc->cucm:8443")


def test_f04_verify_origin_server_off_is_warn(deployment: Get) -> None:
    d = deployment("F04")
    off = replace(d, expressway=replace(d.expressway, verify_origin_server=False))
    statuses = _statuses(_run(off, "X14.2.1"), "C2U-TRUST", leg="expc->cucm:8443")
    assert Status.FAIL not in statuses and Status.WARN in statuses


def test_f05_latent_then_name_fail_for_sub1_only(deployment: Get) -> None:
    d = deployment("F05")
    before = _run(d, "X14.0.7")
    assert Status.FAIL not in _statuses(before, "C2U-NAME")
    assert set(_statuses(before, "C2U-LATENT", node="cucm-sub1.example.com")) & BAD
    assert not set(_statuses(before, "C2U-LATENT", node="cucm-pub.example.com")) & BAD
    after = _run(d, "X14.2.1")
    failing = {f.subject.node for f in after.by_rule("C2U-NAME") if f.status is Status.FAIL}
    assert failing == {"cucm-sub1.example.com"}


def test_f06_short_names(deployment: Get) -> None:
    report = _run(deployment("F06"), "X14.2.1")
    assert Status.FAIL in _statuses(report, "C2U-FQDN")
    assert Status.FAIL in _statuses(report, "C2U-NAME")


def test_f08_same_cn_names_both_and_the_5061_leg(deployment: Get) -> None:
    report = _run(deployment("F08"), "X14.0.7")
    fails = [f for f in report.by_rule("C2U-SAME-CN") if f.status is Status.FAIL]
    assert fails
    for f in fails:
        assert "tomcat" in f.message and "CallManager" in f.message
        assert "expc->cucm:5061" in f.message


def test_f09_reuse_recognised(deployment: Get) -> None:
    report = _run(deployment("F09"), "X14.2.1")
    assert all(f.status in (Status.PASS, Status.INFO) for f in report.by_rule("C2U-SAME-CN"))
    reuse = [f for f in report.by_rule("UCM-REUSE") if f.subject.certificate == "CallManager"]
    assert reuse and all(f.status is Status.PASS and "reuses" in f.message for f in reuse)


@pytest.mark.parametrize("scenario", ["F11", "F12"])
def test_f11_f12_ecdsa_risk_for_every_cucm_node(deployment: Get, scenario: str) -> None:
    report = _run(deployment(scenario), "X14.2.1")
    flagged = {f.subject.node for f in report.by_rule("C2U-ECDSA") if f.status in BAD}
    assert flagged == {"cucm-pub.example.com", "cucm-sub1.example.com"}
    assert all("tomcat-ECDSA" in f.message for f in report.by_rule("C2U-ECDSA") if f.status in BAD)


@pytest.mark.parametrize("scenario", ["F13", "F14"])
def test_f13_f14_rsa_first_is_tls13_risk_not_fail(deployment: Get, scenario: str) -> None:
    """RSA first decides TLS 1.2 only; TLS 1.3 may still pick ECDSA: risk offline, never fail."""
    report = _run(deployment(scenario), "X14.2.1")
    findings = report.by_rule("C2U-ECDSA")
    assert Status.FAIL not in {f.status for f in findings}
    risky = [f for f in findings if f.status is Status.RISK]
    assert {f.subject.node for f in risky} == {"cucm-pub.example.com", "cucm-sub1.example.com"}
    for f in risky:
        ev = f.evidence_dict()
        assert ev["tls13_possible"] is True and ev["tls12_order"] == "rsa-first"
        assert ev["identity"] == "tomcat-ECDSA"
        assert "under TLS 1.3 the certificate type follows the signature algorithms" in f.message
        assert "negotiated TLS version is not in any export" in f.message
        # fixes that hold under both versions come first, the cipher change last
        assert f.remediation[0].startswith("Trust tomcat-ECDSA (holds under TLS 1.2 and 1.3)")
        assert "HTTPS Ciphers" in f.remediation[1] and "RSA Ciphers only" in f.remediation[1]
        assert "TLS 1.2 only" in f.remediation[2]


def test_rsa_only_https_ciphers_is_pass_under_both_versions(deployment: Get) -> None:
    """The negative twin: with HTTPS Ciphers RSA only the node has no ECDSA identity to present."""
    d = deployment("F13")
    rsa_only = replace(
        d,
        uc_clusters=tuple(replace(c, https_ciphers=HttpsCiphers.RSA_ONLY) for c in d.uc_clusters),
    )
    findings = _run(rsa_only, "X14.2.1").by_rule("C2U-ECDSA")
    assert findings and {f.status for f in findings} == {Status.PASS}
    assert all(f.evidence_dict()["tls13_possible"] is False for f in findings)


def test_f17_oauth_and_tomcat_trust(deployment: Get) -> None:
    report = _run(deployment("F17"), "X14.2.1")
    assert Status.FAIL in _statuses(report, "U2C-OAUTH")
    assert _statuses(report, "U2C-TRUST", certificate="tomcat-trust") == [Status.FAIL]
    assert _statuses(report, "U2C-TRUST", certificate="CallManager-trust") == [Status.PASS]


def test_f23_eku(deployment: Get) -> None:
    assert _statuses(_run(deployment("F23"), "X14.0.7"), "EXP-EKU") == [Status.FAIL]
    assert _statuses(_run(deployment("B0"), "X14.0.7"), "EXP-EKU") == [Status.PASS]


def test_f31_voicemail_host(deployment: Get) -> None:
    report = _run(deployment("F31"), "X14.2.1")
    (f,) = [f for f in report.by_rule("C2U-NAME") if f.status is Status.FAIL]
    assert f.subject.leg == "expc->cuc:443" and "vm.example.com" in f.message


def test_f34_duplicate_subject(deployment: Get) -> None:
    report = _run(deployment("F34"), "X14.2.1")
    assert Status.FAIL in _statuses(report, "C2U-DUP-SUBJECT")
    assert Status.FAIL not in _statuses(_run(deployment("B0"), "X14.2.1"), "C2U-DUP-SUBJECT")


def test_f40_validity(deployment: Get) -> None:
    report = _run(deployment("F40"), "X14.2.1")
    assert _statuses(
        report, "CERT-VALIDITY", node="cucm-sub1.example.com", certificate="CallManager"
    ) == [Status.FAIL]
    assert _statuses(report, "CERT-VALIDITY", certificate="CN=ENT-INT") == [Status.WARN]


def test_strict_from_turns_disputed_risk_into_fail(deployment: Get) -> None:
    d = deployment("F04")
    disputed = _statuses(_run(d, "X14.0.9"), "C2U-TRUST", leg="expc->cucm:8443")
    assert Status.RISK in disputed and Status.FAIL not in disputed
    strict = _statuses(
        _run(d, "X14.0.9", strict_from="X14.0.8"), "C2U-TRUST", leg="expc->cucm:8443"
    )
    assert Status.FAIL in strict


def test_every_rule_of_the_catalogue_runs(deployment: Get) -> None:
    from mratrust.rules import RULES

    seen = {
        f.rule
        for sid in ("B0", "F08", "F17", "B0E")
        for f in _run(deployment(sid), "X14.2.1").findings
    }
    offline_only = {"C2U-LATENT", "C2U-TLS13-SIGALG", "EXP-PEER-TRUST", "U2C-PROFILE-SAN"}
    expected = {r for r in RULES if not r.startswith("PROBE-")} - offline_only
    assert expected <= seen


def test_same_upgrade_path_same_answer(deployment: Get) -> None:
    """F09 runs X14.2.1 upgraded from X14.0.7: to X15.3 it keeps RSA first, as B0 does."""
    for sid in ("B0", "F09"):
        _, target = upgrade_check(deployment(sid), "X15.3", now=NOW)
        ecdsa = target.by_rule("C2U-ECDSA")
        assert not [f for f in ecdsa if "upgrade path is not known" in f.message]
        assert all(f.evidence_dict().get("tls12_order") != "unknown" for f in ecdsa), sid
        assert all(f.evidence_dict().get("cipher_path") != "unknown" for f in ecdsa), sid


def test_f01_mixed_mode_5061_is_its_own_leg_since_always(deployment: Get) -> None:
    """Mutual TLS on 5061 needs CallManager-trust on every release: not the 6972 Traffic Server
    leg, and not 'since X14.0.2'."""
    d = deployment("F01")
    mixed = replace(
        d,
        uc_clusters=tuple(
            replace(c, security_mode=SecurityMode.MIXED) if c.product is Product.CUCM else c
            for c in d.uc_clusters
        ),
    )
    old = _run(mixed, "X12.7").by_rule("U2C-TRUST")
    fails = [f for f in old if f.status is Status.FAIL]
    assert fails and {f.subject.leg for f in fails} == {"expc->cucm:5061"}
    for f in fails:
        assert f.subject.certificate == "CallManager-trust" and f.since == "X8.8"
        assert "Traffic Server" not in f.message and "CEtls" in f.message
    # the Traffic Server leg is not required before X14.0.2 ...
    assert {f.status for f in old if f.subject.leg == "expc->cucm:6972"} == {Status.PASS}
    # ... and fails from X14.0.2, labelled so
    new = [f for f in _run(mixed, "X14.0.2").by_rule("U2C-TRUST") if f.status is Status.FAIL]
    tomcat_6972 = [f for f in new if f.subject.leg == "expc->cucm:6972"]
    assert tomcat_6972 and all(f.since == "X14.0.2" for f in tomcat_6972)
    assert all("Traffic Server logs" in f.message for f in tomcat_6972)
    # the twin: non-secure F01 has no 5061 finding at all
    assert not [f for f in _run(d, "X12.7").by_rule("U2C-TRUST") if "5061" in (f.subject.leg or "")]


def test_f17_sip_oauth_rejection_is_not_a_traffic_server_log(deployment: Get) -> None:
    report = _run(deployment("F17"), "X14.2.1")
    oauth = [f for f in report.by_rule("U2C-OAUTH") if f.status is Status.FAIL]
    store = [f for f in oauth if f.subject.certificate == "tomcat-trust"]
    assert store
    for f in store:
        assert "Traffic Server" not in f.message
        assert "CEOAuth" in f.message
        assert not any("trafficserver" in r for r in f.remediation)
    # the twin: the 6972 Traffic Server leg keeps Traffic Server's log line and its debug levels
    (u2c,) = [
        f
        for f in report.by_rule("U2C-TRUST")
        if f.status is Status.FAIL and f.subject.certificate == "tomcat-trust"
    ]
    assert "Traffic Server logs" in u2c.message
    assert any("developer.trafficserver.ssl" in r for r in u2c.remediation)


def test_publisher_verified_at_discovery_fails_since_x8_8(deployment: Get) -> None:
    """TLS verify on, X14.0.7: the publisher fails today, so its since is not X14.2."""
    d = deployment("F04")
    verify = replace(d, uc_clusters=tuple(replace(c, tls_verify=True) for c in d.uc_clusters))
    report = _run(verify, "X14.0.7")
    (pub,) = [
        f
        for f in report.by_rule("C2U-TRUST")
        if f.subject.node == "cucm-pub.example.com" and f.subject.leg == "expc->cucm:8443"
    ]
    assert pub.status is Status.FAIL and pub.since == "X8.8"
    # the twin: the subscriber is not verified before X14.2 and fails from X14.2
    (sub,) = [
        f
        for f in _run(verify, "X14.2.1").by_rule("C2U-TRUST")
        if f.subject.node == "cucm-sub1.example.com" and f.subject.leg == "expc->cucm:8443"
    ]
    assert sub.status is Status.FAIL and sub.since == "X14.2"
