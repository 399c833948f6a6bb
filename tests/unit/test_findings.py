"""Findings as the rules make them: equal evidence is shared, never merged across types."""

from __future__ import annotations

from mratrust.model import Status, Subject
from mratrust.rules.base import make


def test_equal_evidence_is_one_shared_value() -> None:
    subject = Subject(cluster="c", node="n")
    chain = ("sha256:" + "ab" * 32, "sha256:" + "cd" * 32)
    a = make("C2U-TRUST", Status.PASS, subject, "m", evidence={"chain": chain, "gate": "verified"})
    b = make(
        "C2U-TRUST", Status.PASS, subject, "m", evidence={"chain": tuple(chain), "gate": "verified"}
    )
    assert a.evidence == b.evidence == (("chain", chain), ("gate", "verified"))
    assert a.evidence is b.evidence
    # twin: another value is another tuple
    c = make("C2U-TRUST", Status.PASS, subject, "m", evidence={"chain": chain, "gate": "disabled"})
    assert c.evidence != a.evidence and c.evidence[0] is a.evidence[0]


def test_a_bool_never_becomes_an_int() -> None:
    subject = Subject(cluster="c", node="n")
    one = make("C2U-ECDSA", Status.PASS, subject, "m", evidence={"tls13_possible": 1})
    true = make("C2U-ECDSA", Status.PASS, subject, "m", evidence={"tls13_possible": True})
    assert type(one.evidence[0][1]) is int and type(true.evidence[0][1]) is bool
    false = make("C2U-ECDSA", Status.PASS, subject, "m", evidence={"tls13_possible": False})
    zero = make("C2U-ECDSA", Status.PASS, subject, "m", evidence={"tls13_possible": 0})
    assert type(false.evidence[0][1]) is bool and type(zero.evidence[0][1]) is int
    assert make("C2U-ECDSA", Status.PASS, subject, "m").evidence == ()


def test_equal_evidence_with_a_bool_is_shared_only_with_the_same_types() -> None:
    subject = Subject(cluster="c", node="n")
    ev = {"tls13_possible": False, "identity": "tomcat-ECDSA"}
    a = make("C2U-ECDSA", Status.PASS, subject, "m", evidence=ev)
    b = make("C2U-ECDSA", Status.PASS, subject, "m", evidence=dict(ev))
    assert a.evidence is b.evidence
    # twin: 0 equals False, but the finding that said 0 keeps its int, in a tuple of its own
    zero = make("C2U-ECDSA", Status.PASS, subject, "m", evidence={**ev, "tls13_possible": 0})
    assert zero.evidence == a.evidence and zero.evidence is not a.evidence
    assert type(zero.evidence[0][1]) is int and type(a.evidence[0][1]) is bool
