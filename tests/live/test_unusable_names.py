"""A node name DNS cannot carry (``cucm-sub1..example.com``): the offline audit says it is no FQDN
and why, and ``audit --probe`` reports each of its legs as an ``error`` finding and probes the
others, instead of stopping the run. Real lab servers on 127.0.0.1, the B0 scenario's
certificates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from mratrust.audit import Report, audit
from mratrust.inventory import load_inventory
from mratrust.lab.scenarios import build_scenario, write_material
from mratrust.lab.servers import LabServers
from mratrust.model import Deployment, Finding, Status
from mratrust.probe_audit import audit_with_probe

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
PUB = "cucm-pub.example.com"
BAD = "cucm-sub1..example.com"


def _lab(base: Path, scenario: str, typed: str, mistyped: str) -> Iterator[dict[str, Deployment]]:
    """``scenario``'s lab running, its deployment as written ("good") and with ``typed`` (a
    piece of the inventory's text, found once) replaced by ``mistyped`` ("broken")."""
    material = build_scenario(scenario, now=NOW)
    servers = LabServers(material, base / "lab").start()
    try:
        inventory = write_material(material, base / "files", probe=servers.probe_targets())
        text = inventory.read_text(encoding="utf-8")
        assert text.count(typed) == 1
        broken = inventory.with_name("broken.yaml")
        broken.write_text(text.replace(typed, mistyped), encoding="utf-8")
        yield {"good": load_inventory(inventory), "broken": load_inventory(broken)}
    finally:
        servers.close()


@pytest.fixture(scope="module")
def deployments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Deployment]]:
    """B0, and B0 with cucm-sub1's name mistyped."""
    typed = "name: cucm-sub1.example.com\n"
    yield from _lab(tmp_path_factory.mktemp("unusable-names"), "B0", typed, f"name: {BAD}\n")


def test_the_offline_audit_says_the_name_is_no_fqdn_and_why(
    deployments: dict[str, Deployment],
) -> None:
    report = audit(deployments["broken"], version="X14.2.1", now=NOW)
    by_node = {f.subject.node: f for f in report.by_rule("C2U-FQDN")}
    assert by_node[BAD].status is Status.FAIL
    assert "a label is empty or longer than 63 characters" in by_node[BAD].message
    assert by_node[PUB].status is Status.PASS  # the twin: a usable name passes


def test_a_leg_with_an_unusable_name_is_an_error_and_the_run_goes_on(
    deployments: dict[str, Deployment],
) -> None:
    report = audit_with_probe(deployments["broken"], version="X14.2.1", now=NOW, timeout=5)
    live = report.by_rule("PROBE-HANDSHAKE")
    bad = [f for f in live if f.subject.node == BAD]
    assert bad and all(f.status is Status.ERROR for f in bad)
    assert all(
        "is not a usable DNS name" in f.message and "correct the name in the inventory" in f.message
        for f in bad
    )
    # the other nodes were probed: the publisher's legs completed
    pub = [f for f in live if f.subject.node == PUB]
    assert pub and all(f.status is Status.PASS for f in pub)


def test_negative_twin_the_same_deployment_with_its_real_name_probes_every_leg(
    deployments: dict[str, Deployment],
) -> None:
    report = audit_with_probe(deployments["good"], version="X14.2.1", now=NOW, timeout=5)
    live = report.by_rule("PROBE-HANDSHAKE")
    assert {f.subject.node for f in live} >= {PUB, "cucm-sub1.example.com"}
    assert not [f for f in live if f.status is Status.ERROR]


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Deployment]]:
    """B0E (with an Expressway-E), its traversal zone's Peer address as typed, and mistyped."""
    typed = "  peer_addresses:\n    - expe1.example.com\n"
    yield from _lab(
        tmp_path_factory.mktemp("unusable-peer-address"),
        "B0E",
        typed,
        "  peer_addresses:\n    - expe1..example.com\n",
    )


def _traversal(report: Report) -> list[Finding]:
    """The live findings of the traversal legs (Expressway-C to Expressway-E)."""
    return [
        f
        for f in report.by_rule("PROBE-HANDSHAKE")
        if (f.subject.leg_id or "").startswith("expressway-c/")
        and ">expressway-e/" in (f.subject.leg_id or "")
    ]


def test_a_traversal_leg_to_an_unusable_peer_address_is_an_error(
    edge: dict[str, Deployment],
) -> None:
    report = audit_with_probe(edge["broken"], now=NOW, timeout=5)
    legs = _traversal(report)
    assert legs and all(f.status is Status.ERROR for f in legs)
    assert all("'expe1..example.com' is not a usable DNS name" in f.message for f in legs)
    # the UC legs were still probed
    assert any(
        f.status is Status.PASS and f.subject.node == PUB for f in report.by_rule("PROBE-HANDSHAKE")
    )


def test_negative_twin_the_typed_peer_address_is_probed(edge: dict[str, Deployment]) -> None:
    legs = _traversal(audit_with_probe(edge["good"], now=NOW, timeout=5))
    assert legs and not [f for f in legs if f.status is Status.ERROR]
