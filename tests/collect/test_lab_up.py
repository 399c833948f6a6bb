"""`lab up` writes sources.yaml and a 0600 credentials.yaml, and collect reads that lab."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mratrust.collect import collect
from mratrust.lab.process import lab_down, lab_up

from .conftest import finding_set

pytestmark = pytest.mark.slow


def test_lab_up_serves_the_management_interfaces(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    lab_up("F01", lab, ttl_seconds=120)
    try:
        creds = lab / "credentials.yaml"
        assert creds.stat().st_mode & 0o777 == 0o600
        passwords = [e["password"] for e in yaml.safe_load(creds.read_text()).values()]
        assert len(set(passwords)) == len(passwords) >= 5  # one random password per account
        result = collect(lab / "sources.yaml", tmp_path / "out", credentials_file=creds)
        assert result.exit_code == 0, result.facts.failures
        assert result.inventory is not None
        for version in ("X12.7", "X14.0.2"):
            assert finding_set(result.inventory, version) == finding_set(
                lab / "inventory.yaml", version
            )
    finally:
        lab_down(lab)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "credentials.yaml"]
    assert any(p.name == "mgmt.log" for p in written)
    for p in written:
        text = p.read_bytes()
        assert all(pw.encode() not in text for pw in passwords), p


def test_lab_up_names_expressway_e_in_the_sources_and_credentials(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    lab_up("B0E", lab, ttl_seconds=120)
    try:
        sources = yaml.safe_load((lab / "sources.yaml").read_text(encoding="utf-8"))
        assert sources["expressway_e"]["address"] == "expe1.example.com"
        assert sources["expressway_e"]["credentials"] == "expe"
        assert "expe1.example.com" in sources["files"]["expressway_e_trusted_cas"]
        creds = lab / "credentials.yaml"
        accounts = yaml.safe_load(creds.read_text(encoding="utf-8"))
        assert accounts["expe"]["user"] != accounts["expc"]["user"]
        passwords = [e["password"] for e in accounts.values()]
        result = collect(lab / "sources.yaml", tmp_path / "out", credentials_file=creds)
        assert result.exit_code == 0, result.facts.failures
        assert result.inventory is not None
        assert "expressway_e:" in result.inventory.read_text(encoding="utf-8")
        assert finding_set(result.inventory, "X14.0.7") == finding_set(
            lab / "inventory.yaml", "X14.0.7"
        )
    finally:
        lab_down(lab)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "credentials.yaml"]
    for p in written:
        text = p.read_bytes()
        assert all(pw.encode() not in text for pw in passwords), p
