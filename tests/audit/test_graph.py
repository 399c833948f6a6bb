"""The report's trust graph (SPEC §4) over every scenario of the catalogue."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from mratrust.audit import Report, audit
from mratrust.lab.scenarios import list_scenarios
from mratrust.model import Deployment, Finding, Status
from mratrust.report.json import render
from mratrust.topology import EndpointKind, GraphLeg, Leg, UcLeg, about_legs
from tests.conftest import NOW

Get = Callable[[str], Deployment]
SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schema" / "report.schema.json").read_text()
)
CASES = [(i.id, v) for i in list_scenarios() for v in i.versions]


def _report(deployment: Get, sid: str, version: str) -> Report:
    return audit(deployment(sid), version=version, now=NOW)


@pytest.mark.parametrize(("sid", "version"), CASES)
def test_every_connection_finding_names_a_leg_of_the_graph(
    deployment: Get, sid: str, version: str
) -> None:
    report = _report(deployment, sid, version)
    assert report.graph is not None
    ids = {g.leg.id for g in report.graph.legs}
    endpoints = {e.id for e in report.graph.endpoints}
    for f in report.findings:
        if f.subject.leg is not None and f.status in (Status.FAIL, Status.RISK):
            assert f.subject.leg_id in ids, (f.rule, f.subject)
        if f.subject.endpoint_id is not None:
            assert f.subject.endpoint_id in endpoints, (f.rule, f.subject)
    # a leg's status is the worst of the findings naming it (others may widen it: see topology)
    for g in report.graph.legs:
        named = [f.status for f in report.findings if f.subject.leg_id == g.leg.id]
        if named:
            assert g.status is not None
            assert g.status.rank <= min(s.rank for s in named)
    jsonschema.validate(json.loads(render(report)), SCHEMA)


def _leg(report: Report, server: str, port: int) -> list[GraphLeg]:
    assert report.graph is not None
    return [g for g in report.graph.legs if g.leg.server.name == server and g.leg.port == port]


def test_leg_status_is_the_worst_of_its_findings(deployment: Get) -> None:
    # F01: CUCM's tomcat-trust lacks Expressway-C's chain: on X14.0.2+ the 6972 leg fails on
    # every node of the cluster, and the discovery leg 8443 (not mutual) stays clean
    d = deployment("F01")
    report = audit(d, version="X14.2.1", now=NOW)
    cucm = next(c for c in d.uc_clusters if c.name == "cucm-main")
    for node in cucm.nodes:
        assert [g.status for g in _leg(report, node.name, 6972)] == [Status.FAIL]
        assert [g.status for g in _leg(report, node.name, 8443)] == [Status.PASS]
    # the negative twin: B0 has no failing leg
    clean = audit(deployment("B0"), version="X14.2.1", now=NOW)
    assert clean.graph is not None
    assert {g.status for g in clean.graph.legs} <= {Status.PASS, Status.INFO, None}


def test_graph_json_shape(deployment: Get) -> None:
    out = json.loads(render(audit(deployment("F08"), version="X14.0.7", now=NOW)))
    kinds = {e["kind"] for e in out["graph"]["endpoints"]}
    assert {EndpointKind.EXPRESSWAY_C.value, EndpointKind.CUCM.value} <= kinds
    back = [g for g in out["graph"]["legs"] if g["client"].startswith("cucm/")]
    assert back and all(g["port"] == 5061 and g["mutual"] for g in back)
    assert all(g["purpose"] == "sip" for g in back)
    assert all(g["id"] == f"{g['client']}>{g['server']}:{g['port']}" for g in back)


def test_sip_oauth_leg_absent_before_its_release(deployment: Get) -> None:
    # F17 uses SIP OAuth; the legs exist from X12.5 (SIP OAuth over MRA) only
    def oauth(version: str) -> int:
        report = audit(deployment("F17"), version=version, now=NOW)
        assert report.graph is not None
        return sum(g.leg.purpose.value == "sip-oauth" for g in report.graph.legs)

    assert oauth("X14.2.1") > 0
    assert oauth("X12.0") == 0


def test_text_and_markdown_group_by_the_graph(deployment: Get) -> None:
    from dataclasses import replace

    from mratrust.report import markdown, text

    report = audit(deployment("F01"), version="X14.2.1", now=NOW)
    out = text.render(report)
    assert "cucm-main trust stores\n  FAIL  U2C-TRUST  expc->cucm:6972" in out
    assert "cucm-main / cucm-pub.example.com\n" in out
    assert "| FAIL | U2C-TRUST | cucm-main trust stores expc->cucm:6972" in markdown.render(report)
    # without a graph nothing names an endpoint: the cluster alone heads the group
    bare = text.render(replace(report, graph=None))
    assert "cucm-main trust stores" not in bare
    assert "\ncucm-main\n  FAIL  U2C-TRUST" in bare


def _about_by_definition(
    every: tuple[Leg, ...], findings: tuple[Finding, ...]
) -> dict[str, list[Finding]]:
    """SPEC §4's rule, leg by leg: a finding is about the leg it names and, for a UC leg, the
    legs of the same row in the same cluster that share the endpoint its subject names."""
    by_id = {leg.id: leg for leg in every}
    out: dict[str, list[Finding]] = {}
    for f in findings:
        named = by_id.get(f.subject.leg_id or "")
        if named is None:
            continue
        for leg in every:
            if not isinstance(named, UcLeg):
                same = leg is named
            elif not isinstance(leg, UcLeg) or (leg.row, leg.cluster.name) != (
                named.row,
                named.cluster.name,
            ):
                same = False
            else:
                node = f.subject.node
                peer = {named.client.name, named.server.name} - {named.node.name}
                if node is not None and node in peer:
                    same = node in (leg.client.name, leg.server.name)
                else:
                    same = leg.node.name == named.node.name
            if same:
                out.setdefault(leg.id, []).append(f)
    return out


@pytest.mark.parametrize(("sid", "version"), CASES)
def test_legs_a_finding_is_about_follow_the_definition(
    deployment: Get, sid: str, version: str
) -> None:
    report = _report(deployment, sid, version)
    assert report.graph is not None
    every = tuple(g.leg for g in report.graph.legs)
    assert about_legs(every, report.findings) == _about_by_definition(every, report.findings)


def test_a_peer_finding_reaches_that_peers_legs_to_every_node(deployment: Get) -> None:
    """F01 on X14.2.1: tomcat-trust lacks the peer's chain; the finding names one node's 6972
    leg and is about that peer's 6972 legs to every node (its twin, a node's own certificate
    finding, stays on that node's legs)."""
    d = deployment("F01")
    report = audit(d, version="X14.2.1", now=NOW)
    assert report.graph is not None
    every = tuple(g.leg for g in report.graph.legs)
    about = about_legs(every, report.findings)
    cucm = next(c for c in d.uc_clusters if c.name == "cucm-main")
    fail = next(
        f
        for f in report.findings
        if f.status is Status.FAIL and f.subject.leg_id and ":6972" in f.subject.leg_id
    )
    reached = [leg_id for leg_id, found in about.items() if fail in found]
    assert len(reached) == len(cucm.nodes) > 1
    own = next(
        f
        for f in report.findings
        if f.rule == "C2U-TRUST" and f.subject.leg_id and ":8443" in f.subject.leg_id
    )
    assert [leg_id for leg_id, found in about.items() if own in found] == [own.subject.leg_id]


@pytest.mark.parametrize("sid", sorted({sid for sid, _ in CASES}))
def test_the_rules_legs_are_those_expressway_c_makes(deployment: Get, sid: str) -> None:
    """The context takes the C2U legs from the graph's legs: the same values, in the same order,
    as c2u_legs() builds (the first peer to every node), and none of the other directions."""
    from mratrust.audit import context
    from mratrust.topology import c2u_legs, expressway_c

    d = deployment(sid)
    ctx = context(d, now=NOW)
    assert ctx.legs() == c2u_legs(d)
    first = expressway_c(d)[0]
    assert all(leg.client == first and leg.from_expressway_c for leg in ctx.legs())
    others = [leg for leg in ctx.graph_legs() if leg not in ctx.legs()]
    assert all(leg.client != first or not leg.from_expressway_c for leg in others)
    # the other directions and peers are in the graph only (mixed mode: CUCM -> C on 5061)
    back = [leg for leg in ctx.graph_legs() if leg.server.kind is EndpointKind.EXPRESSWAY_C]
    assert back == [leg for leg in others if leg.server.kind is EndpointKind.EXPRESSWAY_C]
