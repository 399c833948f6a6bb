"""A standalone HTML report (jinja2, autoescaped): the trust graph drawn, the trust matrix,
findings grouped by endpoint; and the remediation kit's ``steps.html``.

The page loads nothing: its one style and one script are inline and a Content-Security-Policy
``<meta>`` allows exactly those two (by hash) and nothing else, so it opens offline, from an email
attachment, and a certificate's text cannot run anything even if it escaped the autoescape.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from mratrust.model import Finding, Status
from mratrust.report import svg
from mratrust.report.groups import Grouping
from mratrust.report.links import link_text
from mratrust.report.safe import displayable, displayable_finding
from mratrust.textsafe import escape_control
from mratrust.topology import Graph, GraphLeg, about_legs

if TYPE_CHECKING:
    from mratrust.audit import Report


def _asset(name: str) -> str:
    return (resources.files("mratrust.report") / name).read_text("utf-8")


_TEMPLATE = _asset("report.html.j2")
STYLE = "".join(line.strip() for line in _asset("report.css").splitlines())
"""The page's style, on one line."""
SCRIPT = _asset("report.js")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CSP = (
    f"default-src 'none'; style-src {_hash(STYLE)}; script-src {_hash(SCRIPT)}; "
    "img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'"
)
"""Everything blocked but the page's own style and script."""

_ENV = Environment(
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

COLUMNS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "Trust",
        frozenset(
            {
                "C2U-TRUST", "U2C-TRUST", "U2C-IMP-TRUST", "U2C-OAUTH", "C2U-DUP-SUBJECT",
                "C2U-SAME-CN", "C2U-LATENT", "CE-TRUST", "EXP-CHAIN", "EXP-PEER-TRUST",
            }
        ),
    ),
    (
        "Name",
        frozenset(
            {
                "C2U-NAME", "C2U-FQDN", "CE-NAME", "CE-SAN", "U2C-PROFILE-SAN", "UCM-MULTI-SAN",
                "EXP-CN", "EXP-WILDCARD", "CE-CLUSTER",
            }
        ),
    ),
    ("EKU", frozenset({"U2C-CM-EKU", "EXP-EKU", "CE-EKU", "EKU-SUNSET"})),
    ("ECDSA", frozenset({"C2U-ECDSA", "C2U-TLS13-SIGALG"})),
    ("Validity", frozenset({"CERT-VALIDITY"})),
    ("Key, signature", frozenset({"CERT-SIGNATURE", "EXP-KEY"})),
)  # fmt: skip
"""The trust matrix's check columns: a rule in none of them goes to "Other"."""
OTHER = "Other"


def column_of(rule: str) -> str:
    return next((name for name, rules in COLUMNS if rule in rules), OTHER)


def _by_rank(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: f.status.rank)


def _worst(findings: Iterable[Finding]) -> Status | None:
    return min((f.status for f in findings), key=lambda s: s.rank, default=None)


def _leg_findings(graph: Graph, findings: tuple[Finding, ...]) -> list[list[Finding]]:
    """Per leg of ``graph``: the findings about it and about the certificates presented on it,
    worst first."""
    about = about_legs(tuple(g.leg for g in graph.legs), findings)
    certs: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.subject.endpoint_id and f.subject.certificate:
            certs.setdefault((f.subject.endpoint_id, f.subject.certificate), []).append(f)
    out: list[list[Finding]] = []
    for g in graph.legs:
        leg = g.leg
        presented = [(leg.server.id, leg.rsa_identity)]
        if leg.ecdsa_identity:
            presented.append((leg.server.id, leg.ecdsa_identity))
        if leg.mutual:
            presented.append((leg.client.id, leg.row.client_identity))
        found = list(about.get(leg.id, ()))
        seen = {id(f) for f in found}
        for key in presented:
            for f in certs.get(key, ()):
                if id(f) not in seen:
                    seen.add(id(f))
                    found.append(f)
        out.append(_by_rank(found))
    return out


@dataclass(slots=True)
class Group:
    """The findings about one endpoint (or store, or CA): problems first, passes counted."""

    heading: str
    anchor: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def worst(self) -> Status | None:
        return _worst(self.findings)

    @property
    def problems(self) -> list[Finding]:
        return _by_rank(f for f in self.findings if f.status is not Status.PASS)

    @property
    def passes(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.PASS]


@dataclass(slots=True)
class LegView:
    index: int
    leg: GraphLeg
    label: str
    route: str
    detail: str
    findings: list[Finding]
    cells: list[tuple[Status | None, Finding | None, int]]
    """Per column: worst status, the finding the cell links to, how many findings."""
    changes: list[Finding]
    chain: tuple[str, tuple[str, ...]] | None = None
    """The certificate chain (fingerprints) of the worst finding that records one, and its rule."""
    on_versions: list[tuple[Status | None, Finding | None]] = field(default_factory=list)
    """An upgrade check's: the worst status on the running version, then on the target, each
    with the finding the cell links to."""


@dataclass(slots=True)
class EndpointView:
    index: int
    name: str
    kind: str
    worst: Status | None
    findings: list[Finding]
    anchor: str | None
    """The findings group it leads to."""


class View:
    """What the template shows, computed once from a displayable report."""

    def __init__(self, report: Report, running: Report | None = None) -> None:
        """``running``: an upgrade check's report of the running version (``report`` judges
        the target), for the matrix's column per version."""
        self.report = report
        self.versions: list[str] = []
        """An upgrade check's versions, running first, when ``running`` is given."""
        self.anchor: dict[int, str] = {id(f): f"f-{i}" for i, f in enumerate(report.findings)}
        grouping = Grouping(report)
        groups: dict[str, Group] = {}
        ep_count: dict[str, dict[str, int]] = {}
        ep_worst: dict[str, Status] = {}
        ep_findings: dict[str, list[Finding]] = {}
        for f in report.findings:
            heading = grouping.heading(f)
            group = groups.get(heading)
            if group is None:
                group = groups[heading] = Group(heading, f"g-{len(groups)}")
            group.findings.append(f)
            end = grouping.endpoint(f)
            if end is not None:
                counts = ep_count.setdefault(end.id, {})
                ep_findings.setdefault(end.id, []).append(f)
                counts[heading] = counts.get(heading, 0) + 1
                worst = ep_worst.get(end.id)
                if worst is None or f.status.rank < worst.rank:
                    ep_worst[end.id] = f.status
        order = {h: i for i, h in enumerate(groups)}
        self.groups = sorted(
            groups.values(),
            key=lambda g: (g.worst.rank if g.worst else 9, order[g.heading]),
        )
        graph = report.graph
        self.legs: list[LegView] = []
        self.endpoint_status: dict[str, Status | None] = {}
        self.endpoint_anchor: dict[int, str] = {}
        self.endpoints: list[EndpointView] = []
        self.columns = [name for name, _ in COLUMNS] + [OTHER]
        self.svg = Markup("")
        if graph is None:
            return
        for i, e in enumerate(graph.endpoints):
            counts = ep_count.get(e.id, {})
            if counts:
                best = max(counts, key=lambda h: (counts[h], -order[h]))
                self.endpoint_anchor[i] = groups[best].anchor
            self.endpoint_status[e.id] = ep_worst.get(e.id)
            self.endpoints.append(
                EndpointView(
                    i,
                    escape_control(e.name),
                    svg.kind_label(e),
                    ep_worst.get(e.id),
                    _by_rank(ep_findings.get(e.id, ())),
                    self.endpoint_anchor.get(i),
                )
            )
        found_by_leg = _leg_findings(graph, report.findings)
        on_running: dict[str, tuple[Status | None, Finding | None]] = {}
        if running is not None and running.graph is not None:
            by_key = {f.key(): f for f in report.findings}
            for g, there in zip(
                running.graph.legs, _leg_findings(running.graph, running.findings), strict=True
            ):
                top = there[0] if there else None
                # The cell links to the target's entry for the same finding (fixed or same).
                on_running[g.leg.id] = (
                    top.status if top else None,
                    by_key.get(top.key()) if top else None,
                )
            self.versions = [str(running.expressway_version), str(report.target_version)]
        for i, g in enumerate(graph.legs):
            leg = g.leg
            found = found_by_leg[i]
            cells: list[tuple[Status | None, Finding | None, int]] = []
            for name in self.columns:
                inside = [f for f in found if column_of(f.rule) == name]
                cells.append((_worst(inside), inside[0] if inside else None, len(inside)))
            changes = [f for f in found if f.change is not None and f.change.value != "same"]
            chain = next(
                (
                    (f.rule, v)
                    for f in found
                    for k, v in f.evidence
                    if k == "chain" and isinstance(v, tuple)
                ),
                None,
            )
            self.legs.append(
                LegView(
                    i,
                    g,
                    svg.leg_label(g),
                    svg.leg_route(g),
                    svg.leg_detail(g),
                    found,
                    cells,
                    changes,
                    (chain[0], tuple(str(x) for x in chain[1])) if chain else None,
                    [
                        on_running.get(leg.id, (None, None)),
                        (_worst(found), found[0] if found else None),
                    ]
                    if self.versions
                    else [],
                )
            )
        self.svg = svg.draw(graph, endpoint_status=self.endpoint_status)

    def aid(self, f: Finding) -> str:
        """The anchor of a finding's full entry."""
        return self.anchor[id(f)]

    def href(self, f: Finding) -> str:
        return "#" + self.anchor[id(f)]


def _leg_index(view: View) -> dict[int, str]:
    out: dict[int, list[str]] = {}
    for v in view.legs:
        for f in v.findings:
            out.setdefault(id(f), []).append(str(v.index))
    return {k: " ".join(x) for k, x in out.items()}


def _page(view: View, **extra: Any) -> str:
    legs_of = _leg_index(view)
    return _ENV.from_string(_TEMPLATE).render(
        r=view.report,
        v=view,
        legs_of=lambda f: legs_of.get(id(f), ""),
        style=Markup(STYLE),
        script=Markup(SCRIPT),
        csp=Markup(CSP),
        statuses=("fail", "error", "risk", "warn", "info", "pass"),
        is_url=lambda s: s.startswith(("https://", "http://")),
        link_text=link_text,
        **extra,
    )


def render(report: Report, running: Report | None = None) -> str:
    """The page of ``report``; for an upgrade check, ``running`` (the report of the running
    version) adds the matrix's column per version."""
    return _page(View(displayable(report), displayable(running) if running else None))


def render_steps(
    before: Report, fixed: Iterable[Finding], steps: Sequence[tuple[str, dict[str, Any]]]
) -> str:
    """``steps.html`` of the kit: the graph the audit judged, with the connections whose
    findings the kit fixes (``fixed``, findings of ``before``) marked, and the steps (title and
    steps.json entry) as a checklist."""
    before = displayable(before)
    keys = {displayable_finding(f).key() for f in fixed}
    view = View(before)
    marked = [v.leg.leg.id for v in view.legs if any(f.key() in keys for f in v.findings)]
    if marked and before.graph is not None:
        view.svg = svg.draw(
            before.graph,
            endpoint_status=view.endpoint_status,
            marked=marked,
            mark_label="the kit fixes findings on it",
        )
    kit = [(escape_control(title), _escaped(data)) for title, data in steps]
    return _page(view, kit=kit, fixed=len(marked))


def _escaped(value: Any) -> Any:
    """``value`` (JSON-like) with control characters escaped in every string."""
    if isinstance(value, str):
        return escape_control(value)
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escaped(v) for v in value]
    return value
