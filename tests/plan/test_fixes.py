"""Typed fixes: rules attach them to failing findings, the plan turns them into steps by type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from mratrust.audit import audit
from mratrust.fixes import ExpresswayTrust, UcTrust, UploadTrust
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
