"""Expressway-E is collected through the same Expressway REST module, its handshakes and files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mratrust.collect import collect
from mratrust.collect.run import CollectResult
from mratrust.lab.scenarios import ScenarioMaterial

from .conftest import Lab, finding_set, running_lab

EXPE, EXPC = "expe1.example.com", "expc1.example.com"


@pytest.fixture
def lab_e(tmp_path: Path, material: Callable[[str], ScenarioMaterial]) -> Iterator[Lab]:
    """E05-CLIENT: Expressway-C and -E on X15.5, Expressway-C with a separate client certificate."""
    with running_lab(tmp_path / "lab", material("E05-CLIENT")) as running:
        yield running


def inventory(result: CollectResult) -> dict[str, Any]:
    assert result.inventory is not None, result.error
    return dict(yaml.safe_load(result.inventory.read_text(encoding="utf-8")))


def provenance(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["interface"], s["system"]): s for s in doc["collected"]["sources"]}


def cited(entry: dict[str, Any]) -> set[str]:
    return {*entry.get("fields", ()), *(c["field"] for c in entry.get("certificates", ()))}


def requests(lab: Lab) -> list[dict[str, Any]]:
    log = (lab.directory / "mgmt.log").read_text(encoding="utf-8")
    return [json.loads(line) for line in log.splitlines()]


def test_expressway_e_comes_from_its_rest_its_handshakes_and_its_export(
    lab_e: Lab, tmp_path: Path
) -> None:
    result = collect(lab_e.sources, tmp_path / "out", credentials_file=lab_e.credentials)
    assert result.exit_code == 0, result.facts.failures
    doc = inventory(result)
    exp_e = doc["expressway_e"]
    assert exp_e["version"] == "X15.5"
    assert exp_e["edge_domains"] == ["example.com"]
    assert exp_e["traversal"]["tls_verify_subject_name"] == "expc.example.com"
    assert exp_e["traversal"]["peer_addresses"] == [EXPE]
    assert [p["name"] for p in exp_e["peers"]] == [EXPE]
    by = provenance(doc)
    rest_e = cited(by[("expressway", EXPE)])
    assert {
        "expressway_e.version",
        "expressway_e.edge_domains",
        "expressway_e.cluster_tls_mode",
        "expressway_e.traversal.tls_verify_subject_name",
        f"expressway_e.peers[{EXPE}].certificate",
    } <= rest_e
    # the traversal client zone is Expressway-C's: the peer addresses come from it
    assert "expressway_e.traversal.peer_addresses" in cited(by[("expressway", EXPC)])
    wire = [k for k in by if k[0] == "tls" and k[1].startswith(f"{EXPE}:")]
    assert wire and all(f"expressway_e.peers[{EXPE}].certificate" in cited(by[k]) for k in wire)
    export = f"certs/expressway-e/{EXPE}-trusted-cas.pem"
    assert f"expressway_e.peers[{EXPE}].trusted_cas" in cited(by[("files", export)])
    # X15.5: Expressway-C's separate client certificate is read too
    assert doc["expressway"]["peers"][0]["client_certificate"].endswith("-client.pem")
    asked = requests(lab_e)
    assert {r["user"] for r in asked if r["host"] == EXPE and r["status"] == 200} == {
        "mratrust-api-e"
    }
    for version in ("X15.5.0",):
        assert finding_set(result.inventory, version) == finding_set(  # type: ignore[arg-type]
            lab_e.inventory, version
        )


def test_without_expressway_e_in_the_sources_nothing_of_it_is_read(
    lab_e: Lab, tmp_path: Path
) -> None:
    """The twin: the same lab, the sources file without expressway_e."""
    doc = lab_e.sources_doc()
    del doc["expressway_e"]
    del doc["files"]["expressway_e_trusted_cas"]
    result = collect(lab_e.write_sources(doc), tmp_path / "out", credentials_file=lab_e.credentials)
    assert result.exit_code == 0, result.facts.failures
    assert "expressway_e" not in inventory(result)
    assert not [r for r in requests(lab_e) if r["host"] == EXPE]
    assert result.inventory is not None
    rules = {rule for rule, _, _ in finding_set(result.inventory, "X15.5.0")}
    assert "CE-TRUST" not in rules
    assert "CE-TRUST" in {rule for rule, _, _ in finding_set(lab_e.inventory, "X15.5.0")}


def test_a_refused_expressway_e_account_is_one_line_and_expressway_c_goes_on(
    lab_e: Lab, tmp_path: Path
) -> None:
    creds = {name: lab_e.account(name) for name in lab_e.mgmt.accounts}
    creds["expe"] = (creds["expe"][0], creds["expc"][1])  # a real password, another account's
    path = lab_e.write_credentials(creds, "wrong.yaml")
    result = collect(lab_e.sources, tmp_path / "out", credentials_file=path)
    lines = [f.line() for f in result.facts.failures]
    assert any(
        line.startswith(f"{EXPE} (expressway)")
        and "credentials 'expe' was refused (401 Unauthorized); check its user and password" in line
        for line in lines
    ), lines
    assert result.exit_code == 3
    assert any(u.startswith("expressway_e (its version is unknown") for u in result.unknown)
    doc = inventory(result)
    assert "expressway_e" not in doc
    assert doc["expressway"]["version"] == "X15.5"
    texts = [
        p.read_text(encoding="utf-8", errors="replace")
        for p in tmp_path.rglob("*")
        if p.is_file() and p.suffix in (".yaml", ".log") and p not in (path, lab_e.credentials)
    ]
    assert len(texts) >= 4  # the inventory, sources.yaml, mgmt.log, lab.log
    texts += lines
    for secret in lab_e.passwords():
        assert all(secret not in text for text in texts)
    assert all(s in lab_e.credentials.read_text(encoding="utf-8") for s in lab_e.passwords())


def test_a_build_without_the_assumed_resources_leaves_those_fields_unknown(
    tmp_path: Path, material: Callable[[str], ScenarioMaterial]
) -> None:
    with running_lab(tmp_path / "lab", material("B0E"), faults={EXPE: "legacy"}) as lab:
        result = collect(lab.sources, tmp_path / "out", credentials_file=lab.credentials)
    assert result.exit_code == 3
    assert {
        "expressway_e.edge_domains",
        "expressway_e.traversal.tls_verify_subject_name",
        "expressway_e.cluster_name",
    } <= set(result.unknown)
    assert "expressway_e.enable_server_eku_upload" not in result.unknown  # X14: no such switch
    assert any(
        "/api/provisioning/zone/traversalserver is not offered by this build (404)" in n
        for n in result.facts.notes
    )
    peers = inventory(result)["expressway_e"]["peers"]  # a named resource: still read
    assert [p["name"] for p in peers] == [EXPE]


def test_without_the_trusted_ca_export_expressway_e_is_unknown_and_says_what_to_export(
    lab_e: Lab, tmp_path: Path
) -> None:
    doc = lab_e.sources_doc()
    del doc["files"]["expressway_e_trusted_cas"]
    result = collect(lab_e.write_sources(doc), tmp_path / "out", credentials_file=lab_e.credentials)
    assert result.exit_code == 3
    assert f"expressway_e.peers[{EXPE}].trusted_cas" in result.unknown
    assert any("into files.expressway_e_trusted_cas" in u for u in result.unknown)
    assert "expressway_e" not in inventory(result)


def test_without_an_expressway_e_account_its_certificate_comes_from_the_handshakes(
    lab_e: Lab, tmp_path: Path
) -> None:
    doc = lab_e.sources_doc()
    doc["expressway_e"] = {"address": EXPE, "version": "X15.5", "upgraded_from": "X14.0.7"}
    result = collect(lab_e.write_sources(doc), tmp_path / "out", credentials_file=lab_e.credentials)
    out = inventory(result)
    assert result.exit_code == 3  # its settings are unknown without the REST API
    assert "expressway_e.edge_domains" in result.unknown
    by = provenance(out)
    assert ("expressway", EXPE) not in by
    assert f"expressway_e.peers[{EXPE}].certificate" in cited(by[("tls", f"{EXPE}:7001")])
    written = (result.inventory.parent / out["expressway_e"]["peers"][0]["certificate"]).read_text(  # type: ignore[union-attr]
        encoding="utf-8"
    )
    exported = (lab_e.directory / f"certs/expressway-e/{EXPE}.pem").read_text(encoding="utf-8")
    assert written == exported
