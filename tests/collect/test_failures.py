"""Each way a source can fail is one line naming the system and what to do; the rest goes on."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mratrust.collect import collect
from mratrust.collect.axl import AxlSource, SoapFault
from mratrust.collect.base import Context
from mratrust.collect.http import Api, tls_context
from mratrust.collect.sources import Credentials, load_sources
from mratrust.lab.mgmt import closed_port
from mratrust.lab.scenarios import ScenarioMaterial, SetCluster, build_spec, get_scenario

from .conftest import NOW, Lab, running_lab


def lines(result: object) -> list[str]:
    return [f.line() for f in result.facts.failures]  # type: ignore[attr-defined]


def one(result: object, system: str) -> str:
    found = [line for line in lines(result) if line.startswith(system)]
    assert found, lines(result)
    return found[0]


def test_refused_names_the_system_and_the_rest_goes_on(lab: Lab, tmp_path: Path) -> None:
    doc = lab.sources_doc()
    doc["addresses"]["cucm-sub1.example.com"]["api_ports"] = {8443: closed_port()}
    result = collect(lab.write_sources(doc), tmp_path / "out", credentials_file=lab.credentials)
    line = one(result, "cucm-sub1.example.com (certmgr)")
    assert "connection refused; check the address and port" in line
    assert result.exit_code == 3
    sub = "uc_clusters[cucm-main].nodes[cucm-sub1.example.com].certificates"
    assert f"{sub}.CallManager" in result.unknown
    assert f"{sub}.tomcat" not in result.unknown  # the handshake still gave it
    assert "cucm-pub.example.com (certmgr)" in result.facts.reached


def test_wrong_password_is_401_and_says_check_it(lab: Lab, tmp_path: Path) -> None:
    creds = {name: lab.account(name) for name in lab.mgmt.accounts}
    creds["cucm-os"] = (creds["cucm-os"][0], "not-the-password")
    path = lab.write_credentials(creds, "wrong.yaml")
    result = collect(lab.sources, tmp_path / "out", credentials_file=path)
    line = one(result, "cucm-pub.example.com (certmgr)")
    assert "credentials 'cucm-os' was refused (401 Unauthorized); check its user and password" in (
        line
    )
    assert result.exit_code == 3
    assert "uc_clusters[cucm-main].trust.tomcat-trust" in result.unknown


def test_account_without_the_role_is_403_and_names_the_role(lab: Lab, tmp_path: Path) -> None:
    creds = {name: lab.account(name) for name in lab.mgmt.accounts}
    creds["cucm-axl"] = creds["norole"]
    path = lab.write_credentials(creds, "norole.yaml")
    result = collect(lab.sources, tmp_path / "out", credentials_file=path)
    line = one(result, "cucm-pub.example.com (axl)")
    assert "(403 Forbidden); give that account Standard AXL API Users and Standard AXL Read" in line
    assert "uc_clusters[cucm-main].security_mode" in result.unknown
    assert result.exit_code == 3
    assert result.inventory is not None  # UDS still gave the nodes
    assert "cucm-sub1.example.com" in result.inventory.read_text(encoding="utf-8")


def _faulty(
    tmp_path: Path,
    material: Callable[[str], ScenarioMaterial],
    faults: dict[str, str],
    **kw: object,
) -> object:
    with running_lab(tmp_path / "lab", material("B0"), faults=faults) as lab:
        return collect(lab.sources, tmp_path / "out", credentials_file=lab.credentials, **kw)  # type: ignore[arg-type]


def test_a_server_that_never_answers_times_out(
    tmp_path: Path, material: Callable[[str], ScenarioMaterial]
) -> None:
    started = time.monotonic()
    result = _faulty(tmp_path, material, {"imp1.example.com": "hang"}, timeout=1.0)
    assert time.monotonic() - started < 15
    assert "no answer within 1 s" in one(result, "imp1.example.com (certmgr)")
    assert result.exit_code == 3  # type: ignore[attr-defined]


def test_the_deadline_bounds_the_whole_run(
    tmp_path: Path, material: Callable[[str], ScenarioMaterial]
) -> None:
    started = time.monotonic()
    result = _faulty(tmp_path, material, {"imp1.example.com": "hang"}, timeout=30.0, deadline=2.0)
    assert time.monotonic() - started < 12
    assert re.search(r"no answer within [12] s", one(result, "imp1.example.com (certmgr)"))


def test_a_trickling_answer_is_cut_at_the_request_timeout(
    tmp_path: Path, material: Callable[[str], ScenarioMaterial]
) -> None:
    started = time.monotonic()
    result = _faulty(tmp_path, material, {"cuc1.example.com": "slow"}, timeout=1.0)
    assert time.monotonic() - started < 15
    assert "did not finish within 1 s (slow server)" in one(result, "cuc1.example.com (certmgr)")


def test_an_oversized_answer_is_not_read(
    tmp_path: Path, material: Callable[[str], ScenarioMaterial]
) -> None:
    result = _faulty(tmp_path, material, {"cuc1.example.com": "oversized"}, max_bytes=256 * 1024)
    assert "over the cap of 262144 bytes; not read" in one(result, "cuc1.example.com (certmgr)")


def test_soap_fault_is_one_line_per_query_and_uds_still_gives_the_nodes(
    tmp_path: Path, material: Callable[[str], ScenarioMaterial]
) -> None:
    result = _faulty(tmp_path, material, {"cucm-pub.example.com": "sql-fault"})
    axl = [line for line in lines(result) if line.startswith("cucm-pub.example.com (axl)")]
    assert len(axl) == 5
    assert all("SOAP fault: A syntax error has occurred. (axlcode -201)" in a for a in axl)
    inventory = result.inventory  # type: ignore[attr-defined]
    assert "cucm-sub1.example.com" in inventory.read_text(encoding="utf-8")


def test_malformed_xml_and_json_are_said_as_such(
    tmp_path: Path, material: Callable[[str], ScenarioMaterial]
) -> None:
    result = _faulty(tmp_path, material, {"cucm-pub.example.com": "malformed"})
    assert "not well-formed XML" in one(result, "cucm-pub.example.com (uds)")
    assert "not well-formed XML" in one(result, "cucm-pub.example.com (axl)")
    assert "not the expected JSON" in one(result, "cucm-pub.example.com (certmgr)")


def test_malformed_expressway_json_leaves_nothing_to_write(
    tmp_path: Path, material: Callable[[str], ScenarioMaterial]
) -> None:
    result = _faulty(tmp_path, material, {"expc1.example.com": "malformed"})
    assert "is not the expected JSON" in one(result, "expc1.example.com (expressway)")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "declare `version:` under expressway_c" in result.error  # type: ignore[attr-defined]


def test_xml_entities_are_refused(
    tmp_path: Path, material: Callable[[str], ScenarioMaterial]
) -> None:
    result = _faulty(tmp_path, material, {"cucm-pub.example.com": "entities"})
    assert "holds a DTD or entities; refused" in one(result, "cucm-pub.example.com (uds)")


def test_untrusted_api_certificate_fails_and_insecure_api_warns(lab: Lab, tmp_path: Path) -> None:
    doc = lab.sources_doc()
    doc["api_trust"] = "certs/ca/ENT-ROOT.pem"  # not the CA of the management interfaces
    path = lab.write_sources(doc)
    result = collect(path, tmp_path / "out", credentials_file=lab.credentials)
    line = one(result, "expc1.example.com (expressway)")
    assert "own TLS certificate did not verify" in line
    assert "put its CA in api_trust" in line
    assert result.exit_code == 2
    insecure = collect(path, tmp_path / "out2", credentials_file=lab.credentials, insecure_api=True)
    assert insecure.exit_code == 0
    assert any("NOT checked" in w for w in insecure.warnings)
    assert not any("NOT checked" in w for w in result.warnings)


def test_bad_sql_is_a_soap_fault(lab: Lab) -> None:
    sources = load_sources(lab.sources)
    api = Api(verify=tls_context(lab.mgmt.ca_path, insecure=False), addresses=sources.address)
    src = AxlSource(
        cluster="cucm-main", publisher="cucm-pub.example.com", port=8443, credentials="cucm-axl"
    )
    ctx = Context(sources=sources, api=api, credentials=Credentials())
    try:
        creds = lab.account("cucm-axl")
        with pytest.raises(SoapFault, match=r"SOAP fault: A syntax error has occurred"):
            src.query(ctx, creds, "SELECT nothing FROM nowhere")
        rows = src.query(
            ctx, creds, "SELECT version FROM componentversion WHERE softwarecomponent = 'master'"
        )
        assert rows == [{"version": "15.0.1.12900-234"}]
    finally:
        api.close()


def test_a_build_without_the_assumed_resources_leaves_their_fields_unknown(
    tmp_path: Path, material: Callable[[str], ScenarioMaterial]
) -> None:
    result = _faulty(tmp_path, material, {"expc1.example.com": "legacy"})
    assert result.exit_code == 3  # type: ignore[attr-defined]
    unknown = set(result.unknown)  # type: ignore[attr-defined]
    assert {
        "expressway.ciphers.sip",
        "expressway.cluster_name",
        "expressway.verify_origin_server",
        "uc_clusters[cuc-main].tls_verify",
    } <= unknown
    assert "uc_clusters[cucm-main].tls_verify" not in unknown  # a named resource: still read
    notes = result.facts.notes  # type: ignore[attr-defined]
    assert any(
        "/api/provisioning/common/ciphers is not offered by this build (404)" in n for n in notes
    )
    assert result.facts.failures == ()  # type: ignore[attr-defined]


def test_a_missing_export_is_one_line_and_the_message_says_what_to_export(
    lab: Lab, tmp_path: Path
) -> None:
    doc = lab.sources_doc()
    doc["files"]["expressway_c_trusted_cas"] = "exports/nowhere.pem"
    result = collect(lab.write_sources(doc), tmp_path / "out", credentials_file=lab.credentials)
    assert "file not found; export it again" in one(result, "exports/nowhere.pem (files)")
    assert result.exit_code == 2
    assert "Show all (PEM file)) into files.expressway_c_trusted_cas" in (result.error or "")


def test_without_uc_entries_the_clusters_come_from_expressway_c(lab: Lab, tmp_path: Path) -> None:
    doc = lab.sources_doc()
    del doc["uc"]
    result = collect(lab.write_sources(doc), tmp_path / "out", credentials_file=lab.credentials)
    assert result.inventory is not None
    text = result.inventory.read_text(encoding="utf-8")
    for name in ("cucm-cucm-pub", "imp-imp1", "cuc-cuc1"):
        assert f"name: {name}\n" in text
    assert "uc_clusters[cucm-cucm-pub].nodes (only the publisher is known" in " ".join(
        result.unknown
    )
    assert result.exit_code == 3


def test_certificate_management_before_14_says_where_else_to_look(tmp_path: Path) -> None:
    scenario = get_scenario("B0")
    spec = SetCluster(cluster="imp-main", values={"version": "12.5.1.10000-5"}).apply(
        scenario.spec()
    )
    old = build_spec(spec, info=scenario.info(), now=NOW)
    with running_lab(tmp_path / "lab", old) as lab:
        result = collect(lab.sources, tmp_path / "out", credentials_file=lab.credentials)
    line = one(result, "imp1.example.com (certmgr)")
    assert "no certificate management REST (404): it needs release 14 or later" in line
    assert "uc_clusters[imp-main].trust.tomcat-trust" in result.unknown
    assert "uc_clusters[imp-main].nodes[imp1.example.com].certificates.tomcat" not in (
        result.unknown
    )  # the handshake gave it
