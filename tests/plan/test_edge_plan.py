"""The kit for the Expressway-E scenarios: uploads to either Expressway's trusted CA list, the
X15.4 switch, the X15.5 client certificate and the reissues, and the proof that applying the
file steps to the scenario's own files clears the failures they claim."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from mratrust.audit import audit
from mratrust.inventory import load_inventory
from mratrust.model import Status
from mratrust.plan import load_ca_sources, make_plan, write_kit
from mratrust.versions import Version
from tests.conftest import NOW
from tests.plan.test_plan import apply_kit

Dir = Callable[[str], Path]


def _copy(scenario_dir: Dir, sid: str, tmp: Path) -> Path:
    shutil.copytree(scenario_dir(sid), tmp / sid)
    return tmp / sid / "inventory.yaml"


def _fails(inventory: Path, rule: str) -> list[str]:
    report = audit(load_inventory(inventory), now=NOW)
    return [f.message for f in report.by_rule(rule) if f.status is Status.FAIL]


def test_e02_kit_uploads_to_expressway_e_and_clears_ce_trust(
    scenario_dir: Dir, tmp_path: Path
) -> None:
    inventory = _copy(scenario_dir, "E02", tmp_path)
    assert _fails(inventory, "CE-TRUST")  # the twin: broken before
    plan = make_plan(load_inventory(inventory), now=NOW)
    kit = tmp_path / "kit"
    write_kit(plan, kit)
    steps = json.loads((kit / "steps.json").read_text())
    upload = next(s for s in steps if s["action"] == "upload-trust")
    assert upload["target"] == {
        "system": "expressway-e",
        "peer": "expe1.example.com",
        "store": "trusted_cas",
    }
    assert sorted(Path(f).name for f in upload["files"]) == ["ENT-INT.pem", "ENT-ROOT.pem"]
    assert [s["target"]["system"] for s in steps if s["action"] == "restart"] == ["expressway-e"]
    apply_kit(inventory, kit)
    assert _fails(inventory, "CE-TRUST") == []
    assert not [
        f for f in audit(load_inventory(inventory), now=NOW).findings if f.status is Status.FAIL
    ]


def test_e01_kit_uploads_to_expressway_c(scenario_dir: Dir, tmp_path: Path) -> None:
    inventory = _copy(scenario_dir, "E01", tmp_path)
    ca = load_ca_sources([str(inventory.parent / "certs" / "ca" / "ENT2-ROOT.pem")])
    plan = make_plan(load_inventory(inventory), now=NOW, extra_cas=ca)
    kit = tmp_path / "kit"
    write_kit(plan, kit)
    steps = json.loads((kit / "steps.json").read_text())
    upload = next(s for s in steps if s["action"] == "upload-trust")
    assert upload["target"]["system"] == "expressway-c"
    assert sorted(Path(f).name for f in upload["files"]) == ["ENT2-INT.pem", "ENT2-ROOT.pem"]
    apply_kit(inventory, kit)
    assert _fails(inventory, "CE-TRUST") == []
    # without the root anywhere, the kit names it instead of claiming a fix
    bare = make_plan(load_inventory(_copy(scenario_dir, "E01", tmp_path / "bare")), now=NOW)
    assert bare.steps[0].action == "obtain-ca"


def test_e04_on_x15_4_the_kit_sets_enable_server_eku_upload(scenario_dir: Dir) -> None:
    d = load_inventory(scenario_dir("E04") / "inventory.yaml")
    plan = make_plan(d, to=Version.parse("X15.4"), now=NOW)
    (step,) = [s for s in plan.steps if s.action == "configure"]
    assert step.commands == ("xConfiguration XCP TLS Certificate CVS EnableServerEkuUpload: On",)
    assert step.target_dict()["system"] == "expressway-e"
    assert plan.remaining_failures == ()
    # on X15.3 the switch does not exist: a reissue with clientAuth instead
    older = make_plan(d, now=NOW)
    assert not [s for s in older.steps if s.action == "configure"]
    (reissue,) = [s for s in older.steps if s.action == "reissue"]
    assert reissue.target_dict()["eku"] == ["serverAuth", "clientAuth"]


def test_e05_on_x15_5_the_kit_adds_a_client_certificate(scenario_dir: Dir) -> None:
    plan = make_plan(load_inventory(scenario_dir("E05") / "inventory.yaml"), now=NOW)
    (step,) = [s for s in plan.steps if s.action == "reissue"]
    target = step.target_dict()
    assert (target["system"], target["certificate"], target["eku"]) == (
        "expressway-c",
        "client",
        ["clientAuth"],
    )
    assert "Client certificate" in step.commands[0]
    assert "expc.example.com" in target["san"]
    # the certificate it asks for is E05-CLIENT's: that deployment has no failure left
    after = audit(load_inventory(scenario_dir("E05-CLIENT") / "inventory.yaml"), now=NOW)
    assert not [f for f in after.findings if f.status is Status.FAIL]


def test_e07_reissue_names_the_edge_domains(scenario_dir: Dir) -> None:
    plan = make_plan(load_inventory(scenario_dir("E07") / "inventory.yaml"), now=NOW)
    (step,) = [s for s in plan.steps if s.action == "reissue"]
    target = step.target_dict()
    assert target["system"] == "expressway-e"
    assert {"collab-edge.example.com", "example.com", "expe1.example.com"} <= set(target["san"])
    assert "CollabEdgeDNS" in step.commands[0]
