"""Findings → an ordered, deduplicated remediation kit (SPEC §5a), proved before it is handed out.

The kit's ``upload-trust``, ``remove-trust`` and ``configure`` steps (cipher strings, CUCM HTTPS
Ciphers, server names) are applied to the deployment in memory and the audit runs again: the plan
says which failures the kit fixes, which remain (those need a certificate reissued), and which
wait for a CA that neither the inventory nor ``--ca`` holds (``obtain-ca`` steps). Restarts and
per-certificate-type steps come from :mod:`mratrust.products`.

The package follows the kit's life:

- :mod:`~mratrust.plan.types`: :class:`Step` and :class:`Plan`;
- :mod:`~mratrust.plan.draft`: findings and their typed fixes → deduplicated entries;
- :mod:`~mratrust.plan.steps`: the entries → ordered steps with their product recipes;
- :mod:`~mratrust.plan.prove`: :func:`make_plan`, which applies the steps in memory and re-audits;
- :mod:`~mratrust.plan.kit`: :func:`write_kit`, the folder of PEM files, steps.json and steps.md;
- :mod:`~mratrust.plan.render`: the steps.md text and the command's summary.
"""

from __future__ import annotations

from mratrust.plan.draft import _draft, _tomcat_multi_server, load_ca_sources
from mratrust.plan.kit import kit_files, write_kit
from mratrust.plan.prove import make_plan
from mratrust.plan.steps import _steps
from mratrust.plan.types import ACTIONS, TARGET_BAD, MissingCa, Plan, Step

__all__ = [
    "ACTIONS",
    "TARGET_BAD",
    "MissingCa",
    "Plan",
    "Step",
    "_draft",
    "_steps",
    "_tomcat_multi_server",
    "kit_files",
    "load_ca_sources",
    "make_plan",
    "write_kit",
]
