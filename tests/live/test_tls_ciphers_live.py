"""CUCM's "TLS Ciphers" from the lab to the inventory: offline audit and the wire agree on 5061.

F13-TLS12 (X14.2.1 upgraded from X14.0.7, RSA-first cipher strings, CUCM capped at TLS 1.2)
in mixed mode (so the SIP TLS 5061 leg exists) with the cluster's ``tls_ciphers`` set to
``ec-preferred``: the lab writes it to inventory.yaml,
the offline audit flags C2U-ECDSA on SIP TLS 5061, and the lab's 5061 listener, which follows
the same setting, presents CallManager-ECDSA in a real handshake. The twin at the default
(``rsa-preferred``, not written) passes 5061 both offline and live.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from mratrust.audit import Report, audit
from mratrust.inventory import load_inventory
from mratrust.lab.build import build_spec
from mratrust.lab.scenarios import (
    ENT_CHAIN,
    EXPC1,
    PeerRef,
    SetCluster,
    SetStore,
    get_scenario,
    write_material,
)
from mratrust.lab.servers import running
from mratrust.model import Finding, Status
from mratrust.probe_audit import audit_with_probe

LEG = "expc->cucm:5061"


def _ecdsa_5061(report: Report) -> list[Finding]:
    return [f for f in report.by_rule("C2U-ECDSA") if f.subject.leg == LEG]


@pytest.mark.parametrize("setting", ["ec-preferred", "rsa-preferred"])
def test_tls_ciphers_reaches_the_inventory_and_the_wire(setting: str, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    scenario = get_scenario("F13-TLS12")
    spec = scenario.spec()
    for change in (
        SetCluster(cluster="cucm-main", values={"security_mode": "mixed", "tls_ciphers": setting}),
        # mixed mode: Expressway-C's certificate in CallManager-trust, as the MRA guide has it
        SetStore(
            cluster="cucm-main", store="CallManager-trust", entries=(*ENT_CHAIN, PeerRef(EXPC1))
        ),
    ):
        spec = change.apply(spec)
    material = build_spec(spec, info=scenario.info(), now=now)
    offline_inv = write_material(material, tmp_path / "offline")
    doc = yaml.safe_load(offline_inv.read_text(encoding="utf-8"))
    cucm = next(c for c in doc["uc_clusters"] if c["name"] == "cucm-main")
    if setting == "ec-preferred":
        assert cucm["tls_ciphers"] == "ec-preferred"
    else:
        assert "tls_ciphers" not in cucm  # the default is left out
    offline = audit(load_inventory(offline_inv), version="X14.2.1", now=now)
    off = _ecdsa_5061(offline)
    assert off, "C2U-ECDSA judges 5061 on every CUCM node"
    for f in off:
        assert f.evidence_dict()["cucm_tls_ciphers"] == setting

    with running(material, tmp_path / "lab") as servers:
        inv = write_material(material, tmp_path / "files", probe=servers.probe_targets())
        live = audit_with_probe(load_inventory(inv), version="X14.2.1", now=now, timeout=5)
    on_wire = _ecdsa_5061(live)
    assert {f.subject.node for f in on_wire} == {f.subject.node for f in off}
    for f in on_wire:
        ev = f.evidence_dict()
        assert ev["decided_by"] == "live", f.message
        assert str(ev["negotiated"]).startswith("TLSv1.2 ")
    if setting == "ec-preferred":
        # offline already fails or warns of the ECDSA identity; the wire shows it presented
        assert all(f.status in (Status.FAIL, Status.RISK) for f in off), [f.message for f in off]
        assert all(f.evidence_dict()["presented_key"] == "ecdsa" for f in on_wire)
        assert all(f.status is Status.FAIL for f in on_wire), [f.message for f in on_wire]
        assert all("TLS Ciphers" in " ".join(f.remediation) for f in off)
    else:
        assert all(f.status is Status.PASS for f in off), [f.message for f in off]
        assert all(f.evidence_dict()["presented_key"] == "rsa" for f in on_wire)
        assert all(f.status is Status.PASS for f in on_wire), [f.message for f in on_wire]
