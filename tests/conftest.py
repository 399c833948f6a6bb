"""Shared fixtures: scenario deployments generated once per session, at a fixed time."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mratrust.inventory import load_inventory
from mratrust.lab.scenarios import write_scenario
from mratrust.model import Deployment

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code`` (which must succeed)."""
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.splitlines()[-1].split())


@pytest.fixture(scope="session")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The folder of a generated scenario (inventory.yaml inside), made once per session."""
    made: dict[str, Path] = {}

    def get(scenario_id: str) -> Path:
        if scenario_id not in made:
            out = tmp_path_factory.mktemp(f"scenario-{scenario_id}")
            write_scenario(scenario_id, out, now=NOW)
            made[scenario_id] = out
        return made[scenario_id]

    return get


@pytest.fixture(scope="session")
def deployment(scenario_dir: Callable[[str], Path]) -> Callable[[str], Deployment]:
    """The loaded deployment of a scenario."""
    loaded: dict[str, Deployment] = {}

    def get(scenario_id: str) -> Deployment:
        if scenario_id not in loaded:
            loaded[scenario_id] = load_inventory(scenario_dir(scenario_id) / "inventory.yaml")
        return loaded[scenario_id]

    return get
