"""The remediation kit: applied to the scenario's own files, it fixes what it claims."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from mratrust.audit import audit, upgrade_check
from mratrust.cli import main
from mratrust.inventory import load_inventory
from mratrust.model import Deployment, Status
from mratrust.pki.facts import facts
from mratrust.pki.load import load_path
from mratrust.plan import make_plan, write_kit
from mratrust.versions import Version
from tests.conftest import NOW

Dir = Callable[[str], Path]

# scenario -> (version to judge, upgrade target or None)
FAILING = {
    "F01": ("X14.0.2", "X14.0.2"),
    "F03": ("X14.0.7", None),
    "F04": ("X14.2.1", "X14.2.1"),
    "F05": ("X14.2.1", "X14.2.1"),
    "F06": ("X14.2.1", None),
    "F08": ("X14.0.7", None),
    "F11": ("X14.2.1", None),
    "F12": ("X14.2.1", None),
    "F17": ("X14.2.1", None),
    "F23": ("X14.0.7", None),
    "F31": ("X14.2.1", None),
    "F34": ("X14.2.1", None),
    "F40": ("X14.2.1", None),
}
FILE_ACTIONS = ("upload-trust", "remove-trust")


def _store_path(d: Deployment, base: Path, target: dict[str, object]) -> Path:
    if target["system"] in ("expressway-c", "expressway-e"):
        exp = d.expressway if target["system"] == "expressway-c" else d.expressway_e
        assert exp is not None
        peer = next(p for p in exp.peers if p.name == target["peer"])
        return base / peer.trusted_cas.path
    cluster = next(c for c in d.uc_clusters if c.name == target["cluster"])
    store = cluster.store(str(target["store"]))
    assert store is not None
    return base / store.path


def _write_store(path: Path, certs: list[x509.Certificate]) -> None:
    if path.is_dir():
        for old in path.iterdir():
            old.unlink()
        for i, c in enumerate(certs):
            (path / f"{i:02d}.pem").write_bytes(c.public_bytes(Encoding.PEM))
    else:
        path.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in certs))


def apply_kit(inventory: Path, kit: Path) -> None:
    """Upload = add the PEM to the store file or folder; remove = drop it by fingerprint."""
    d = load_inventory(inventory)
    for step in json.loads((kit / "steps.json").read_text()):
        if step["action"] not in FILE_ACTIONS:
            continue
        path = _store_path(d, inventory.parent, step["target"])
        certs = [c.cert for c in load_path(path)]
        if step["action"] == "upload-trust":
            for rel in step["files"]:
                certs.extend(c.cert for c in load_path(kit / rel))
        else:
            gone = {facts(c.cert).fingerprint for c in load_path(path)}
            listed = " ".join(step["commands"])
            drop = {fp for fp in gone if fp.removeprefix("sha256:")[:32] in listed}
            certs = [c for c in certs if facts(c).fingerprint not in drop]
        _write_store(path, certs)


def _copy(scenario_dir: Dir, sid: str, tmp: Path) -> Path:
    dst = tmp / sid
    shutil.copytree(scenario_dir(sid), dst)
    return dst / "inventory.yaml"


@pytest.mark.parametrize("sid", sorted(FAILING))
def test_kit_fixes_what_it_claims(sid: str, scenario_dir: Dir, tmp_path: Path) -> None:
    version, to = FAILING[sid]
    inventory = _copy(scenario_dir, sid, tmp_path)
    d = load_inventory(inventory)
    plan = make_plan(d, to=Version.parse(to) if to else None, now=NOW)
    assert not plan.regressions, [f.message for f in plan.regressions]
    kit = tmp_path / "kit"
    write_kit(plan, kit)
    steps = json.loads((kit / "steps.json").read_text())
    claimed = {r for s in steps if s["action"] in FILE_ACTIONS for r in s["fixes"]}
    apply_kit(inventory, kit)
    fixed = load_inventory(inventory)
    if to:
        _, report = upgrade_check(fixed, to, now=NOW)
    else:
        report = audit(fixed, version=version, now=NOW)
    still = [f for f in report.findings if f.rule in claimed and f.status is Status.FAIL]
    assert not still, [f.message for f in still]


@pytest.mark.parametrize("sid", ["F01", "F03", "F04", "F17", "F34"])
def test_trust_only_scenarios_end_with_no_fail(sid: str, scenario_dir: Dir, tmp_path: Path) -> None:
    version, to = FAILING[sid]
    inventory = _copy(scenario_dir, sid, tmp_path)
    plan = make_plan(load_inventory(inventory), to=Version.parse(to) if to else None, now=NOW)
    assert plan.fixed and not plan.remaining_failures
    kit = tmp_path / "kit"
    write_kit(plan, kit)
    apply_kit(inventory, kit)
    report = audit(load_inventory(inventory), version=version, now=NOW)
    assert not report.at_or_above(Status.FAIL)


def test_uploads_exactly_what_is_missing(scenario_dir: Dir, tmp_path: Path) -> None:
    plan = make_plan(load_inventory(scenario_dir("F03") / "inventory.yaml"), now=NOW)
    kit = tmp_path / "kit"
    write_kit(plan, kit)
    steps = json.loads((kit / "steps.json").read_text())
    uploads = [s for s in steps if s["action"] == "upload-trust"]
    assert [s["target"] for s in uploads] == [
        {"system": "cucm", "cluster": "cucm-main", "store": "CallManager-trust"}
    ]
    (files,) = [s["files"] for s in uploads]
    names = {Path(f).name for f in files}
    assert names == {"ENT-ROOT.pem", "ENT-INT.pem"}  # the CA chain, not the leaf
    for f in files:
        text = (kit / f).read_text()
        assert text.count("BEGIN CERTIFICATE") == 1 and "PRIVATE" not in text


def test_restarts_come_after_their_uploads(scenario_dir: Dir) -> None:
    for sid in ("F01", "F04", "F17", "F34"):
        _, to = FAILING[sid]
        plan = make_plan(
            load_inventory(scenario_dir(sid) / "inventory.yaml"),
            to=Version.parse(to) if to else None,
            now=NOW,
        )
        for i, step in enumerate(plan.steps):
            if step.action != "restart":
                continue
            t = step.target_dict()
            owner = t.get("cluster") or t.get("peer")
            later = [
                s
                for s in plan.steps[i + 1 :]
                if s.action in FILE_ACTIONS
                and (s.target_dict().get("cluster") or s.target_dict().get("peer")) == owner
            ]
            assert not later, f"{sid}: upload after the restart of {owner}"
        assert plan.steps[-1].action == "refresh"
        assert len({(s.action, str(s.target)) for s in plan.steps}) == len(plan.steps)


def test_plan_twice_gives_the_same_kit(scenario_dir: Dir, tmp_path: Path) -> None:
    d = load_inventory(scenario_dir("F01") / "inventory.yaml")
    kits = []
    for n in (1, 2):
        out = tmp_path / f"kit{n}"
        write_kit(make_plan(d, to=Version.parse("X14.0.2"), now=NOW), out)
        kits.append(
            {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
        )
    assert kits[0] == kits[1]


def test_ecdsa_kit_sets_https_ciphers_and_labels_the_verified_cipher_string(
    scenario_dir: Dir,
) -> None:
    plan = make_plan(load_inventory(scenario_dir("F11") / "inventory.yaml"), now=NOW)
    (cfg,) = [s for s in plan.steps if s.action == "configure"]
    assert cfg.target_dict()["value"] == "rsa-only"
    # the Expressway-C string (verified by expanding it) is only an aside, for TLS 1.2
    assert '"ECDHE-RSA-AES256-GCM-SHA384:EECDH:' in cfg.why and "TLS 1.2 only" in cfg.why
    assert not plan.remaining and plan.fixed


def test_cli_refuses_non_empty_dir(
    scenario_dir: Dir, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "kit"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    inv = str(scenario_dir("F03") / "inventory.yaml")
    assert main(["plan", inv, "--out", str(out), "--now", "2026-11-29T12:00:00Z"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["plan", inv, "--out", str(out), "--force", "--now", "2026-11-29T12:00:00Z"]) == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "steps.md").exists()
    md = (out / "steps.md").read_text()
    assert "# Remediation plan" in md and "utils service restart Cisco CallManager" in md
