"""The rule catalogue: importing this package registers every rule under its stable ID."""

from __future__ import annotations

from mratrust.rules import c2u, ce, expressway, hygiene, observed, u2c, ucm
from mratrust.rules.base import RULES, AuditContext, RuleInfo

__all__ = [
    "RULES",
    "AuditContext",
    "RuleInfo",
    "c2u",
    "ce",
    "expressway",
    "hygiene",
    "observed",
    "u2c",
    "ucm",
]
