"""Lab fixtures: every scenario generated and written once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from mratrust.lab.scenarios import ScenarioMaterial, build_scenario, list_scenarios, write_material

NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Written:
    """A scenario built in memory and written to a folder."""

    material: ScenarioMaterial
    directory: Path
    inventory: Path
    doc: dict[str, Any]

    def path(self, rel: str) -> Path:
        return self.directory / rel

    def cluster(self, name: str) -> dict[str, Any]:
        return next(c for c in self.doc["uc_clusters"] if c["name"] == name)

    def node(self, cluster: str, name: str) -> dict[str, Any]:
        return next(n for n in self.cluster(cluster)["nodes"] if n["name"] == name)


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Written]:
    out: dict[str, Written] = {}
    base = tmp_path_factory.mktemp("scenarios")
    for info in list_scenarios():
        material = build_scenario(info.id, now=NOW)
        directory = base / info.id
        inventory = write_material(material, directory)
        doc = yaml.safe_load(inventory.read_text(encoding="utf-8"))
        out[info.id] = Written(material=material, directory=directory, inventory=inventory, doc=doc)
    return out
