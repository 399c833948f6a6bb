"""Values the audit makes once and shares: findings and subjects set slot by slot, one verifier per
anchor and time, the subjects of a node's certificate and of a leg. Each gives what the plain way
gives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from tests.conftest import NOW

from mratrust.audit import context
from mratrust.lab import pkigen as pg
from mratrust.model import Deployment, Finding, Severity, Status, Subject
from mratrust.pki import verify as verify_module
from mratrust.pki.facts import NameMatch, facts, match_name
from mratrust.pki.verify import Reason, TrustStore, _verifier, validate
from mratrust.rules import base
from mratrust.rules.base import make

POOL = pg.KeyPool()


def test_a_finding_made_slot_by_slot_is_the_dataclass_one() -> None:
    subject = Subject(cluster="c", node="n", leg="l", certificate="tomcat", leg_id="x>y:8443")
    made = make("C2U-NAME", Status.PASS, subject, "m", evidence={"gate": "verified"})
    plain = Finding(
        rule="C2U-NAME",
        status=Status.PASS,
        severity=Severity.INFO,
        subject=subject,
        message="m",
        since=made.since,
        evidence=(("gate", "verified"),),
        sources=made.sources,
    )
    assert made == plain and repr(made) == repr(plain) and hash(made) == hash(plain)
    assert made.change is None and made.fixes == () and made.remediation == ()
    # made on the fast way: a plain object of the same slots that became a Finding, and frozen
    assert base._finding.__name__ == "direct" and type(made) is Finding
    with pytest.raises(AttributeError):
        made.message = "changed"  # type: ignore[misc]
    bad = make("C2U-NAME", Status.FAIL, subject, "m", remediation=["do it"])
    assert bad.remediation == ("do it",) and bad.fixes and bad.severity is Severity.CRITICAL
    # twin: another message is another finding
    assert make("C2U-NAME", Status.PASS, subject, "other", evidence={"gate": "verified"}) != made


def test_a_subject_made_slot_by_slot_is_the_dataclass_one() -> None:
    made = base._new_subject("c", "n", None, "tomcat", None, "ucm:c/n")
    assert made == Subject(cluster="c", node="n", certificate="tomcat", endpoint_id="ucm:c/n")
    assert base._new_subject.__name__ == "direct" and type(made) is Subject
    assert hash(made) == hash(
        Subject(cluster="c", node="n", certificate="tomcat", endpoint_id="ucm:c/n")
    )
    assert made != Subject(cluster="c", node="n", certificate="tomcat")


def test_a_finding_with_work_of_its_own_is_made_by_its_init(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Counted(Finding):
        def __post_init__(self) -> None:
            seen.append(self.rule)

    monkeypatch.setattr(base, "Finding", Counted)
    maker = base._finding_maker()
    found = maker("C2U-NAME", Status.PASS, Severity.INFO, Subject(), "m", None, (), (), ())
    assert type(found) is Counted and seen == ["C2U-NAME"]
    # twin: the real class is made without its __init__, so nothing else runs
    monkeypatch.undo()
    assert (
        type(
            base._finding_maker()("R", Status.PASS, Severity.INFO, Subject(), "m", None, (), (), ())
        )
        is Finding
    )


def test_a_leg_made_slot_by_slot_is_the_dataclass_one(
    deployment: Callable[[str], Deployment], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mratrust import topology

    made = [leg for leg in topology.legs(deployment("B0")) if isinstance(leg, topology.UcLeg)]
    assert topology._new_uc_leg.__name__ == "direct" and made
    for leg in made:
        plain = topology.UcLeg(
            row=leg.row,
            client=leg.client,
            server=leg.server,
            cluster=leg.cluster,
            node=leg.node,
            ecdsa=leg.ecdsa,
        )
        assert leg == plain and leg.id == plain.id and repr(leg) == repr(plain)
        assert leg.id == f"{leg.client.id}>{leg.server.id}:{leg.port}"
    # twin: a leg class with work of its own at creation is made by its __init__
    seen: list[str] = []

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Counted(topology.UcLeg):
        def __post_init__(self) -> None:
            topology.Leg.__post_init__(self)
            seen.append(self.id)

    monkeypatch.setattr(topology, "UcLeg", Counted)
    maker = topology._uc_leg_maker()
    leg = made[0]
    again = maker(leg.row, leg.client, leg.server, leg.ecdsa, leg.cluster, leg.node)
    assert type(again) is Counted and seen == [leg.id]


def test_one_verifier_per_anchor_and_time_keeps_every_verdict() -> None:
    root = pg.make_ca("SHARED-ROOT", now=NOW, pool=POOL)
    inter = pg.make_ca("SHARED-INT", now=NOW, issuer=root, pool=POOL)
    no_sub_ca = pg.make_ca("SHARED-PATHLEN0", now=NOW, issuer=root, path_length=0, pool=POOL)
    below = pg.make_ca("SHARED-BELOW", now=NOW, issuer=no_sub_ca, pool=POOL)
    good = pg.make_leaf("good.example.com", now=NOW, issuer=inter, pool=POOL)
    bad = pg.make_leaf("bad.example.com", now=NOW, issuer=below, pool=POOL)
    store = TrustStore([root.cert], label="t")
    verify_module.clear_caches()
    assert not verify_module._CHECKED and not verify_module._VERIFIERS
    assert _verifier(root.cert, NOW) is _verifier(root.cert, NOW)
    first = validate([good.cert, inter.cert], store, now=NOW)
    rejected = validate([bad.cert, below.cert, no_sub_ca.cert], store, now=NOW)
    again = validate([good.cert, inter.cert], store, now=NOW)
    assert first.trusted and again.trusted and first == again
    assert not rejected.trusted and Reason.CHAIN_REJECTED in rejected.reasons()
    assert any("is rejected" in p.message for p in rejected.problems)
    # twin: another anchor or another time is another verifier
    other = pg.make_ca("SHARED-OTHER", now=NOW, pool=POOL)
    assert _verifier(other.cert, NOW) is not _verifier(root.cert, NOW)
    assert _verifier(root.cert, NOW.replace(hour=1)) is not _verifier(root.cert, NOW)


def test_an_intermediate_is_judged_in_every_path_through_it_and_at_each_moment() -> None:
    import datetime as dt

    root = pg.make_ca("SHARED-CA-ROOT", now=NOW, pool=POOL)
    window = pg.Validity(
        not_before=NOW - dt.timedelta(days=10), not_after=NOW + dt.timedelta(days=5)
    )
    inter = pg.make_ca("SHARED-CA-INT", now=NOW, issuer=root, validity=window, pool=POOL)
    leaves = [pg.make_leaf(f"n{i}.example.com", now=NOW, issuer=inter, pool=POOL) for i in range(2)]
    store = TrustStore([root.cert, inter.cert], label="t")
    today = [validate([leaf.cert], store, now=NOW) for leaf in leaves]
    assert all(r.trusted and Reason.EXPIRED not in r.reasons() for r in today)
    # twin: ten days on the intermediate has expired, in the path of each leaf
    later = NOW + dt.timedelta(days=10)
    for leaf in leaves:
        result = validate([leaf.cert], store, now=later)
        expired = [p for p in result.problems if p.reason is Reason.EXPIRED]
        assert [p.message for p in expired] == [
            f"the intermediate {facts(inter.cert).subject} expired on "
            f"{window.not_after:%Y-%m-%d %H:%M} UTC"
        ]


def test_an_exact_san_entry_and_a_differently_written_one_both_match() -> None:
    leaf = pg.make_leaf(
        "node.example.com", now=NOW, issuer=None, san=("node.example.com",), pool=POOL
    )
    f = facts(leaf.cert)
    assert match_name(f, "node.example.com") is NameMatch.SAN
    assert match_name(f, "NODE.Example.com.") is NameMatch.SAN
    assert match_name(f, "other.example.com") is NameMatch.NONE


def test_the_rules_share_a_node_certificate_subject(
    deployment: Callable[[str], Deployment],
) -> None:
    ctx = context(deployment("B0"), now=NOW)
    cluster, node = next(iter(ctx.deployment.nodes()))
    a = ctx.node_subject(cluster, node, "tomcat")
    assert a is ctx.node_subject(cluster, node, "tomcat")
    assert a.cluster == cluster.name and a.node == node.name and a.certificate == "tomcat"
    assert a.endpoint_id and a.leg is None and a.leg_id is None
    # twin: another certificate of the node is another subject
    assert ctx.node_subject(cluster, node, "CallManager") != a
    leg = ctx.legs()[0]
    s = ctx.leg_subject(leg, leg.rsa_identity)
    assert s is ctx.leg_subject(leg, leg.rsa_identity)
    assert s == Subject(
        cluster=leg.cluster.name,
        node=leg.node.name,
        leg=leg.label,
        certificate=leg.rsa_identity,
        leg_id=leg.id,
    )
    assert ctx.leg_subject(leg, "tomcat-ECDSA") != s


def test_slot_twin_only_for_a_class_of_exactly_those_slots(
    deployment: Callable[[str], Deployment],
) -> None:
    from mratrust import topology

    leg = topology.legs(deployment("B0"))[0]
    made = topology._new_graph_leg(leg, Status.FAIL)
    assert type(made) is topology.GraphLeg and topology._new_graph_leg.__name__ == "direct"
    assert made == topology.GraphLeg(leg=leg, status=Status.FAIL)
    assert made != topology.GraphLeg(leg=leg, status=None)
    assert topology.slot_twin(topology.GraphLeg, ("leg", "status")) is not None
    # twins: other slots, a subclass, work at creation: no twin (the __init__ makes them)
    assert topology.slot_twin(topology.GraphLeg, ("status", "leg")) is None
    assert topology.slot_twin(topology.UcLeg, topology.UcLeg.__slots__) is None

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Checked:
        leg: object
        status: object

        def __post_init__(self) -> None:
            pass

    assert topology.slot_twin(Checked, ("leg", "status")) is None


def test_multi_server_is_worked_out_once_per_certificate(
    deployment: Callable[[str], Deployment],
) -> None:
    ctx = context(deployment("B0"), now=NOW)
    leaves = {
        facts(i.leaf).fingerprint: facts(i.leaf)
        for _, n in ctx.deployment.nodes()
        for i in n.certificates
    }
    answers = {fp: f.multi_server for fp, f in leaves.items()}
    assert True in answers.values() and False in answers.values()  # both kinds in B0
    for fp, f in leaves.items():
        assert ctx.multi_server(f) is answers[fp]
        assert ctx.multi_server(f) is answers[fp]  # the remembered answer is the same
    # twin: equal facts held by another object are judged on their own, not by a reused id
    multi = next(f for f in leaves.values() if f.multi_server)
    single = next(f for f in leaves.values() if not f.multi_server)
    assert ctx.multi_server(replace(multi, san_dns=single.san_dns, common_name="x")) is False
    assert ctx.multi_server(replace(single, san_dns=multi.san_dns)) is True


def test_the_rules_memory_is_let_go_once_they_have_run_and_no_verdict_changes(
    deployment: Callable[[str], Deployment],
) -> None:
    from mratrust.audit import run_rules
    from mratrust.rules import RULES

    ctx = context(deployment("B0"), now=NOW)
    for info in RULES.values():  # the rules alone: what they remember is still there
        list(info.check(ctx))
    cache = ctx._cache
    assert cache.paths and cache.by_id and cache.memo and cache.node_subjects
    assert cache.leg_subjects and cache.multi_server
    # the subject index of the audit's certificates (a failed path asks for it; B0 has none)
    known = ctx.known()
    verify_module._known_index(known)
    assert cache.known is known and verify_module._KNOWN[0][0] is known
    first = run_rules(ctx)  # runs them and lets go
    assert not (cache.paths or cache.by_id or cache.memo or cache.node_subjects)
    assert not (cache.leg_subjects or cache.multi_server) and cache.known is None
    assert not verify_module._KNOWN or verify_module._KNOWN[0][0] is not known
    assert cache.graph is not None  # the report's graph still has its legs
    # asked again, everything is worked out again, to the same findings
    again = run_rules(ctx)
    assert again == first and len(again) > 50
    assert [f.message for f in again] == [f.message for f in first]
    # a fresh context gives them too (nothing depended on what was let go)
    assert run_rules(context(deployment("B0"), now=NOW)) == first


def test_release_only_forgets_the_known_index_of_its_own_audit(
    deployment: Callable[[str], Deployment],
) -> None:
    ctx = context(deployment("B0"), now=NOW)
    other = context(deployment("B0"), now=NOW)
    mine, theirs = ctx.known(), other.known()
    assert mine is not theirs and mine == theirs
    verify_module._known_index(theirs)
    ctx.release()  # another audit's index is remembered: left as it is
    assert verify_module._KNOWN and verify_module._KNOWN[0][0] is theirs
    assert ctx._cache.known is None
    mine = ctx.known()  # asked again: a new tuple, indexed when a path fails
    verify_module._known_index(mine)
    ctx.release()
    assert not verify_module._KNOWN


def test_a_message_equal_to_the_last_one_is_that_same_string() -> None:
    subject = Subject(cluster="c", node="n", certificate="tomcat")
    first = make("C2U-NAME", Status.PASS, subject, "".join(["same ", "words"]))
    second = make("C2U-NAME", Status.PASS, subject, "".join(["same ", "words"]))
    assert second.message is first.message and second == first
    # twin: another message is kept as it is, and then is the one shared
    other = "".join(["other ", "words"])
    third = make("C2U-NAME", Status.FAIL, subject, other)
    assert third.message is other and third.message != first.message
    assert make("C2U-NAME", Status.PASS, subject, "".join(["other ", "words"])).message is other


def test_rules_share_the_messages_they_repeat(
    deployment: Callable[[str], Deployment],
) -> None:
    from mratrust.audit import run_rules

    findings = run_rules(context(deployment("B0"), now=NOW))
    said: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        if f.rule in ("C2U-TRUST", "C2U-NAME", "C2U-ECDSA", "EXP-WILDCARD"):
            said.setdefault((f.rule, f.message), []).append(f.message)
    repeated = [texts for texts in said.values() if len(texts) > 1]
    assert repeated  # B0's nodes have several legs that say the same of one certificate
    assert all(all(t is texts[0] for t in texts) for texts in repeated)


def test_stores_of_one_name_read_from_one_file_share_their_index(tmp_path: Path) -> None:
    import yaml

    from mratrust.inventory import load_inventory

    root = pg.make_ca("SHARE-ROOT", now=NOW, pool=POOL)
    inter = pg.make_ca("SHARE-INT", now=NOW, issuer=root, pool=POOL)
    certs = tmp_path / "certs"
    bundle = [root.cert, inter.cert]
    pg.write_certs(certs / "trust.pem", bundle)
    pg.write_certs(certs / "copy.pem", bundle)  # the same bytes in another file
    expc = pg.make_leaf("expc.example.com", now=NOW, issuer=inter, pool=POOL)
    pg.write_certs(certs / "expc.pem", expc.chain())
    clusters = []
    for c in range(2):
        name = f"cucm{c}.example.com"
        leaf = pg.make_leaf(name, now=NOW, issuer=inter, san=(name,), pool=POOL)
        pg.write_certs(certs / f"{name}.pem", [leaf.cert])
        clusters.append(
            {
                "name": f"cucm-{c}",
                "product": "cucm",
                "version": "15.0.1.12900-234",
                "publisher": name,
                "trust": {
                    "tomcat-trust": "certs/trust.pem",
                    "CallManager-trust": "certs/trust.pem" if c == 0 else "certs/copy.pem",
                },
                "nodes": [
                    {
                        "name": name,
                        "role": "publisher",
                        "certificates": {"tomcat": f"certs/{name}.pem"},
                    }
                ],
            }
        )
    doc = {
        "schema": 1,
        "name": "Shared stores",
        "expressway": {
            "version": "X14.2.1",
            "peers": [
                {
                    "name": "expc.example.com",
                    "certificate": "certs/expc.pem",
                    "trusted_cas": "certs/trust.pem",
                }
            ],
        },
        "uc_clusters": clusters,
    }
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    dep = load_inventory(tmp_path / "inventory.yaml")
    (a_tomcat, a_cm), (b_tomcat, b_cm) = (
        (c.store("tomcat-trust"), c.store("CallManager-trust")) for c in dep.uc_clusters
    )
    assert a_tomcat and a_cm and b_tomcat and b_cm
    assert a_tomcat.trust is b_tomcat.trust  # one name, one file: one index
    assert a_tomcat.trust.label == "tomcat-trust" and a_tomcat.trust.key == b_cm.trust.key
    # twins: another name from the same file, the same name from another file: their own
    assert a_cm.trust is not a_tomcat.trust and a_cm.trust.label == "CallManager-trust"
    assert b_cm.trust is not a_cm.trust and b_cm.path == "certs/copy.pem"
    # every store still holds its own entries, read from its own file
    assert {c.source for c in b_cm.certs} == {str(certs / "copy.pem")}
    # and the audit of a deployment whose stores share an index says what it said before
    ctx = context(dep, now=NOW)
    leaf = dep.uc_clusters[0].nodes[0].certificates[0].chain
    assert ctx.validate(leaf, a_tomcat.trust).ok and ctx.validate(leaf, b_cm.trust).ok
