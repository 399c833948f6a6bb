"""The traversal zone live: the lab's Expressway-E refuses Expressway-C with the real alert.

Real TLS servers on 127.0.0.1 (the lab's Expressway-E peer, stdlib ``ssl`` with OpenSSL's own
client-certificate verification) and the probe making Expressway-C's handshake with its
(client) certificate. The agreement of every E scenario with the offline audit is in
``test_probe_agrees.py``; here, the alerts and the TLS verify subject name.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from mratrust.audit import Report
from mratrust.inventory import load_inventory
from mratrust.lab.scenarios import (
    ScenarioMaterial,
    build_scenario,
    build_spec,
    get_scenario,
    write_material,
)
from mratrust.lab.servers import read_log, running
from mratrust.model import Finding, Status
from mratrust.probe_audit import audit_with_probe

LEG_7001 = "expressway-c/expc1.example.com>expressway-e/expe1.example.com:7001"


def _probe(material: ScenarioMaterial, tmp_path: Path, now: dt.datetime) -> Report:
    tmp_path.mkdir(parents=True, exist_ok=True)
    with running(material, tmp_path / "lab", log_path=tmp_path / "lab.log") as servers:
        inventory = write_material(material, tmp_path / "files", probe=servers.probe_targets())
        return audit_with_probe(load_inventory(inventory), now=now, timeout=5)


def _live(report: Report, leg_id: str) -> list[Finding]:
    return [f for f in report.by_rule("PROBE-HANDSHAKE") if f.subject.leg_id == leg_id]


def test_e02_expressway_e_answers_unknown_ca(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    report = _probe(build_scenario("E02", now=now), tmp_path, now)
    (f,) = _live(report, LEG_7001)
    ev = f.evidence_dict()
    assert f.status is Status.FAIL and ev["alert"] == "unknown_ca"
    assert ev["client_cert_requested"] is True and "CN=ENT2-ROOT" in str(ev["ca_names"])
    entries = [e for e in read_log(tmp_path / "lab.log") if e.get("role") == 7001]
    assert entries and entries[0]["alert_sent"] == "unknown_ca"


def test_e05_missing_client_auth_is_unsupported_certificate(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    bad = _probe(build_scenario("E05", now=now), tmp_path / "without", now)
    (f,) = _live(bad, LEG_7001)
    assert f.status is Status.FAIL and f.evidence_dict()["alert"] == "unsupported_certificate"
    # the twin: X15.5 with a separate client certificate (clientAuth) is accepted
    good = _probe(build_scenario("E05-CLIENT", now=now), tmp_path / "with", now)
    (g,) = _live(good, LEG_7001)
    assert g.status is Status.PASS


def test_tls_verify_subject_name_checked_in_the_handshake(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    scenario = get_scenario("B0E")
    spec = scenario.spec()
    assert spec.expressway_e is not None
    wrong = dataclasses.replace(
        spec,
        expressway_e=dataclasses.replace(
            spec.expressway_e, tls_verify_subject_name="other.example.com"
        ),
    )
    report = _probe(build_spec(wrong, info=scenario.info(), now=now), tmp_path / "wrong", now)
    (f,) = _live(report, LEG_7001)
    assert f.status is Status.FAIL and f.evidence_dict()["alert"] == "bad_certificate"
    offline = [
        x
        for x in report.by_rule("CE-NAME")
        if x.subject.leg_id == LEG_7001 and x.subject.certificate == "client"
    ]
    assert [x.status for x in offline] == [Status.FAIL]
    # the twin: the right name, the same lab code, accepted
    right = _probe(build_spec(spec, info=scenario.info(), now=now), tmp_path / "right", now)
    (g,) = _live(right, LEG_7001)
    assert g.status is Status.PASS
