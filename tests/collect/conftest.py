"""A scenario's lab in this process: TLS listeners, the management server, the lab's files."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mratrust.audit import audit
from mratrust.inventory import load_inventory
from mratrust.lab.mgmt import MgmtServer, write_collect_files
from mratrust.lab.scenarios import ScenarioMaterial, build_scenario, write_material
from mratrust.lab.servers import LabServers

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


@dataclass
class Lab:
    directory: Path
    material: ScenarioMaterial
    servers: LabServers
    mgmt: MgmtServer

    @property
    def inventory(self) -> Path:
        return self.directory / "inventory.yaml"

    @property
    def sources(self) -> Path:
        return self.directory / "sources.yaml"

    @property
    def credentials(self) -> Path:
        return self.directory / "credentials.yaml"

    def passwords(self) -> list[str]:
        return [a.password for a in self.mgmt.accounts.values()]

    def sources_doc(self) -> dict[str, Any]:
        return dict(yaml.safe_load(self.sources.read_text(encoding="utf-8")))

    def write_sources(self, doc: Mapping[str, Any], name: str = "sources-edited.yaml") -> Path:
        path = self.directory / name
        path.write_text(yaml.safe_dump(dict(doc), sort_keys=False), encoding="utf-8")
        return path

    def write_credentials(self, entries: Mapping[str, tuple[str, str]], name: str) -> Path:
        path = self.directory / name
        path.write_text(
            yaml.safe_dump({k: {"user": u, "password": p} for k, (u, p) in entries.items()}),
            encoding="utf-8",
        )
        path.chmod(0o600)
        return path

    def account(self, name: str) -> tuple[str, str]:
        a = self.mgmt.accounts[name]
        return a.user, a.password


@contextlib.contextmanager
def running_lab(
    directory: Path,
    material: ScenarioMaterial,
    *,
    faults: Mapping[str, str] | None = None,
    mgmt_material: ScenarioMaterial | None = None,
) -> Iterator[Lab]:
    """Start ``material``'s listeners and management server; ``mgmt_material`` lets the
    management copy differ from what the wire presents (drift)."""
    private = directory / ".lab"
    private.mkdir(parents=True, exist_ok=True)
    servers = LabServers(material, private, log_path=directory / "lab.log").start()
    try:
        mgmt = MgmtServer(
            mgmt_material or material, private, faults=faults, log_path=directory / "mgmt.log"
        ).start()
        try:
            write_material(material, directory, probe=servers.probe_targets())
            write_collect_files(mgmt, directory, servers.probe_targets())
            yield Lab(directory=directory, material=material, servers=servers, mgmt=mgmt)
        finally:
            mgmt.close()
    finally:
        servers.close()


@pytest.fixture(scope="session")
def material() -> Callable[[str], ScenarioMaterial]:
    made: dict[str, ScenarioMaterial] = {}

    def get(scenario_id: str) -> ScenarioMaterial:
        if scenario_id not in made:
            made[scenario_id] = build_scenario(scenario_id, now=NOW)
        return made[scenario_id]

    return get


@pytest.fixture
def lab(tmp_path: Path, material: Callable[[str], ScenarioMaterial]) -> Iterator[Lab]:
    """B0 running in this process."""
    with running_lab(tmp_path / "lab", material("B0")) as running:
        yield running


def finding_set(inventory: Path, version: str) -> set[tuple[str, str, str]]:
    """(rule, subject, status) of every finding of ``audit INVENTORY --version V``."""
    report = audit(load_inventory(inventory), version=version, now=NOW)
    return {(f.rule, json.dumps(f.subject.key()), f.status.value) for f in report.findings}
