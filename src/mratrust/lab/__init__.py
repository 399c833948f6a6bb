"""The lab: a PKI generator, the scenario catalogue and simulated UC nodes on loopback.

* :mod:`mratrust.lab.pkigen` builds real certificates (CAs, leaves, CUCM-style identities).
* :mod:`mratrust.lab.scenarios` describes B0 and every scenario as a change to it, builds the
  material in memory and writes an inventory (``write_scenario``).
"""

from __future__ import annotations

from mratrust.lab.scenarios import (
    ProbeTarget,
    ScenarioInfo,
    ScenarioMaterial,
    build_scenario,
    list_scenarios,
    write_material,
    write_scenario,
)

__all__ = [
    "ProbeTarget",
    "ScenarioInfo",
    "ScenarioMaterial",
    "build_scenario",
    "list_scenarios",
    "write_material",
    "write_scenario",
]
