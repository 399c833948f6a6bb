"""A Markdown report for pasting into a change ticket.

A header table (deployment, version judged, upgrade path, evaluation time, counts), a summary
table of what is not a pass, then every failure, error and risk with its ``since``, remediation
and sources; the passes last, in a collapsed ``<details>`` block. Text from certificates cannot
open HTML or break a table: ``<`` is written ``&lt;`` and ``|`` escaped.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from mratrust.model import Finding, Status
from mratrust.report.groups import Grouping
from mratrust.report.links import link_text
from mratrust.report.safe import displayable_finding
from mratrust.textsafe import escape_control

if TYPE_CHECKING:
    from mratrust.audit import Report

DETAILED = (Status.FAIL, Status.ERROR, Status.RISK)
"""Statuses that get a section each, with what to do."""


def _text(text: str) -> str:
    """``text`` shown literally: no HTML, no table cell break."""
    return text.replace("<", "&lt;").replace("\n", " ")


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|")


def _link(url: str) -> str:
    """A source as a Markdown link with a short text (a URL it cannot hold stays text)."""
    if url.startswith(("https://", "http://")) and not any(c in url for c in " ()<>[]"):
        return f"[{link_text(url)}]({url})"
    return _text(url)


def _where(heading: str, f: Finding) -> str:
    """The group (``heading``, displayable already), leg and certificate of ``f``, displayable
    (:mod:`mratrust.report.safe`)."""
    s = f.subject
    parts = [heading] if heading else []
    if s.leg:
        parts.append(escape_control(s.leg))
    if s.certificate:
        parts.append(escape_control(s.certificate))
    return " ".join(parts)


def render(report: Report) -> str:
    """The report in Markdown. A pass shows its rule, where and its message, each escaped on its
    own; every other finding is shown whole, so it is made displayable whole."""
    report = replace(report, deployment=escape_control(report.deployment))
    grouping = Grouping(report)
    upgrade = report.target_version is not None
    summary = report.summary()
    lines = [f"# mratrust: {_text(report.deployment)}", "", "| | |", "|---|---|"]
    if upgrade:
        lines.append(
            f"| Upgrade check | Expressway **{report.expressway_version}** → "
            f"**{report.target_version}** (judged at {report.target_version}) |"
        )
    else:
        lines.append(f"| Version judged | Expressway **{report.expressway_version}** |")
    lines += [
        f"| Upgrade path | {_cell(report.install_note())} |",
        f"| Evaluated | {report.evaluated_at:%Y-%m-%d %H:%M} UTC"
        f" (mratrust {report.tool_version}) |",
        "| Result | " + " · ".join(f"**{v}** {k}" for k, v in summary.items()) + " |",
        "",
    ]
    # worst group first, then worst finding first inside a group (the HTML report's order)
    groups: dict[str, list[Finding]] = {}
    for f, heading in zip(report.findings, map(grouping.heading, report.findings), strict=True):
        groups.setdefault(heading, []).append(f)
    ordered = [
        (f, heading)
        for heading, group in sorted(groups.items(), key=lambda g: min(f.status.rank for f in g[1]))
        for f in sorted(group, key=lambda f: f.status.rank)
    ]
    problems = [(displayable_finding(f), h) for f, h in ordered if f.status is not Status.PASS]
    passes = [(f, h) for f, h in ordered if f.status is Status.PASS]
    if problems:
        lines.append("## Summary")
        lines.append("")
        lines.append("| status | rule | " + ("change | " if upgrade else "") + "where | finding |")
        lines.append("|---|---|" + ("---|" if upgrade else "") + "---|---|")
        for f, heading in problems:
            ch = f" {f.change.value if f.change else ''} |" if upgrade else ""
            lines.append(
                f"| {f.status.value.upper()} | {f.rule} |{ch} {_cell(_where(heading, f))} "
                f"| {_cell(f.message)} |"
            )
        lines.append("")
    else:
        lines.append("Every check passed.")
        lines.append("")
    detailed = [(f, h) for f, h in problems if f.status in DETAILED]
    if detailed:
        lines.append("## Failures and risks")
        lines.append("")
        for f, heading in detailed:
            change = f" ({f.change.value} on {report.target_version})" if f.change else ""
            lines.append(f"### {f.status.value.upper()} {f.rule}{change}: {_text(heading)}")
            lines.append("")
            lines.append(_text(f.message))
            lines.append("")
            lines.append(f"- Since: {f.since or 'every version'}")
            where = " · ".join(x for x in (f.subject.leg, f.subject.certificate) if x)
            if where:
                lines.append(f"- Where: {_text(where)}")
            if f.sources:
                lines.append(f"- Sources: {', '.join(_link(u) for u in f.sources)}")
            lines.append("")
            if f.remediation:
                lines.append("What to do:")
                lines.append("")
                lines += [f"- [ ] {_text(step)}" for step in f.remediation]
                lines.append("")
    if passes:
        lines.append(f"<details><summary>{len(passes)} checks passed</summary>")
        lines.append("")
        lines.append("| rule | where | check |")
        lines.append("|---|---|---|")
        lines += [
            f"| {f.rule} | {_cell(_where(heading, f))} | {_cell(escape_control(f.message))} |"
            for f, heading in passes
        ]
        lines.append("")
        lines.append("</details>")
    return "\n".join(lines) + "\n"
