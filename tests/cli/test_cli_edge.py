"""--eku-sunset and --public-roots on audit, upgrade-check and plan: exit codes and messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.test_cli import run

Dir = Callable[[str], Path]
NOW = "2026-11-29T12:00:00Z"


def test_public_roots_turn_the_sunset_into_risk(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir
) -> None:
    inv = str(scenario_dir("E06") / "inventory.yaml")
    roots = str(scenario_dir("E06") / "certs" / "ca" / "PUB-ROOT.pem")
    code, out, _ = run(
        capsys, "audit", inv, "--now", NOW, "--public-roots", roots, "--fail-on", "risk",
        "--format", "json",
    )  # fmt: skip
    assert code == 1
    risky = [f for f in json.loads(out)["findings"] if f["status"] == "risk"]
    assert [f["rule"] for f in risky] == ["EKU-SUNSET"]
    assert risky[0]["subject"]["endpoint_id"] == "expressway-e/expe1.example.com"
    # the twin: Mozilla's roots (the default) do not hold the lab's PUB-ROOT
    code, _, _ = run(capsys, "audit", inv, "--now", NOW, "--fail-on", "risk")
    assert code == 0
    # a cut-off after the certificate's expiry: nothing to fear
    code, _, _ = run(
        capsys, "audit", inv, "--now", NOW, "--public-roots", roots, "--fail-on", "risk",
        "--eku-sunset", "2031-01-01",
    )  # fmt: skip
    assert code == 0
    code, out, _ = run(
        capsys, "upgrade-check", inv, "--to", "X15.5", "--now", NOW, "--public-roots", roots,
        "--fail-on", "risk",
    )  # fmt: skip
    assert code == 0


def test_bad_sunset_options_exit_2(
    capsys: pytest.CaptureFixture[str], scenario_dir: Dir, tmp_path: Path
) -> None:
    inv = str(scenario_dir("E06") / "inventory.yaml")
    code, _, err = run(capsys, "audit", inv, "--eku-sunset", "2026-13-01")
    assert code == 2 and "is not a date: write it as YYYY-MM-DD" in err
    code, _, err = run(capsys, "plan", inv, "--out", str(tmp_path / "k"), "--public-roots", "/nope")
    assert code == 2 and "public roots file not found" in err and "Traceback" not in err
