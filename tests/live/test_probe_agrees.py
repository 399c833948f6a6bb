"""Every public scenario in the lab, probed live: the wire agrees with the offline audit.

For each leg: when the offline audit says a leg fails, the live handshake Expressway-C makes
fails too; when the live handshake fails, the offline audit had a failure or a risk for that leg,
or the wire decided a verdict offline cannot know (SPEC §5: the negotiated TLS version and the
identity presented for C2U-ECDSA, the chain the node sends for C2U-TRUST) and says what decided
it. An offline `risk` that the wire turns into `pass` or `fail` is agreement when so explained.
Real TLS servers on 127.0.0.1, real handshakes, the scenario's real certificates.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mratrust.audit import Report
from mratrust.inventory import load_inventory
from mratrust.lab.scenarios import build_scenario, list_scenarios, write_material
from mratrust.lab.servers import running
from mratrust.model import Finding, Status
from mratrust.probe_audit import audit_with_probe

LEG_RULES = {"C2U-TRUST", "C2U-NAME", "C2U-ECDSA", "U2C-TRUST", "U2C-OAUTH", "U2C-IMP-TRUST"}
PEER_RULES = {"EXP-EKU"}  # a broken Expressway-C certificate breaks every mutual leg
TRAVERSAL_RULES = {"CE-TRUST", "CE-NAME", "CE-EKU"}
"""Rules judged per traversal leg (by the graph's leg id): what Expressway-C and Expressway-E
check in the handshake. CE-EKU of Expressway-E's own certificate, CE-SAN, CE-VERSION and
EKU-SUNSET are not seen in a handshake (SIP SERVICE, the edge, releases, renewals)."""

CASES = [(s.id, v) for s in list_scenarios() for v in s.versions]


def _offline_status(f: Finding) -> Status:
    """What the offline audit said, before the wire decided (SPEC §5)."""
    before = f.evidence_dict().get("offline_status")
    return Status(before) if isinstance(before, str) else f.status


def _explained(f: Finding) -> bool:
    """A verdict the wire decided, and what on the wire decided it."""
    ev = f.evidence_dict()
    if ev.get("decided_by") != "live":
        return False
    if f.rule == "C2U-ECDSA":
        # the negotiated version and the identity presented
        negotiated = str(ev.get("negotiated", ""))
        if not negotiated.startswith(("TLSv1.2 ", "TLSv1.3 ")) or "presented_key" not in ev:
            return False
        return f.status is not Status.FAIL or ev["presented_key"] == "ecdsa"
    if f.rule == "C2U-TRUST":
        # the chain the node sends
        return "sent_chain" in ev and ("missing_intermediates" in ev or "missing_issuer" in ev)
    return False


def _offline_bad(
    report: Report, cluster: str, node: str, leg: str, mutual: bool, leg_id: str | None = None
) -> list[Finding]:
    bad: list[Finding] = []
    for f in report.findings:
        if _offline_status(f) not in (Status.FAIL, Status.RISK) or f.rule.startswith("PROBE-"):
            continue
        s = f.subject
        if f.rule in TRAVERSAL_RULES:
            if leg_id is not None and s.leg_id == leg_id:
                bad.append(f)
        elif f.rule in LEG_RULES and s.leg == leg and s.cluster == cluster:
            if s.node == node or f.rule.startswith("U2C-"):
                bad.append(f)
        elif (f.rule == "C2U-SAME-CN" and s.node == node and leg in str(f.evidence_dict())) or (
            f.rule in PEER_RULES and mutual
        ):
            bad.append(f)
    return bad


def _decided(report: Report, cluster: str, node: str, leg: str) -> list[Finding]:
    return [
        f
        for f in report.findings
        if f.evidence_dict().get("decided_by") == "live"
        and (f.subject.cluster, f.subject.node, f.subject.leg) == (cluster, node, leg)
    ]


@pytest.mark.parametrize(("sid", "version"), CASES, ids=[f"{s}-{v}" for s, v in CASES])
def test_live_agrees_with_offline(sid: str, version: str, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    material = build_scenario(sid, now=now)
    with running(material, tmp_path / "lab") as servers:
        inventory = write_material(material, tmp_path / "files", probe=servers.probe_targets())
        report = audit_with_probe(load_inventory(inventory), version=version, now=now, timeout=5)
    live = report.by_rule("PROBE-HANDSHAKE")
    assert live, "every leg is probed"
    assert not [f for f in live if f.status is Status.ERROR], [f.message for f in live]
    for f in live:
        s = f.subject
        assert s.cluster and s.node and s.leg
        mutual = bool(f.evidence_dict().get("client_cert_requested"))
        offline = _offline_bad(report, s.cluster, s.node, s.leg, mutual, s.leg_id)
        hard = [o for o in offline if _offline_status(o) is Status.FAIL]
        decided = _decided(report, s.cluster, s.node, s.leg)
        for d in decided:
            # offline risk (or a pass the wire contradicts) + a decisive live verdict agree only
            # when the negotiated version / the chain sent explains the verdict
            assert _explained(d), f"{d.rule} decided live without saying why: {d.message}"
            if d.status is Status.FAIL:
                assert f.status is Status.FAIL, (
                    f"{d.rule} fails {s.leg} on {s.node} live, but the handshake passed"
                )
        if f.status is Status.FAIL:
            explained = [d for d in decided if d.status is Status.FAIL]
            assert offline or explained, f"live failure the offline audit missed: {f.message}"
        if hard:
            assert f.status is Status.FAIL, (
                f"offline {hard[0].rule} fails {s.leg} on {s.node} but the live handshake passed"
            )


def test_f01_live_unknown_ca_on_6972(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    material = build_scenario("F01", now=now)
    with running(material, tmp_path / "lab") as servers:
        inventory = write_material(material, tmp_path / "files", probe=servers.probe_targets())
        d = load_inventory(inventory)
        before = audit_with_probe(d, now=now)  # X12.7: Expressway-C presents no certificate
        after = audit_with_probe(d, version="X14.0.2", now=now)
    assert not [f for f in before.by_rule("PROBE-HANDSHAKE") if f.status is Status.FAIL]
    rejected = [
        f
        for f in after.by_rule("PROBE-HANDSHAKE")
        if f.status is Status.FAIL and f.subject.leg == "expc->cucm:6972"
    ]
    assert {f.subject.node for f in rejected} == {"cucm-pub.example.com", "cucm-sub1.example.com"}
    for f in rejected:
        ev = f.evidence_dict()
        assert ev["alert"] == "unknown_ca" and ev["client_cert_requested"] is True
        assert any("tlsv1 alert unknown ca" in line for line in ev["traffic_server_log"])  # type: ignore[union-attr]
        assert "CN=ENT2-ROOT" in str(ev["ca_names"])


def test_unreachable_node_is_an_error_and_the_run_goes_on(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    material = build_scenario("B0", now=now)
    with running(material, tmp_path / "lab") as servers:
        targets = dict(servers.probe_targets())
        inventory = write_material(material, tmp_path / "files", probe=targets)
    # the servers are gone: every port now refuses
    report = audit_with_probe(load_inventory(inventory), now=now, timeout=2)
    live = report.by_rule("PROBE-HANDSHAKE")
    assert live and all(f.status is Status.ERROR for f in live)
    assert report.by_rule("C2U-TRUST")  # the offline rules still ran
