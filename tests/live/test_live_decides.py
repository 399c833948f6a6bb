"""``audit --probe`` decides what offline can only call a risk (SPEC §5, SCENARIOS F13/F14/F35).

C2U-ECDSA: Traffic Server offers TLS 1.2 and 1.3 from X14.2; the version negotiated and the
identity presented decide. C2U-TRUST: the chain the node really sends decides the missing
intermediate. Real lab servers on 127.0.0.1, real handshakes, the scenarios' real certificates.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace

import jsonschema
import pytest

from mratrust.audit import Report, audit, context
from mratrust.inventory import load_inventory
from mratrust.lab.scenarios import build_scenario, write_material
from mratrust.lab.servers import LabServers
from mratrust.model import Deployment, Finding, Status
from mratrust.pki.facts import facts
from mratrust.probe_audit import audit_with_probe, observe
from mratrust.report.json import render as render_json
from mratrust.report.schema import report_schema
from mratrust.rules.observed import decide_live

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
PUB = "cucm-pub.example.com"
SUB1 = "cucm-sub1.example.com"
NODES = {PUB, SUB1}
TOMCAT_LEGS = ("expc->cucm:8443", "expc->cucm:6972")


@dataclass(frozen=True, slots=True, kw_only=True)
class Lab:
    deployment: Deployment


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Lab]]:
    base = tmp_path_factory.mktemp("live-decides")
    started: list[LabServers] = []
    out: dict[str, Lab] = {}
    try:
        for sid in ("B0", "F13", "F13-TLS12", "F14", "F35", "F35-LEAF"):
            material = build_scenario(sid, now=NOW)
            servers = LabServers(material, base / sid / "lab").start()
            started.append(servers)
            inventory = write_material(
                material, base / sid / "files", probe=servers.probe_targets()
            )
            out[sid] = Lab(deployment=load_inventory(inventory))
        yield out
    finally:
        for servers in started:
            servers.close()


def _probe(lab: Lab, version: str = "X14.2.1") -> Report:
    return audit_with_probe(lab.deployment, version=version, now=NOW, timeout=5)


def _cucm(report: Report, rule: str, legs: tuple[str, ...] = TOMCAT_LEGS) -> list[Finding]:
    found = [
        f
        for f in report.by_rule(rule)
        if f.subject.cluster == "cucm-main" and f.subject.leg in legs
    ]
    assert {(f.subject.node, f.subject.leg) for f in found} == {
        (n, leg) for n in NODES for leg in legs
    }
    return found


# --------------------------------------------------------------------------- Traffic Server offer


@pytest.mark.parametrize(
    ("version", "negotiated"),
    [("X14.0.7", "TLSv1.2"), ("X14.2.1", "TLSv1.3"), ("X15.3", "TLSv1.3")],
)
def test_traffic_server_offers_tls13_from_x14_2(
    labs: dict[str, Lab], version: str, negotiated: str
) -> None:
    # the lab's CUCM negotiates TLS 1.3: what Expressway-C gets depends on what it offers
    report = _probe(labs["B0"], version)
    for f in _cucm(report, "PROBE-HANDSHAKE"):
        assert f.status is Status.PASS, f.message
        assert str(f.evidence_dict()["negotiated"]).startswith(negotiated + " "), f.message


def test_a_cucm_without_tls13_gets_tls12(labs: dict[str, Lab]) -> None:
    for f in _cucm(_probe(labs["F13-TLS12"]), "PROBE-HANDSHAKE"):
        assert str(f.evidence_dict()["negotiated"]).startswith("TLSv1.2 "), f.message


# --------------------------------------------------------------------------- C2U-ECDSA


@pytest.mark.parametrize("sid", ["F13", "F14"])
def test_tls13_brings_out_the_untrusted_ecdsa_identity(labs: dict[str, Lab], sid: str) -> None:
    # F13: the upgrade's RSA prefix; F14: :+ECDSA. Neither changes TLS 1.3.
    for f in _cucm(_probe(labs[sid]), "C2U-ECDSA"):
        ev = f.evidence_dict()
        assert f.status is Status.FAIL, f.message
        assert ev["decided_by"] == "live" and ev["presented"] == "tomcat-ECDSA"
        assert ev["presented_key"] == "ecdsa"
        assert str(ev["negotiated"]).startswith("TLSv1.3 ")
        assert "negotiated TLSv1.3" in f.message and "self-signed tomcat-ECDSA" in f.message
        assert "signature algorithms choose the certificate type" in f.message
        # fixes that hold under TLS 1.2 and 1.3 first, the cipher string (TLS 1.2 only) after
        assert f.remediation[0].startswith("Trust tomcat-ECDSA (holds under TLS 1.2 and 1.3)")
        assert "RSA Ciphers only" in f.remediation[1]
        assert "TLS 1.2 only" in f.remediation[2] and "TLS 1.3" in f.remediation[2]


def test_tls12_only_brings_out_the_rsa_identity(labs: dict[str, Lab]) -> None:
    # negative twin of F13: the same deployment, the nodes capped at TLS 1.2
    for f in _cucm(_probe(labs["F13-TLS12"]), "C2U-ECDSA"):
        ev = f.evidence_dict()
        assert f.status is Status.PASS, f.message
        assert ev["decided_by"] == "live" and ev["presented"] == "tomcat"
        assert ev["presented_key"] == "rsa"
        assert str(ev["negotiated"]).startswith("TLSv1.2 ")
        assert "negotiated TLSv1.2" in f.message and "presented tomcat (RSA;" in f.message
        assert "this holds while" in f.message


def test_after_x15_2_traffic_server_still_lists_ecdsa_first(labs: dict[str, Lab]) -> None:
    # the X15.2 RSA signature preference is a SIP setting: Traffic Server's offer is unchanged
    for f in _cucm(_probe(labs["F13"], "X15.3"), "C2U-ECDSA"):
        assert f.status is Status.FAIL and f.evidence_dict()["presented"] == "tomcat-ECDSA"


def test_an_offline_risk_is_decided_by_the_wire(labs: dict[str, Lab]) -> None:
    # the shape the offline rule gives under TLS 1.3 (SPEC §5): risk; the wire decides it
    for sid, expected in (("F13", Status.FAIL), ("F13-TLS12", Status.PASS)):
        d = labs[sid].deployment
        ctx = context(d, version="X14.2.1", now=NOW)
        seen = {(o.cluster, o.node, o.leg): o for o in observe(ctx, timeout=5)}
        live = replace(ctx, observed=tuple(seen.values()))
        for f in _cucm(audit(d, version="X14.2.1", now=NOW), "C2U-ECDSA"):
            risk = replace(f, status=Status.RISK)
            s = risk.subject
            assert s.cluster and s.node and s.leg
            decided = decide_live(live, risk, seen[(s.cluster, s.node, s.leg)])
            assert decided.status is expected, decided.message
            assert decided.evidence_dict()["offline_status"] == "risk"


# --------------------------------------------------------------------------- C2U-TRUST


def _ent2_int(lab: Lab) -> str:
    """The fingerprint of CN=ENT2-INT, as the node's tomcat file holds it."""
    ident = next(n for c, n in lab.deployment.nodes() if n.name == PUB).identity("tomcat")
    assert ident is not None
    ca = next(c for c in ident.chain if facts(c).subject == "CN=ENT2-INT")
    return facts(ca).fingerprint


def test_node_sending_the_missing_intermediate_passes_with_advice(labs: dict[str, Lab]) -> None:
    for f in _cucm(_probe(labs["F35"]), "C2U-TRUST"):
        ev = f.evidence_dict()
        assert f.status is Status.PASS, f.message
        assert ev["decided_by"] == "live"
        assert ev["missing_intermediates"] == ev["upload"] == (_ent2_int(labs["F35"]),)
        assert len(ev["sent_chain"]) == 2  # type: ignore[arg-type]
        assert "sends CN=ENT2-INT with its tomcat certificate" in f.message
        assert f.remediation[0] == (
            "Upload CN=ENT2-INT to the trusted CA list of expc1.example.com (Maintenance > "
            "Security > Trusted CA certificate)"
        )
        assert f.remediation[1].startswith("restart Expressway-C")


def test_node_sending_its_leaf_alone_fails(labs: dict[str, Lab]) -> None:
    report = _probe(labs["F35-LEAF"])
    for f in _cucm(report, "C2U-TRUST"):
        ev = f.evidence_dict()
        assert f.status is Status.FAIL, f.message
        assert ev["missing_issuer"] == "CN=ENT2-INT"
        assert len(ev["sent_chain"]) == 1  # type: ignore[arg-type]
        assert "sends only its certificate" in f.message and "without CN=ENT2-INT" in f.message
        assert f.remediation[0].startswith("Upload CN=ENT2-INT (and its root, if absent)")
    assert all(f.status is Status.FAIL for f in _cucm(report, "PROBE-HANDSHAKE"))


def test_missing_intermediates_evidence_from_the_offline_rule_is_decided(
    labs: dict[str, Lab],
) -> None:
    # the offline rule reports the intermediate the list lacks as risk, with missing_intermediates
    for sid, expected in (("F35", Status.PASS), ("F35-LEAF", Status.FAIL)):
        d = labs[sid].deployment
        ctx = context(d, version="X14.2.1", now=NOW)
        seen = {(o.cluster, o.node, o.leg): o for o in observe(ctx, timeout=5)}
        live = replace(ctx, observed=tuple(seen.values()))
        for f in _cucm(audit(d, version="X14.2.1", now=NOW), "C2U-TRUST"):
            risk = replace(
                f,
                status=Status.RISK,
                evidence=(*f.evidence, ("missing_intermediates", (_ent2_int(labs[sid]),))),
            )
            s = risk.subject
            assert s.cluster and s.node and s.leg
            decided = decide_live(live, risk, seen[(s.cluster, s.node, s.leg)])
            assert decided.status is expected, decided.message
            assert decided.evidence_dict()["offline_status"] == "risk"


def test_a_trusted_chain_is_left_as_offline_said(labs: dict[str, Lab]) -> None:
    # B0: the list holds root and intermediate, nothing for the wire to add
    for f in _cucm(_probe(labs["B0"]), "C2U-TRUST"):
        assert f.status is Status.PASS and "decided_by" not in f.evidence_dict()


@pytest.mark.parametrize("sid", ["F13", "F35", "F35-LEAF"])
def test_decided_reports_follow_the_report_schema(labs: dict[str, Lab], sid: str) -> None:
    doc = json.loads(render_json(_probe(labs[sid])))
    jsonschema.validate(doc, report_schema())
    decided = [f for f in doc["findings"] if f["evidence"].get("decided_by") == "live"]
    # offline: pass before the TLS 1.3 / missing-intermediate risks of SPEC §5, risk with them
    assert decided and all(f["evidence"]["offline_status"] in ("pass", "risk") for f in decided)


def test_a_leg_this_version_does_not_verify_is_not_failed(labs: dict[str, Lab]) -> None:
    # VerifyOriginServer off: the missing intermediate is a warning, not a broken connection
    d = labs["F35-LEAF"].deployment
    off = replace(d, expressway=replace(d.expressway, verify_origin_server=False))
    report = audit_with_probe(off, version="X14.2.1", now=NOW, timeout=5)
    for f in _cucm(report, "C2U-TRUST"):
        assert f.status is Status.WARN, f.message
        assert "does not verify it on this leg (disabled)" in f.message
        assert "connection fails" not in f.message


def test_an_ecdsa_certificate_the_inventory_does_not_hold_fails_with_its_own_advice(
    labs: dict[str, Lab],
) -> None:
    # offline passes (no advice); the wire shows a stranger: cucm-sub1's ECDSA leaf on cucm-pub
    d = labs["F13"].deployment
    ctx = context(d, version="X14.2.1", now=NOW)
    seen = {(o.cluster, o.node, o.leg): o for o in observe(ctx, timeout=5)}
    key = ("cucm-main", PUB, "expc->cucm:8443")
    stranger = next(n for c, n in d.nodes() if n.name == SUB1).identity("tomcat-ECDSA")
    assert stranger is not None
    wire = replace(seen[key], presented=stranger.chain)
    live = replace(ctx, observed=(wire,))
    offline = next(
        f
        for f in audit(d, version="X14.2.1", now=NOW).by_rule("C2U-ECDSA")
        if (f.subject.cluster, f.subject.node, f.subject.leg) == key
    )
    decided = decide_live(live, replace(offline, status=Status.PASS, remediation=()), wire)
    assert decided.status is Status.FAIL
    assert "an ECDSA certificate the inventory does not hold (CN=cucm-sub1-EC" in decided.message
    assert decided.remediation[0].startswith("Trust the ECDSA certificate cucm-pub presents")
    assert "RSA Ciphers only" in decided.remediation[1]
    # negative twin: its own ECDSA identity, as the inventory holds it, is named
    own = decide_live(live, offline, seen[key])
    assert own.status is Status.FAIL and "self-signed tomcat-ECDSA" in own.message
