"""Run the rule catalogue over a deployment: ``audit`` and ``upgrade_check``."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from operator import attrgetter

from mratrust import __version__
from mratrust.errors import InputError
from mratrust.model import ChangeKind, Deployment, Finding, Severity, Status
from mratrust.rules import RULES, AuditContext
from mratrust.sunset import SunsetPolicy, policy
from mratrust.topology import Graph, graph
from mratrust.values import frozen
from mratrust.versions import UpgradePath, Version

RULE_ORDER = {rule_id: i for i, rule_id in enumerate(RULES)}
BAD = frozenset({Status.FAIL, Status.ERROR, Status.RISK, Status.WARN})


@frozen
class Report:
    """The outcome of an audit (or of an upgrade check, with ``target_version``)."""

    deployment: str
    expressway_version: Version
    upgraded_from: Version | None
    evaluated_at: dt.datetime
    findings: tuple[Finding, ...]
    target_version: Version | None = None
    tool_version: str = __version__
    strict_from: Version | None = None
    assumed_fresh_install: bool = False
    """The inventory has no ``upgraded_from``: its release is taken as a fresh install (most
    Expressways were upgraded; findings whose prediction depends on it say so)."""
    graph: Graph | None = None
    """The trust graph judged, each leg with the worst status of its findings (SPEC §4)."""

    @classmethod
    def of(
        cls,
        ctx: AuditContext,
        findings: tuple[Finding, ...],
        *,
        running: Version | None = None,
        target_version: Version | None = None,
    ) -> Report:
        """The report of the rules run in ``ctx`` (an upgrade check names the running version)."""
        return cls(
            deployment=ctx.deployment.name,
            expressway_version=running or ctx.version,
            upgraded_from=ctx.upgraded_from,
            evaluated_at=ctx.now,
            findings=findings,
            target_version=target_version,
            strict_from=ctx.strict_from,
            assumed_fresh_install=ctx.upgrade_path.fresh,
            graph=graph(
                ctx.deployment,
                findings,
                present=lambda r: (
                    r.needs_behaviour is None or bool(getattr(ctx.behaviour, r.needs_behaviour))
                ),
                every=ctx.graph_legs(),
            ),
        )

    def install_note(self) -> str:
        """How the running release got there, as the report header says it."""
        if self.upgraded_from is not None:
            return f"upgraded from {self.upgraded_from}"
        if self.assumed_fresh_install:
            return (
                "fresh install assumed: the inventory has no upgraded_from, and most Expressways "
                "were upgraded; the upgrade path decides the default cipher order, so set "
                "upgraded_from if this one was"
            )
        return "fresh install"

    def summary(self) -> dict[str, int]:
        # counted by identity (each status is one object): Enum's hash is a Python call per finding
        counts = Counter(map(id, map(attrgetter("status"), self.findings)))
        return {s.value: counts.get(id(s), 0) for s in _SUMMARY_ORDER}

    def worst(self) -> Status | None:
        return min((f.status for f in self.findings), key=lambda s: s.rank, default=None)

    def at_or_above(self, threshold: Status) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status.rank <= threshold.rank)

    def by_rule(self, rule_id: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.rule == rule_id)


_SUMMARY_ORDER = (Status.FAIL, Status.RISK, Status.WARN, Status.INFO, Status.PASS, Status.ERROR)


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Worst first, then by rule, cluster, node, leg, certificate (deterministic).

    The findings are put in groups of one status and one rule (kept in the order given), the
    groups taken in (status, rule) order, and each group sorted by subject: the order a stable
    sort by the whole key gives, without a key of six values held for every finding at once
    (at 10,000 nodes that is about 20 MB at the audit's peak), and each group's sort compares
    shorter keys.
    """
    # the rank read from the status's value: the same number as ``Status.rank`` without a
    # property call per finding
    rank, order = _RANK, RULE_ORDER
    groups: dict[tuple[int, int], list[Finding]] = {}
    group: list[Finding] = []
    last_rule: str | None = None
    last_status: Status | None = None
    for f in findings:
        rule, status = f.rule, f.status
        if rule is not last_rule or status is not last_status:  # findings come in runs
            key = (rank[status._value_], order.get(rule, 999))
            found = groups.get(key)
            if found is None:
                found = groups[key] = []
            group, last_rule, last_status = found, rule, status
        group.append(f)
    out: list[Finding] = []
    for key in sorted(groups):
        group = groups.pop(key)  # sorted and passed on: its keys are gone before the next
        group.sort(key=_subject_key)
        out.extend(group)
    return tuple(out)


def _subject_key(f: Finding) -> tuple[str, str, str, str]:
    """The fields of ``Subject.key()`` (None read as "") without a method call."""
    s = f.subject
    return (s.cluster or "", s.node or "", s.leg or "", s.certificate or "")


_RANK = {s._value_: s.rank for s in Status}


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    return now.astimezone(dt.UTC) if now.tzinfo else now.replace(tzinfo=dt.UTC)


def _path(deployment: Deployment, version: Version | None) -> UpgradePath:
    """The version to judge and the releases it was reached through.

    Auditing at a later version than the inventory's means "after upgrading from it", so the
    cipher defaults follow the whole recorded path (``upgraded_from``, the running version, the
    judged one): the release that crossed into X14.2 decides the order.
    """
    exp = deployment.expressway
    recorded = UpgradePath.of(exp.version, exp.upgraded_from)
    if version is None or version == exp.version:
        return recorded
    if version > exp.version:
        return UpgradePath(releases=(*recorded.releases, version), fresh=recorded.fresh)
    # judging an earlier release: keep the recorded path only if it leads there
    frm = exp.upgraded_from
    return UpgradePath.of(version, frm if frm is not None and frm < version else None)


def as_version(value: Version | str | None) -> Version | None:
    """Accept ``"X14.2.1"`` as well as a :class:`Version` in the public API."""
    return Version.parse(value) if isinstance(value, str) else value


def context(
    deployment: Deployment,
    *,
    version: Version | str | None = None,
    upgraded_from: Version | str | None = None,
    now: dt.datetime | None = None,
    strict_from: Version | str | None = None,
    sunset: SunsetPolicy | None = None,
) -> AuditContext:
    """The context rules read; ``upgraded_from`` overrides the derived upgrade path.

    ``sunset`` (EKU-SUNSET) defaults to the 2026-06-15 cut-off and Mozilla's roots (certifi).
    """
    path = _path(deployment, as_version(version))
    judged = path.version
    override = as_version(upgraded_from)
    if override is not None:
        path = UpgradePath.of(judged, override)
    strict_from = as_version(strict_from)
    return AuditContext(
        deployment=deployment,
        version=judged,
        upgraded_from=path.releases[-2] if len(path.releases) > 1 else None,
        now=_now(now),
        strict_from=strict_from,
        path=path,
        sunset=sunset if sunset is not None else policy(),
    )


def run_rules(ctx: AuditContext, rules: Sequence[str] | None = None) -> tuple[Finding, ...]:
    """Every finding of every (selected) rule, sorted."""
    out: list[Finding] = []
    for rule_id, info in RULES.items():
        if rules is not None and rule_id not in rules:
            continue
        out.extend(info.check(ctx))
    ctx.release()  # what the rules remembered: the findings hold what is reported
    return sort_findings(out)


def audit(
    deployment: Deployment,
    *,
    version: Version | str | None = None,
    now: dt.datetime | None = None,
    strict_from: Version | str | None = None,
    sunset: SunsetPolicy | None = None,
) -> Report:
    """Evaluate every rule for ``version`` (default: the inventory's running version)."""
    ctx = context(deployment, version=version, now=now, strict_from=strict_from, sunset=sunset)
    return Report.of(ctx, run_rules(ctx))


def _change(before: Finding | None, after: Finding) -> ChangeKind:
    if before is None:
        return ChangeKind.NEW if after.status in BAD else ChangeKind.SAME
    if after.status.rank < before.status.rank and after.status in BAD:
        return ChangeKind.NEW
    if after.status.rank > before.status.rank and before.status in BAD:
        return ChangeKind.FIXED
    return ChangeKind.SAME


SUCCESSORS: dict[str, tuple[str, ...]] = {
    "C2U-LATENT": ("C2U-TRUST", "C2U-NAME"),
}
"""Rules that stop at a release, and the rules that report the same problem after it."""


def _successors(f: Finding, after: Sequence[Finding]) -> list[Finding]:
    """The target findings that report what ``f`` reported (same subject, another rule)."""
    rules = SUCCESSORS.get(f.rule)
    out = []
    for g in after:
        if g.status not in BAD or g.rule == f.rule:
            continue
        a, b = f.subject, g.subject
        if rules is not None:
            if g.rule in rules and (a.cluster, a.node, a.leg) == (b.cluster, b.node, b.leg):
                out.append(g)
        elif a.key() == b.key():
            out.append(g)
    return out


def _account(
    gone: Sequence[Finding], after: Sequence[Finding], *, running: Version, to: Version
) -> tuple[list[Finding], dict[tuple[str, tuple[str, str, str, str], str], tuple[str, ...]]]:
    """Every finding of the running release that the target no longer reports, accounted for.

    A problem (fail, risk, warn, error) becomes ``change: fixed``: with ``became`` naming the
    findings that report it on the target (the upgrade turned it into those), or none when it is
    gone. A pass or info that no longer applies stays a pass. Also returns, per successor
    finding, the rules it replaces.
    """
    out: list[Finding] = []
    replaces: dict[tuple[str, tuple[str, str, str, str], str], list[str]] = {}
    for f in gone:
        if f.status not in BAD:
            out.append(
                replace(
                    f,
                    status=Status.PASS,
                    severity=Severity.INFO,
                    message=f"{f.rule} does not report this on {to} (nothing to check there); "
                    f"on {running}: {f.message}",
                    remediation=(),
                    change=ChangeKind.SAME,
                )
            )
            continue
        successors = _successors(f, after)
        evidence = dict(f.evidence)
        evidence["was"] = f.status.value
        if successors:
            worst = min(successors, key=lambda g: g.status.rank)
            became = tuple(dict.fromkeys(g.rule for g in successors))
            evidence["became"] = became
            evidence["became_status"] = worst.status.value
            where = worst.subject.leg or worst.subject.certificate or worst.subject.node or ""
            message = (
                f"on {to} this {f.status.value} is no longer reported as {f.rule}: it became "
                f"{' and '.join(became)} {worst.status.value}"
                + (f" on {where}" if where else "")
                + f" (see that finding). On {running}: {f.message}"
            )
            for g in successors:
                replaces.setdefault(g.key(), []).append(f.rule)
        else:
            message = (
                f"on {to} this {f.status.value} is gone: nothing reports it any more. On "
                f"{running}: {f.message}"
            )
        out.append(
            replace(
                f,
                status=Status.INFO,
                severity=Severity.INFO,
                message=message,
                remediation=(),
                evidence=tuple(evidence.items()),
                change=ChangeKind.FIXED,
            )
        )
    return out, {k: tuple(dict.fromkeys(v)) for k, v in replaces.items()}


def upgrade_check(
    deployment: Deployment,
    to: Version | str,
    *,
    now: dt.datetime | None = None,
    strict_from: Version | str | None = None,
    sunset: SunsetPolicy | None = None,
) -> tuple[Report, Report]:
    """Audit at the running version and at ``to``; return (current, target with changes).

    The target report's findings carry ``change`` (new, fixed, same) and lead with what the
    upgrade breaks.
    """
    target = Version.parse(to) if isinstance(to, str) else to
    if target < deployment.expressway.version:
        raise InputError(
            f"{target} is earlier than the running {deployment.expressway.version}",
            field="--to",
            hint="upgrade-check judges an upgrade; use audit --version for any other release",
        )
    s = as_version(strict_from)
    current = audit(deployment, now=now, strict_from=s, sunset=sunset)
    ctx = context(
        deployment, version=target, now=current.evaluated_at, strict_from=s, sunset=sunset
    )
    before = {f.key(): f for f in current.findings}
    after = run_rules(ctx)
    gone = [f for f in current.findings if f.key() not in {g.key() for g in after}]
    accounted, replaces = _account(gone, after, running=current.expressway_version, to=target)
    changed = [
        replace(
            f,
            change=_change(before.get(f.key()), f),
            evidence=f.evidence
            + ((("replaces", replaces[f.key()]),) if f.key() in replaces else ()),
        )
        for f in after
    ]
    changed.extend(accounted)
    order = {ChangeKind.NEW: 0, ChangeKind.FIXED: 2, ChangeKind.SAME: 1}
    changed = sorted(
        changed,
        key=lambda f: (
            order[f.change or ChangeKind.SAME],
            f.status.rank,
            RULE_ORDER.get(f.rule, 999),
            (s := f.subject).cluster or "",  # Subject.key(), as sort_findings reads it
            s.node or "",
            s.leg or "",
            s.certificate or "",
        ),
    )
    target_report = Report.of(
        ctx, tuple(changed), running=current.expressway_version, target_version=target
    )
    # The header speaks of the deployment as it is: how its running release got there.
    target_report = replace(
        target_report,
        upgraded_from=current.upgraded_from,
        assumed_fresh_install=current.assumed_fresh_install,
    )
    return current, target_report
