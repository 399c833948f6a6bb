"""sort_findings: worst first, then rule, then the subject's key (Subject.key())."""

from __future__ import annotations

import random

from mratrust.audit import RULE_ORDER, sort_findings
from mratrust.model import Finding, Severity, Status, Subject

RULES = ("C2U-TRUST", "C2U-NAME", "CERT-VALIDITY", "NOT-A-RULE")


def _findings() -> list[Finding]:
    """Findings whose subjects differ in one field at a time, None and "" among them."""
    values = (None, "", "a", "b")
    out = []
    for i, (rule, status) in enumerate(
        (r, s) for r in RULES for s in (Status.PASS, Status.FAIL, Status.INFO)
    ):
        for cluster in values:
            for node in values[1:3]:
                for leg in (None, "x"):
                    for cert in (None, "tomcat", "CallManager"):
                        out.append(
                            Finding(
                                rule=rule,
                                status=status,
                                severity=Severity.INFO,
                                subject=Subject(
                                    cluster=cluster, node=node, leg=leg, certificate=cert
                                ),
                                message=f"{i}",
                            )
                        )
    random.Random(13).shuffle(out)
    return out


def _reference(findings: list[Finding]) -> list[Finding]:
    return sorted(
        findings, key=lambda f: (f.status.rank, RULE_ORDER.get(f.rule, 999), f.subject.key())
    )


def test_order_is_status_rule_then_subject_key() -> None:
    findings = _findings()
    assert list(sort_findings(findings)) == _reference(findings)
    # ties keep the order they came in (equal keys, different messages)
    twins = [f for f in findings if f.rule == "C2U-NAME" and f.status is Status.PASS]
    twins = twins + [Finding(**{**_fields(f), "message": "second"}) for f in twins]
    assert [f.message for f in sort_findings(twins)] == [f.message for f in _reference(twins)]


def test_order_differs_from_a_shuffle() -> None:
    # the negative twin: an order that is not the reference one is told apart
    findings = _findings()
    assert list(sort_findings(findings)) != findings
    worse = list(sort_findings(findings))
    worse[0], worse[-1] = worse[-1], worse[0]
    assert worse != _reference(findings)
    assert sort_findings(findings)[0].status is Status.FAIL
    assert sort_findings(findings)[-1].status is Status.PASS
    assert sort_findings(findings)[-1].rule == "NOT-A-RULE"


def _fields(f: Finding) -> dict[str, object]:
    return {
        "rule": f.rule,
        "status": f.status,
        "severity": f.severity,
        "subject": f.subject,
        "message": f.message,
    }


def test_rules_outside_the_catalogue_share_a_place_and_keep_their_order() -> None:
    # two rules the catalogue does not know rank alike (after every known one): among them the
    # subject decides, then the order they came in, interleaved as they were
    subjects = [Subject(cluster=c, node="n") for c in ("b", "a", "b", "a")]
    findings = [
        Finding(
            rule=rule,
            status=Status.PASS,
            severity=Severity.INFO,
            subject=subject,
            message=f"{rule} {i}",
        )
        for i, (rule, subject) in enumerate(
            zip(("ZZ-OTHER", "AA-OTHER", "AA-OTHER", "ZZ-OTHER"), subjects, strict=True)
        )
    ]
    known = Finding(
        rule="C2U-NAME",
        status=Status.PASS,
        severity=Severity.INFO,
        subject=subjects[0],
        message="k",
    )
    got = sort_findings([*findings, known])
    assert got == tuple(_reference([*findings, known]))
    assert [f.message for f in got] == ["k", "AA-OTHER 1", "ZZ-OTHER 3", "ZZ-OTHER 0", "AA-OTHER 2"]
    # twin: by rule name they would not be interleaved so
    assert [f.message for f in got][1:] != sorted(f.message for f in findings)
