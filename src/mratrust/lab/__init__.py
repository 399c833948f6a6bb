"""The lab: a PKI generator, the scenario catalogue and simulated UC nodes on loopback.

* :mod:`mratrust.lab.pkigen` builds real certificates (CAs, leaves, CUCM-style identities).
* :mod:`mratrust.lab.scenarios` describes B0 and every scenario as a change to it, builds the
  material in memory (``build_scenario``) and writes an inventory (``write_scenario``).
* :mod:`mratrust.lab.servers` runs the simulated nodes (stdlib ``ssl`` listeners).
* :mod:`mratrust.lab.process` starts and stops a lab as a background process
  (``lab_up``/``lab_down``); :mod:`mratrust.lab.cli` is ``mratrust lab up|down|list``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mratrust.lab.process import LabInfo, lab_down, lab_status, lab_up
    from mratrust.lab.scenarios import (
        ProbeTarget,
        ScenarioInfo,
        ScenarioMaterial,
        build_scenario,
        list_scenarios,
        write_material,
        write_scenario,
    )

_EXPORTS = {
    "LabInfo": "mratrust.lab.process",
    "lab_down": "mratrust.lab.process",
    "lab_status": "mratrust.lab.process",
    "lab_up": "mratrust.lab.process",
    "ProbeTarget": "mratrust.lab.scenarios",
    "ScenarioInfo": "mratrust.lab.scenarios",
    "ScenarioMaterial": "mratrust.lab.scenarios",
    "build_scenario": "mratrust.lab.scenarios",
    "list_scenarios": "mratrust.lab.scenarios",
    "write_material": "mratrust.lab.scenarios",
    "write_scenario": "mratrust.lab.scenarios",
}


def __getattr__(name: str) -> Any:
    """Names are imported on first use: ``mratrust --help`` does not build the catalogue."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mratrust.lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "LabInfo",
    "ProbeTarget",
    "ScenarioInfo",
    "ScenarioMaterial",
    "build_scenario",
    "lab_down",
    "lab_status",
    "lab_up",
    "list_scenarios",
    "write_material",
    "write_scenario",
]
