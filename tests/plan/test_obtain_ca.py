"""A CA that no inventory file holds: the kit names it (obtain-ca), and takes it from --ca."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from mratrust.audit import audit
from mratrust.cli import main
from mratrust.inventory import load_inventory
from mratrust.lab.pkigen import write_certs
from mratrust.lab.scenarios import (
    EXPC1,
    ScenarioMaterial,
    SetExpressway,
    SetIdentity,
    SetPeer,
    build_spec,
    get_scenario,
    issued,
    write_material,
)
from mratrust.model import Status
from mratrust.pki.facts import facts
from mratrust.plan import load_ca_sources, make_plan, write_kit
from tests.conftest import NOW
from tests.plan.test_plan import apply_kit

NOW_ARG = ["--now", "2026-11-29T12:00:00Z"]


def _cuc_from_public_ca(out: Path) -> tuple[Path, ScenarioMaterial]:
    """B0 on X14.2.1 with Unity Connection's tomcat issued by PUB-INT.

    The node's file holds the leaf and PUB-INT; PUB-ROOT is in no file the inventory names.
    """
    base = get_scenario("B0")
    spec = base.spec()
    for change in (
        SetExpressway(values={"version": "X14.2.1", "upgraded_from": "X14.0.7"}),
        SetIdentity(cluster="cuc-main", node=None, identity="tomcat", spec=issued("PUB-INT")),
    ):
        spec = change.apply(spec)
    material = build_spec(spec, info=base.info(), now=NOW)
    return write_material(material, out / "deployment"), material


@pytest.fixture
def cuc_public(tmp_path: Path) -> tuple[Path, ScenarioMaterial]:
    return _cuc_from_public_ca(tmp_path)


def _steps(kit: Path) -> list[dict[str, object]]:
    steps: list[dict[str, object]] = json.loads((kit / "steps.json").read_text())
    return steps


def test_without_ca_the_kit_names_the_missing_root(
    cuc_public: tuple[Path, ScenarioMaterial], tmp_path: Path
) -> None:
    inventory, material = cuc_public
    root = material.cas["PUB-ROOT"].cert
    pub_int = material.cas["PUB-INT"].cert
    plan = make_plan(load_inventory(inventory), now=NOW)
    kit = tmp_path / "kit"
    write_kit(plan, kit)
    steps = _steps(kit)
    obtain = [s for s in steps if s["action"] == "obtain-ca"]
    assert len(obtain) == 1
    (step,) = obtain
    assert step["subject"] == "CN=PUB-ROOT"
    ski = facts(root).ski
    assert ski is not None and step["key_id"] == ski.hex(":").upper()
    assert facts(pub_int).aki == ski  # the key id the chain's AKI names
    assert "PUB-ROOT" in str(step["why"])
    (upload,) = [s for s in steps if s["action"] == "upload-trust"]
    assert upload["order"] > step["order"]
    assert upload["missing"] == [
        {"subject": "CN=PUB-ROOT", "key_id": step["key_id"], "obtain_step": step["order"]}
    ]
    # what the inventory has is uploaded: the intermediate from the node's own file
    files = upload["files"]
    assert isinstance(files, list) and [Path(f).name for f in files] == ["PUB-INT.pem"]
    # the proof: the failure remains, and it says which steps wait for the CA
    assert [f.rule for f in plan.remaining_failures] == ["C2U-TRUST"]
    assert plan.dependent_steps == {upload["order"]: (step["order"],)}
    assert [f.rule for f, _ in plan.pending] == ["C2U-TRUST"]
    md = (kit / "steps.md").read_text()
    assert f"step {upload['order']} depends on obtain-ca step {step['order']}" in md
    assert f"upload CN=PUB-ROOT (key identifier {step['key_id']})" in md
    page = (kit / "steps.html").read_text()
    assert (
        f"upload CN=PUB-ROOT (key identifier {step['key_id']}) once step {step['order']} has "
        "obtained it" in page
    )


def test_with_ca_the_kit_is_complete_and_the_reaudit_has_no_fail(
    cuc_public: tuple[Path, ScenarioMaterial], tmp_path: Path
) -> None:
    inventory, material = cuc_public
    bundle = tmp_path / "company-cas"
    bundle.mkdir()
    write_certs(bundle / "pub-root.pem", (material.cas["PUB-ROOT"].cert,))
    write_certs(bundle / "ent2-root.pem", (material.cas["ENT2-ROOT"].cert,))  # not needed
    kit = tmp_path / "kit"
    rc = main(["plan", str(inventory), "--out", str(kit), "--ca", str(bundle), *NOW_ARG])
    assert rc == 0
    steps = _steps(kit)
    assert not [s for s in steps if s["action"] == "obtain-ca"]
    (upload,) = [s for s in steps if s["action"] == "upload-trust"]
    assert "missing" not in upload
    files = upload["files"]
    assert isinstance(files, list)
    assert [Path(f).name for f in files] == ["PUB-ROOT.pem", "PUB-INT.pem"]  # root first
    apply_kit(inventory, kit)
    report = audit(load_inventory(inventory), version="X14.2.1", now=NOW)
    assert not report.at_or_above(Status.FAIL), [f.message for f in report.findings]


def test_an_unrelated_ca_bundle_leaves_the_obtain_step(
    cuc_public: tuple[Path, ScenarioMaterial], tmp_path: Path
) -> None:
    inventory, material = cuc_public
    other = tmp_path / "other.pem"
    write_certs(other, (material.cas["ENT2-ROOT"].cert, material.cas["ENT2-INT"].cert))
    plan = make_plan(load_inventory(inventory), now=NOW, extra_cas=load_ca_sources([other]))
    assert [s.subject for s in plan.steps if s.action == "obtain-ca"] == ["CN=PUB-ROOT"]
    assert plan.remaining_failures


def test_ca_from_a_pkcs7_bundle(cuc_public: tuple[Path, ScenarioMaterial], tmp_path: Path) -> None:
    inventory, material = cuc_public
    p7 = tmp_path / "chain.p7b"
    p7.write_bytes(
        pkcs7.serialize_certificates(
            [material.cas["PUB-ROOT"].cert, material.cas["PUB-INT"].cert], Encoding.DER
        )
    )
    plan = make_plan(load_inventory(inventory), now=NOW, extra_cas=load_ca_sources([p7]))
    assert not [s for s in plan.steps if s.action == "obtain-ca"]
    assert not plan.remaining_failures and not plan.pending


def test_ca_path_errors_are_one_clear_message(
    cuc_public: tuple[Path, ScenarioMaterial],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inventory, material = cuc_public
    leaf_only = tmp_path / "server.pem"
    write_certs(leaf_only, (material.peers[0].identity.cert,))
    for bad, text in (
        (leaf_only, "holds no CA certificate"),
        (tmp_path / "nowhere.pem", "not found"),
    ):
        out = tmp_path / f"kit-{bad.stem}"
        assert main(["plan", str(inventory), "--out", str(out), "--ca", str(bad), *NOW_ARG]) == 2
        err = capsys.readouterr().err
        assert text in err and "--ca" in err and "Traceback" not in err


def test_expressway_c_from_a_missing_root_every_store_waits_for_one_obtain_step(
    tmp_path: Path,
) -> None:
    base = get_scenario("B0")
    spec = base.spec()
    for change in (
        SetExpressway(values={"version": "X14.2.1", "upgraded_from": "X14.0.7"}),
        SetPeer(
            identity=issued(
                "PUB-INT",
                common_name="expc.example.com",
                san=("expc.example.com", EXPC1),
                key_slot=f"peer:{EXPC1}",
            )
        ),
    ):
        spec = change.apply(spec)
    material = build_spec(spec, info=base.info(), now=NOW)
    inventory = write_material(material, tmp_path / "deployment")
    plan = make_plan(load_inventory(inventory), now=NOW)
    (obtain,) = [s for s in plan.steps if s.action == "obtain-ca"]
    assert obtain.subject == "CN=PUB-ROOT" and obtain.order == 1
    uploads = [s for s in plan.steps if s.action == "upload-trust"]
    stores = {(s.target_dict()["system"], s.target_dict()["store"]) for s in uploads}
    assert stores == {
        ("expressway-c", "trusted_cas"),
        ("cucm", "tomcat-trust"),
        ("cucm", "CallManager-trust"),
        ("imp", "tomcat-trust"),
        ("imp", "cup-xmpp-trust"),
    }
    assert all(s.needs == (1,) for s in uploads)
    assert plan.dependent_steps == {s.order: (1,) for s in uploads}
    # with the company's root the same kit is complete
    root = tmp_path / "root.pem"
    write_certs(root, (material.cas["PUB-ROOT"].cert,))
    full = make_plan(load_inventory(inventory), now=NOW, extra_cas=load_ca_sources([root]))
    assert not [s for s in full.steps if s.action == "obtain-ca"]
    assert not full.remaining_failures and not full.regressions
