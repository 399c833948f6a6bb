"""Handshake-only deployments, and a wire that disagrees with the management copy (drift)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.serialization import Encoding

from mratrust.audit import audit
from mratrust.cli import main
from mratrust.collect import collect
from mratrust.inventory import load_inventory
from mratrust.lab.scenarios import ScenarioMaterial, build_scenario
from mratrust.model import Status

from .conftest import NOW, Lab, running_lab


def handshake_only(lab: Lab) -> Path:
    """No account at all: the version, upgrade path and Expressway-C exports are declared."""
    doc = lab.sources_doc()
    doc["expressway_c"] = {
        "address": "expc1.example.com",
        "version": "X14.2.1",
        "upgraded_from": "X14.0.7",
    }
    for entry in doc["uc"]:
        entry.pop("axl", None)
        entry.pop("platform", None)
    doc["files"]["expressway_c_certificates"] = {
        "expc1.example.com": "certs/expressway/expc1.example.com.pem"
    }
    return lab.write_sources(doc, "handshake-only.yaml")


def export_errors(inventory: Path) -> list[str]:
    report = audit(load_inventory(inventory), version="X14.2.1", now=NOW)
    return [
        r
        for f in report.findings
        if f.status is Status.ERROR
        for r in f.remediation
        if r.startswith("export ")
    ]


def test_handshake_only_leaves_the_stores_unknown_and_the_audit_says_what_to_export(
    lab: Lab, tmp_path: Path
) -> None:
    result = collect(handshake_only(lab), tmp_path / "out", env={})
    assert result.exit_code == 3
    for store in (
        "cucm-main].trust.tomcat-trust",
        "cucm-main].trust.CallManager-trust",
        "imp-main].trust.cup-xmpp-trust",
        "cuc-main].trust.tomcat-trust",
    ):
        assert f"uc_clusters[{store}" in result.unknown
    assert result.inventory is not None
    doc = yaml.safe_load(result.inventory.read_text(encoding="utf-8"))
    cucm = next(c for c in doc["uc_clusters"] if c["name"] == "cucm-main")
    assert "trust" not in cucm
    assert [n["name"] for n in cucm["nodes"]] == [
        "cucm-pub.example.com",
        "cucm-sub1.example.com",
    ]  # UDS, no account
    assert set(cucm["nodes"][1]["certificates"]) == {"tomcat"}  # what 8443 presents
    assert cucm["https_ciphers"] == "rsa-only"  # no ECDSA identity on the wire
    assert {s["interface"] for s in doc["collected"]["sources"]} == {
        "files",
        "sources",
        "tls",
        "uds",
    }
    errors = export_errors(result.inventory)
    assert any("export tomcat-trust (show cert list trust)" in e for e in errors), errors


def test_with_accounts_nothing_is_left_to_export(lab: Lab, tmp_path: Path) -> None:
    result = collect(lab.sources, tmp_path / "out", credentials_file=lab.credentials)
    assert result.inventory is not None
    assert export_errors(result.inventory) == []


@pytest.mark.slow
def test_wire_differs_from_the_management_copy_is_drift(
    tmp_path: Path,
    material: Callable[[str], ScenarioMaterial],
    capsys: pytest.CaptureFixture[str],
) -> None:
    reissued = build_scenario("B0", now=NOW + dt.timedelta(days=1))  # every certificate anew
    with running_lab(tmp_path / "lab", material("B0"), mgmt_material=reissued) as lab:
        result = collect(lab.sources, tmp_path / "out", credentials_file=lab.credentials)
        assert result.inventory is not None
        fields = {d["field"] for d in result.drift}
        tomcat = "uc_clusters[cucm-main].nodes[cucm-pub.example.com].certificates.tomcat"
        assert tomcat in fields
        node = reissued.cluster("cucm-main").nodes[0]
        written = result.inventory.parent / "certs/cucm-main/cucm-pub.example.com/tomcat.pem"
        pem = node.identities["tomcat"].cert.public_bytes(Encoding.PEM)
        assert written.read_bytes().startswith(pem)  # the management copy; the wire's is in drift
        main(["audit", str(result.inventory), "--probe", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    drift = {
        (f["subject"]["node"], f["status"])
        for f in report["findings"]
        if f["rule"] == "PROBE-DRIFT"
    }
    assert "cucm-pub.example.com" in {node for node, _ in drift}, drift


def test_no_drift_when_wire_and_management_agree(lab: Lab, tmp_path: Path) -> None:
    result = collect(lab.sources, tmp_path / "out", credentials_file=lab.credentials)
    assert result.drift == ()
    assert result.inventory is not None
    assert "drift" not in yaml.safe_load(result.inventory.read_text(encoding="utf-8"))["collected"]
