"""The report header says how the judged release got there, and says so loudly when it had to
assume a fresh install because the inventory has no ``upgraded_from``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mratrust.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "deployment"
NOW = "2026-11-29T12:00:00Z"
ASSUMED = "fresh install assumed"


@pytest.fixture(scope="module")
def fresh_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example deployment with its ``upgraded_from`` line removed."""
    folder = tmp_path_factory.mktemp("fresh") / "deployment"
    shutil.copytree(EXAMPLE, folder)
    inv = folder / "inventory.yaml"
    lines = inv.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.lstrip().startswith("upgraded_from:")]
    assert len(kept) == len(lines) - 1
    inv.write_text("".join(kept), encoding="utf-8")
    return inv


def _header(capsys: pytest.CaptureFixture[str], inventory: Path, fmt: str, *extra: str) -> str:
    main(["audit", str(inventory), "--now", NOW, "--format", fmt, *extra])
    out = capsys.readouterr().out
    if fmt == "json":
        return out
    return "\n".join(out.splitlines()[:14])


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_missing_upgraded_from_is_named_in_the_header(
    capsys: pytest.CaptureFixture[str], fresh_inventory: Path, fmt: str
) -> None:
    head = _header(capsys, fresh_inventory, fmt)
    assert ASSUMED in head and "set upgraded_from" in head


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_recorded_upgrade_path_is_named_and_nothing_assumed(
    capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    head = _header(capsys, EXAMPLE / "inventory.yaml", fmt)
    assert "upgraded from X12.7" in head and ASSUMED not in head


def test_json_carries_the_path_and_the_assumption(
    capsys: pytest.CaptureFixture[str], fresh_inventory: Path
) -> None:
    fresh = json.loads(_header(capsys, fresh_inventory, "json"))
    assert fresh["upgraded_from"] is None and fresh["assumed_fresh_install"] is True
    recorded = json.loads(_header(capsys, EXAMPLE / "inventory.yaml", "json"))
    assert recorded["upgraded_from"] == "X12.7" and recorded["assumed_fresh_install"] is False


def test_upgrade_check_header_says_it_too(
    capsys: pytest.CaptureFixture[str], fresh_inventory: Path
) -> None:
    main(["upgrade-check", str(fresh_inventory), "--to", "X15.3", "--now", NOW])
    head = capsys.readouterr().out.splitlines()[0]
    assert "-> X15.3" in head and ASSUMED in head
