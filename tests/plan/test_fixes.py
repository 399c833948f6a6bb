"""Typed fixes: rules attach them to failing findings, the plan turns them into steps by type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from mratrust.audit import audit
from mratrust.fixes import (
    Configure,
    ExpresswayClientIdentity,
    ExpresswayEIdentity,
    ExpresswayETrust,
    ExpresswayTrust,
    Reissue,
    Setting,
    UcTrust,
    UploadTrust,
)
from mratrust.model import Deployment, Finding, Severity, Status, Subject
from mratrust.pki.facts import facts
from mratrust.plan import _draft, _steps
from tests.conftest import NOW

Loaded = Callable[[str], Deployment]


def test_a_failing_trust_finding_carries_an_upload_of_its_missing_chain(
    deployment: Loaded,
) -> None:
    # F03: CallManager-trust lacks the CA of Expressway-C's certificate (U2C-TRUST on 5061)
    d = deployment("F03")
    report = audit(d, now=NOW)
    failing = [f for f in report.findings if f.rule == "U2C-TRUST" and f.status is Status.FAIL]
    assert failing
    (fix,) = failing[0].fixes
    assert isinstance(fix, UploadTrust)
    assert fix.store == UcTrust(cluster="cucm-main", store="CallManager-trust")
    assert fix.chain  # the chain presented: the plan completes its path to a root
    # negative twin: what passes carries no fix
    passing = [f for f in report.findings if f.status is Status.PASS]
    assert passing and all(not f.fixes for f in passing)


def _finding(rule: str, fix: UploadTrust | None, message: str) -> Finding:
    return Finding(
        rule=rule,
        status=Status.FAIL,
        severity=Severity.HIGH,
        subject=Subject(cluster="expressway-c"),
        message=message,
        fixes=(fix,) if fix else (),
    )


def test_the_plan_reads_the_fix_not_the_rule_id(deployment: Loaded) -> None:
    # two findings of rules the plan has never heard of ask for the same upload: one step,
    # listing both rules, with the certificate once
    d = deployment("B0")
    report = audit(d, now=NOW)
    peer = d.expressway.peers[0]
    stranger = next(c for c in d.all_certificates() if not peer.trusted_cas.trust.contains(c))
    fix = UploadTrust(
        store=ExpresswayTrust(peers=(peer.name,)), certificates=(facts(stranger).fingerprint,)
    )
    findings = (_finding("XX-ONE", fix, "first"), _finding("XX-TWO", fix, "second"))
    steps = _steps(d, _draft(d, replace(report, findings=findings)))
    uploads = [s for s in steps if s.action == "upload-trust"]
    assert len(uploads) == 1
    assert uploads[0].fixes == ("XX-ONE", "XX-TWO")
    assert uploads[0].certificates == (stranger,)
    assert uploads[0].target_dict() == {
        "system": "expressway-c",
        "peer": peer.name,
        "store": "trusted_cas",
    }
    assert any(s.action == "restart" and s.target_dict().get("peer") == peer.name for s in steps)
    # negative twin: the same findings without fixes give no step at all
    bare = tuple(replace(f, fixes=()) for f in findings)
    assert _steps(d, _draft(d, replace(report, findings=bare))) == []


def test_ce_trust_uploads_to_the_list_of_the_side_that_checks(deployment: Loaded) -> None:
    # E02: Expressway-E's list lacks Expressway-C's CA: an upload to that Expressway-E peer's list
    d = deployment("E02")
    e_peer = d.expressway_e.peers[0].name if d.expressway_e else ""
    client = [
        f
        for f in audit(d, now=NOW).by_rule("CE-TRUST")
        if f.status is Status.FAIL and f.subject.certificate == "client"
    ]
    assert client
    for f in client:
        (fix,) = f.fixes
        assert isinstance(fix, UploadTrust)
        assert fix.store == ExpresswayETrust(peer=e_peer)
        assert fix.chain and fix.certificates
    # negative twin, E01: Expressway-C's list lacks Expressway-E's CA: Expressway-C's list
    server = [
        f for f in audit(deployment("E01"), now=NOW).by_rule("CE-TRUST") if f.status is Status.FAIL
    ]
    assert server and all(f.subject.certificate == "server" for f in server)
    for f in server:
        stores = {fix.store for fix in f.fixes if isinstance(fix, UploadTrust)}
        assert stores and all(isinstance(s, ExpresswayTrust) for s in stores)


def test_the_plan_uploads_to_expressway_e_from_the_fix_alone(deployment: Loaded) -> None:
    # a rule the plan has never heard of asks for Expressway-C's CA chain in Expressway-E's list
    d = deployment("E02")
    assert d.expressway_e is not None
    e_peer = d.expressway_e.peers[0]
    chain = d.expressway.peers[0].certificate.chain
    fps = tuple(facts(c).fingerprint for c in chain)
    missing = tuple(facts(c).fingerprint for c in chain[1:])
    fix = UploadTrust(store=ExpresswayETrust(peer=e_peer.name), certificates=missing, chain=fps)
    report = replace(audit(d, now=NOW), findings=(_finding("XX-EDGE", fix, "edge"),))
    uploads = [s for s in _steps(d, _draft(d, report)) if s.action == "upload-trust"]
    assert len(uploads) == 1
    target = dict(uploads[0].target)
    assert target["system"] == "expressway-e" and uploads[0].fixes == ("XX-EDGE",)
    # negative twin: the same fix for a peer Expressway-E does not have drafts nothing
    ghost = replace(fix, store=ExpresswayETrust(peer="nope.example.com"))
    report = replace(report, findings=(_finding("XX-EDGE", ghost, "edge"),))
    assert not [s for s in _steps(d, _draft(d, report)) if s.action == "upload-trust"]


def _edge_fixes(d: Deployment, rule: str, version: str) -> list[Finding]:
    return [
        f
        for f in audit(d, version=version, now=NOW).by_rule(rule)
        if f.status in (Status.FAIL, Status.RISK)
    ]


def test_ce_eku_on_expressway_e_asks_for_the_x15_4_switch_or_a_reissue(
    deployment: Loaded,
) -> None:
    # E04: Expressway-E's certificate is serverAuth-only, the switch Off
    d = deployment("E04")
    e_peer = d.expressway_e.peers[0].name if d.expressway_e else ""
    (on_x15_4,) = _edge_fixes(d, "CE-EKU", "X15.4")
    assert on_x15_4.fixes == (Configure(setting=Setting.SERVER_EKU_UPLOAD),)
    # negative twin: X15.3 has no switch, so the certificate is reissued
    (on_x15_3,) = _edge_fixes(d, "CE-EKU", "X15.3")
    assert on_x15_3.fixes == (Reissue(what=ExpresswayEIdentity(peer=e_peer)),)
    steps = _steps(d, _draft(d, audit(d, version="X15.4", now=NOW)))
    configure = [s for s in steps if s.action == "configure"]
    assert any(dict(s.target).get("setting") == "enable_server_eku_upload" for s in configure)


def test_expressway_c_client_side_fixes_follow_the_x15_5_split(deployment: Loaded) -> None:
    # E05: Expressway-C's certificate lacks clientAuth; from X15.5 a separate client certificate
    d = deployment("E05")
    peer = d.expressway.peers[0].name
    found = _edge_fixes(d, "CE-EKU", "X15.5") + _edge_fixes(d, "EXP-EKU", "X15.5")
    assert found
    assert {f.fixes for f in found} == {(Reissue(what=ExpresswayClientIdentity(peer=peer)),)}
    steps = _steps(d, _draft(d, audit(d, version="X15.5", now=NOW)))
    reissues = [dict(s.target) for s in steps if s.action == "reissue"]
    assert {"system": "expressway-c", "certificate": "client"}.items() <= reissues[0].items()
    # negative twin: E07 (Expressway-E's SAN lacks an edge domain) reissues Expressway-E's
    e07 = deployment("E07")
    (san,) = _edge_fixes(e07, "CE-SAN", "X15.3")
    assert san.subject.cluster == "expressway-e"
    assert isinstance(san.fixes[0], Reissue)
    assert isinstance(san.fixes[0].what, ExpresswayEIdentity)
