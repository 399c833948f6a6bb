"""The kit's values: a :class:`Step` and the :class:`Plan` that orders them (SPEC §5a)."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from cryptography import x509

from mratrust.audit import Report
from mratrust.model import Finding, Status
from mratrust.values import frozen

ACTIONS = (
    "obtain-ca",
    "upload-trust",
    "remove-trust",
    "reissue",
    "configure",
    "restart",
    "refresh",
)
TARGET_BAD = frozenset({Status.FAIL, Status.RISK})

MissingCa = tuple[str, str]
"""A CA the kit needs but does not hold: (subject DN, key identifier the chain's AKI names)."""


@frozen
class Step:
    """One step of the kit."""

    order: int
    action: str
    target: tuple[tuple[str, str | tuple[str, ...]], ...]
    files: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()
    why: str = ""
    certificates: tuple[x509.Certificate, ...] = field(default=(), compare=False, repr=False)
    subject: str = ""
    """obtain-ca: the DN of the CA certificate to obtain."""
    key_id: str = ""
    """obtain-ca: its subject key identifier (the authority key identifier the chain names)."""
    missing: tuple[tuple[str, str, int], ...] = ()
    """upload-trust: CAs it needs that the kit lacks (subject, key id, obtain-ca step)."""
    sources: tuple[str, ...] = ()
    """Where the restarts and steps of this step come from (URLs)."""

    def target_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.target}

    @property
    def needs(self) -> tuple[int, ...]:
        """The obtain-ca steps this step waits for."""
        return tuple(dict.fromkeys(m[2] for m in self.missing))

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "order": self.order,
            "action": self.action,
            "target": self.target_dict(),
            "files": list(self.files),
            "commands": list(self.commands),
            "fixes": list(self.fixes),
            "why": self.why,
        }
        if self.action == "obtain-ca":
            out["subject"] = self.subject
            out["key_id"] = self.key_id
        if self.sources:
            out["sources"] = list(self.sources)
        if self.missing:
            out["missing"] = [
                {"subject": subj, "key_id": kid, "obtain_step": step}
                for subj, kid, step in self.missing
            ]
        return out


@frozen
class Plan:
    """The kit, the audit it answers and the audit after applying it in memory."""

    steps: tuple[Step, ...]
    before: Report
    after: Report
    fixed: tuple[Finding, ...]
    remaining: tuple[Finding, ...]

    regressions: tuple[Finding, ...] = ()
    """Failures the kit would cause (it must cause none)."""

    pending: tuple[tuple[Finding, tuple[int, ...]], ...] = ()
    """Remaining findings a step claims to fix once the CAs of these obtain-ca steps are in."""

    @property
    def dependent_steps(self) -> dict[int, tuple[int, ...]]:
        """Step order -> the obtain-ca steps it depends on."""
        return {s.order: s.needs for s in self.steps if s.needs}

    @property
    def remaining_failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.remaining if f.status is Status.FAIL)
