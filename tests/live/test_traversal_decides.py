"""With ``--probe``, CE-TRUST's offline risk (an intermediate Expressway-C's trusted CA list
lacks, taken from Expressway-E's certificate file) is decided by the chain Expressway-E sends.

Real TLS servers on 127.0.0.1 (the lab's Expressway-E, sending its intermediate or not) and the
probe making Expressway-C's traversal handshakes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from mratrust.audit import Report, audit
from mratrust.inventory import load_inventory
from mratrust.lab.scenarios import (
    CaRef,
    ScenarioMaterial,
    SetPeer,
    build_spec,
    get_scenario,
    write_material,
)
from mratrust.lab.servers import running
from mratrust.model import Finding, Status
from mratrust.probe_audit import audit_with_probe

LEGS = tuple(
    f"expressway-c/expc1.example.com>expressway-e/expe1.example.com:{port}" for port in (7001, 7400)
)


def _variant(*, sends: bool, now: dt.datetime) -> ScenarioMaterial:
    """B0E with Expressway-C's trusted CA list holding ENT-ROOT alone (no ENT-INT)."""
    scenario = get_scenario("B0E")
    spec = SetPeer(trusted=(CaRef("ENT-ROOT"),)).apply(scenario.spec())
    assert spec.expressway_e is not None
    spec = dataclasses.replace(
        spec, expressway_e=dataclasses.replace(spec.expressway_e, sends_intermediates=sends)
    )
    info = dataclasses.replace(scenario.info(), id="B0E-NO-INT" if sends else "B0E-NO-INT-LEAF")
    return build_spec(spec, info=info, now=now)


def _reports(sends: bool, tmp_path: Path) -> tuple[Report, Report]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    material = _variant(sends=sends, now=now)
    with running(material, tmp_path / "lab", log_path=tmp_path / "lab.log") as servers:
        inventory = write_material(material, tmp_path / "files", probe=servers.probe_targets())
        deployment = load_inventory(inventory)
        live = audit_with_probe(deployment, now=now, timeout=5)
    return audit(deployment, now=now), live


def _e_side(report: Report) -> list[Finding]:
    return [
        f
        for f in report.by_rule("CE-TRUST")
        if f.subject.certificate == "server" and f.subject.leg_id in LEGS
    ]


def test_expressway_e_sending_the_intermediate_passes_with_the_advice_to_upload_it(
    tmp_path: Path,
) -> None:
    offline, live = _reports(True, tmp_path)
    assert [f.status for f in _e_side(offline)] == [Status.RISK, Status.RISK]
    decided = _e_side(live)
    assert [f.status for f in decided] == [Status.PASS, Status.PASS]
    for f in decided:
        ev = f.evidence_dict()
        assert ev["decided_by"] == "live" and ev["offline_status"] == "risk"
        assert ev["upload_advised"] is True
        assert len(ev["sent_chain"]) == 2
        assert "sends CN=ENT-INT" in f.message and "lacks it" in f.message
        assert f.remediation[0].startswith(
            "Upload CN=ENT-INT to the trusted CA list of Expressway-C"
        )


def test_expressway_e_sending_its_leaf_alone_fails(tmp_path: Path) -> None:
    """The twin: the same inventory, Expressway-E sends its certificate without ENT-INT."""
    offline, live = _reports(False, tmp_path)
    assert [f.status for f in _e_side(offline)] == [Status.RISK, Status.RISK]
    decided = _e_side(live)
    assert [f.status for f in decided] == [Status.FAIL, Status.FAIL]
    for f in decided:
        ev = f.evidence_dict()
        assert ev["decided_by"] == "live" and len(ev["sent_chain"]) == 1
        assert "sends only its certificate" in f.message
        assert "cannot build the path" in f.message
        assert len(ev["upload"]) == 1  # type: ignore[arg-type]  # ENT-INT, from the certificate file
    # Expressway-C's own (client) side is what the probe sends: left as offline said
    client = [f for f in live.by_rule("CE-TRUST") if f.subject.certificate == "client"]
    assert client and all("decided_by" not in f.evidence_dict() for f in client)
