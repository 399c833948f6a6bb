"""mratrust: the certificate trust matrix of Cisco Expressway MRA, audited and fixed.

The public API::

    from mratrust import load_inventory, audit, upgrade_check, Status

    deployment = load_inventory("inventory.yaml")
    report = audit(deployment, version="X14.2.1")
    for finding in report.at_or_above(Status.FAIL):
        print(finding.rule, finding.message)

    current, target = upgrade_check(deployment, "X15.3")

Names are imported on first use, so that ``mratrust --version`` starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "1.0.0"

_EXPORTS = {
    "Report": "mratrust.audit",
    "audit": "mratrust.audit",
    "upgrade_check": "mratrust.audit",
    "InputError": "mratrust.errors",
    "LabError": "mratrust.errors",
    "MratrustError": "mratrust.errors",
    "ProbeError": "mratrust.errors",
    "load_inventory": "mratrust.inventory",
    "ChangeKind": "mratrust.model",
    "Deployment": "mratrust.model",
    "Finding": "mratrust.model",
    "Severity": "mratrust.model",
    "Status": "mratrust.model",
    "Subject": "mratrust.model",
    "Version": "mratrust.versions",
}

if TYPE_CHECKING:
    from mratrust.audit import Report, audit, upgrade_check
    from mratrust.errors import InputError, LabError, MratrustError, ProbeError
    from mratrust.inventory import load_inventory
    from mratrust.model import ChangeKind, Deployment, Finding, Severity, Status, Subject
    from mratrust.versions import Version


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mratrust' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "ChangeKind",
    "Deployment",
    "Finding",
    "InputError",
    "LabError",
    "MratrustError",
    "ProbeError",
    "Report",
    "Severity",
    "Status",
    "Subject",
    "Version",
    "__version__",
    "audit",
    "load_inventory",
    "upgrade_check",
]
