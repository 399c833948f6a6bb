"""lab → collect → audit gives the findings of auditing the lab's own inventory (SPEC §6)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from mratrust.collect import collect
from mratrust.lab.scenarios import (
    ScenarioMaterial,
    SetCluster,
    build_spec,
    get_scenario,
    list_scenarios,
)

from .conftest import NOW, finding_set, running_lab

SCENARIOS = [info.id for info in list_scenarios()]


@pytest.mark.slow
@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_round_trip_every_public_scenario(
    tmp_path: Path, material: Callable[[str], ScenarioMaterial], scenario_id: str
) -> None:
    with running_lab(tmp_path / "lab", material(scenario_id)) as lab:
        result = collect(lab.sources, tmp_path / "out", credentials_file=lab.credentials)
    assert result.exit_code == 0, result.facts.failures
    assert result.unknown == ()
    assert result.inventory is not None
    for version in get_scenario(scenario_id).info().versions:
        assert finding_set(result.inventory, version) == finding_set(lab.inventory, version)


def test_a_changed_setting_changes_the_findings(
    tmp_path: Path, material: Callable[[str], ScenarioMaterial]
) -> None:
    """The twin of the round trip: the comparison can fail (F17's lab vs B0's collect)."""
    with running_lab(tmp_path / "lab", material("B0")) as lab:
        result = collect(lab.sources, tmp_path / "out", credentials_file=lab.credentials)
    other = tmp_path / "f17"
    with running_lab(other, material("F17")) as f17:
        assert result.inventory is not None
        assert finding_set(result.inventory, "X14.2.1") != finding_set(f17.inventory, "X14.2.1")


def _cucm_12_5() -> ScenarioMaterial:
    scenario = get_scenario("B0")
    spec = SetCluster(cluster="cucm-main", values={"version": "12.5.1.11900-146"}).apply(
        scenario.spec()
    )
    info = dataclasses.replace(scenario.info(), id="B0-12.5")
    return build_spec(spec, info=info, now=NOW)


def test_cucm_12_5_is_collected_through_axl_sql(tmp_path: Path) -> None:
    with running_lab(tmp_path / "lab", _cucm_12_5()) as lab:
        result = collect(lab.sources, tmp_path / "out", credentials_file=lab.credentials)
        log = (lab.directory / "mgmt.log").read_text(encoding="utf-8")
    assert result.exit_code == 0, result.facts.failures
    assert result.inventory is not None
    doc = yaml.safe_load(result.inventory.read_text(encoding="utf-8"))
    by_iface = {(s["interface"], s["system"]): s for s in doc["collected"]["sources"]}
    axl = by_iface[("axl", "cucm-pub.example.com")]
    fields = {c["field"] for c in axl["certificates"]}
    assert "uc_clusters[cucm-main].trust.tomcat-trust" in fields
    assert "uc_clusters[cucm-main].nodes[cucm-sub1.example.com].certificates.CallManager" in fields
    assert ("certmgr", "cucm-pub.example.com") not in by_iface  # not offered before 14
    asked = [json.loads(line) for line in log.splitlines()]
    assert not [r for r in asked if r["host"].startswith("cucm") and "platformcom" in r["path"]]
    assert [r for r in asked if r["host"] == "cucm-pub.example.com" and r["path"] == "/axl/"]
    cucm = next(c for c in doc["uc_clusters"] if c["name"] == "cucm-main")
    assert cucm["version"] == "12.5.1.11900-146"
    for version in ("X14.0.7", "X14.2.1"):
        assert finding_set(result.inventory, version) == finding_set(lab.inventory, version)


def test_cucm_15_is_not_read_through_axl_certificates(tmp_path: Path, lab_b0: Path) -> None:
    """The twin: on 14+ the certificates come from certificate management, not from AXL."""
    doc = yaml.safe_load(lab_b0.read_text(encoding="utf-8"))
    axl = next(s for s in doc["collected"]["sources"] if s["interface"] == "axl")
    assert "certificates" not in axl
    assert any(
        s["interface"] == "certmgr" and s["system"] == "cucm-pub.example.com"
        for s in doc["collected"]["sources"]
    )


@pytest.fixture
def lab_b0(tmp_path: Path, material: Callable[[str], ScenarioMaterial]) -> Path:
    with running_lab(tmp_path / "lab", material("B0")) as lab:
        result = collect(lab.sources, tmp_path / "out", credentials_file=lab.credentials)
    assert result.inventory is not None
    return result.inventory
